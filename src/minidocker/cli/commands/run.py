"""minidocker run: create a container from an image and start it."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from minidocker.cli.commands._container_flags import add_create_arguments
    parser.add_argument("-d", "--detach", action="store_true",
                        help="run in the background and print the container ID")
    parser.add_argument("-a", "--attach", action="append", default=[],
                        help="attach to STDIN, STDOUT or STDERR")
    add_create_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from minidocker.cli.commands._common import root
    from minidocker.cli.commands._container_flags import options_from
    from minidocker.engine import lifecycle
    from minidocker.errors import MinidockerError

    options = options_from(args, detach=args.detach)
    record = lifecycle.create(root(), options)
    try:
        sock = lifecycle.start(record, attach=not args.detach, interactive=args.interactive,
                               foreground=not args.detach)
    except MinidockerError:
        try:
            lifecycle.remove_files(record.reload(), volumes=True)
        except MinidockerError:
            pass
        raise
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
