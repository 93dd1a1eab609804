"""minidocker rename: rename a container."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("container", metavar="CONTAINER")
    parser.add_argument("new_name", metavar="NEW_NAME")


def run(args: argparse.Namespace) -> int:
    from minidocker.cli.commands._common import context
    from minidocker.engine.service import containers
    containers.rename(context(args), args.container, args.new_name)
    return 0
