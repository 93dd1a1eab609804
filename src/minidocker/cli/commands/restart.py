"""minidocker restart: stop (if running) then start containers."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-t", "--time", "--timeout", type=int, default=None, dest="time",
                        help="seconds to wait before killing the container")
    parser.add_argument("containers", nargs="+", metavar="CONTAINER")


def run(args: argparse.Namespace) -> int:
    from minidocker.cli.commands._common import each
    from minidocker.engine import lifecycle

    def restart(record: object) -> None:
        lifecycle.stop(record, args.time)  # type: ignore[arg-type]
        lifecycle.start(record, attach=False)  # type: ignore[arg-type]

    return each(args.containers, restart)
