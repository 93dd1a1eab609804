"""minidocker top: the running processes of a container (ps -ef by default)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("container", metavar="CONTAINER")
    parser.add_argument("ps_args", nargs=argparse.REMAINDER, metavar="[ps OPTIONS]")


def run(args: argparse.Namespace) -> int:
    import sys

    from minidocker.cli.commands._common import context
    from minidocker.cli.output import format_table
    from minidocker.engine.service import containers
    top = containers.top(context(args), args.container, args.ps_args or None)
    if top["Titles"]:
        sys.stdout.write(format_table(top["Titles"], top["Processes"]))
    return 0
