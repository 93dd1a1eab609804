"""minidocker stop: send the stop signal, then SIGKILL after a grace period."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-t", "--time", "--timeout", type=int, default=None, dest="time",
                        help="seconds to wait before killing the container")
    parser.add_argument("-s", "--signal", help="signal to send to the container")
    parser.add_argument("containers", nargs="+", metavar="CONTAINER")


def run(args: argparse.Namespace) -> int:
    from minidocker.cli.commands._common import each
    from minidocker.engine import lifecycle
    sig = None
    if args.signal:
        from minidocker.runtime.operations import parse_signal
        sig = parse_signal(args.signal)
    return each(args.containers, lambda r: lifecycle.stop(r, args.time, sig))
