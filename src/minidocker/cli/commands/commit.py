"""minidocker commit: a new image from a container's changes."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-a", "--author", default="", help="author")
    parser.add_argument("-c", "--change", action="append", default=[],
                        help="apply Dockerfile instruction to the created image")
    parser.add_argument("-m", "--message", default="", help="commit message")
    parser.add_argument("-p", "--pause", default="true", help="pause during commit")
    parser.add_argument("container", metavar="CONTAINER")
    parser.add_argument("repository", nargs="?", metavar="REPOSITORY[:TAG]")


def run(args: argparse.Namespace) -> int:
    from minidocker.cli.commands._common import context
    from minidocker.engine.service import containers
    result = containers.commit(context(args), args.container, repo=args.repository,
                               comment=args.message, author=args.author,
                               changes=list(args.change), pause=args.pause != "false")
    print(result["Id"])
    return 0
