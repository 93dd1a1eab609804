"""minidocker stop: send the stop signal, then SIGKILL after a grace period."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-t", "--time", "--timeout", type=int, default=None, dest="time",
                        help="seconds to wait before killing the container")
    parser.add_argument("-s", "--signal", help="signal to send to the container")
    parser.add_argument("containers", nargs="+", metavar="CONTAINER")


def run(args: argparse.Namespace) -> int:
    from minidocker.cli.commands._common import context, each
    from minidocker.engine.service import containers
    if args.signal:
        from minidocker.runtime.operations import parse_signal
        parse_signal(args.signal)  # a bad name is one error, not one per container
    ctx = context(args)
    return each(args.containers,
                lambda ref: containers.stop(ctx, ref, timeout=args.time, signal=args.signal))
