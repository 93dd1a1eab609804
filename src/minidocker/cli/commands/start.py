"""minidocker start: start one or more stopped containers."""

from __future__ import annotations

import argparse
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from minidocker.engine.records import Record


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-a", "--attach", action="store_true",
                        help="attach STDOUT/STDERR and forward signals")
    parser.add_argument("-i", "--interactive", action="store_true",
                        help="attach the container's STDIN")
    parser.add_argument("containers", nargs="+", metavar="CONTAINER")


def run(args: argparse.Namespace) -> int:
    from minidocker.cli.commands._common import each, find
    from minidocker.engine import lifecycle
    if args.attach or args.interactive:
        if len(args.containers) > 1:
            from minidocker.errors import UsageError
            raise UsageError("you cannot start and attach multiple containers at once")
        record = find(args.containers[0])
        sock = lifecycle.start(record, attach=True, interactive=args.interactive)
        assert sock is not None
        from minidocker.engine.attach import stream
        code = stream(sock, stdin=args.interactive,
                      tty=bool(record.config["Config"].get("Tty")))
        sock.close()
        if code is None:
            sys.stderr.write("minidocker: error: lost the container's monitor\n")
            return 125
        return code

    def start(record: Record) -> None:
        lifecycle.start(record, attach=False)

    return each(args.containers, start)
