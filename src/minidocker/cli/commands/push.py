"""minidocker push: upload an image to a registry."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME[:TAG]")
    parser.add_argument("-q", "--quiet", action="store_true", help="suppress progress output")
    parser.add_argument("--insecure", action="store_true",
                        help="allow plain HTTP to this registry")


def run(args: argparse.Namespace) -> int:
    from minidocker.cli.commands._common import context
    from minidocker.cli.progress import Progress
    from minidocker.engine.service import images

    images.push(context(args, Progress(quiet=args.quiet)), args.name, insecure=args.insecure)
    return 0
