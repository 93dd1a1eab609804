"""minidocker diff: changes to files on a container's filesystem."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("container", metavar="CONTAINER")


def run(args: argparse.Namespace) -> int:
    import sys

    from minidocker.cli.commands._common import context
    from minidocker.engine.service import containers
    kinds = "CAD"
    for change in containers.diff(context(args), args.container):
        sys.stdout.write(f"{kinds[change['Kind']]} {change['Path']}\n")
    return 0
