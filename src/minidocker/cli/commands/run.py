"""minidocker run: create a container from an image and start it."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from types import SimpleNamespace


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from minidocker.cli.commands._container_flags import RUN_FLAGS, add_create_arguments, add_flags
    add_flags(parser, RUN_FLAGS)
    add_create_arguments(parser)


def parse_fast(argv: list[str]) -> SimpleNamespace | None:
    from minidocker.cli.commands import _container_flags as flags
    return flags.parse_fast(argv, flags.RUN_FLAGS + flags.CREATE_FLAGS)


def run(args: argparse.Namespace) -> int:
    from minidocker.cli.commands._common import root
    from minidocker.cli.commands._container_flags import options_from
    from minidocker.engine import lifecycle
    from minidocker.errors import MinidockerError

    # its monitor, forked now, imports the runtime while we make the record
    monitor = lifecycle.prefork_monitor()
    try:
        options = options_from(args, detach=args.detach)
        record = lifecycle.create(root(), options)
        try:
            sock = lifecycle.start(record, attach=not args.detach,
                                   interactive=args.interactive, foreground=not args.detach,
                                   monitor=monitor)
        except MinidockerError:
            try:
                lifecycle.remove_files(record.reload(), volumes=True)
            except MinidockerError:
                pass
            raise
    finally:
        if monitor is not None:
            monitor.close()  # unused (an error before start): it exits
    if args.detach:
        print(record.id)
        return 0
    assert sock is not None
    from minidocker.engine.attach import stream
    code = stream(sock, stdin=args.interactive, tty=args.tty)
    sock.close()
    if code is None:
        sys.stderr.write("minidocker: error: lost the container's monitor\n")
        return 125
    return code
