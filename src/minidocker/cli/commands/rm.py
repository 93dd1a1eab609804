"""minidocker rm: remove one or more containers."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--force", action="store_true",
                        help="force the removal of a running container (uses SIGKILL)")
    parser.add_argument("-v", "--volumes", action="store_true",
                        help="remove anonymous volumes associated with the container")
    parser.add_argument("containers", nargs="+", metavar="CONTAINER")


def run(args: argparse.Namespace) -> int:
    from minidocker.cli.commands._common import context, each
    from minidocker.engine.service import containers
    ctx = context(args)
    return each(args.containers, lambda ref: containers.remove(ctx, ref, force=args.force,
                                                               volumes=args.volumes))
