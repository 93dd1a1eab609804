"""minidocker kill: send a signal (default SIGKILL) to running containers."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-s", "--signal", default="KILL", help="signal to send")
    parser.add_argument("containers", nargs="+", metavar="CONTAINER")


def run(args: argparse.Namespace) -> int:
    from minidocker.cli.commands._common import context, each
    from minidocker.engine.service import containers
    from minidocker.runtime.operations import parse_signal
    parse_signal(args.signal)  # a bad name is one error, not one per container
    ctx = context(args)
    return each(args.containers, lambda ref: containers.kill(ctx, ref, signal=args.signal))
