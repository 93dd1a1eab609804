"""minidocker kill: send a signal (default SIGKILL) to running containers."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-s", "--signal", default="KILL", help="signal to send")
    parser.add_argument("containers", nargs="+", metavar="CONTAINER")


def run(args: argparse.Namespace) -> int:
    from minidocker.cli.commands._common import each
    from minidocker.engine import lifecycle
    from minidocker.runtime.operations import parse_signal
    sig = parse_signal(args.signal)
    return each(args.containers, lambda r: lifecycle.kill(r, sig))
