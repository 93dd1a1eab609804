"""minidocker export: a container's filesystem as a tar archive."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", help="write to a file, instead of STDOUT")
    parser.add_argument("container", metavar="CONTAINER")


def run(args: argparse.Namespace) -> int:
    import os
    import sys

    from minidocker.cli.commands._common import context
    from minidocker.engine.service import containers
    from minidocker.errors import UsageError
    if not args.output and os.isatty(1):
        raise UsageError("cowardly refusing to save to a terminal",
                         hint="use the -o flag or redirect")
    ctx = context(args)
    if args.output:
        with open(args.output, "wb") as f:
            containers.export(ctx, args.container, f)
    else:
        containers.export(ctx, args.container, sys.stdout.buffer)
    return 0
