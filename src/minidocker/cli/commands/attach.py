"""minidocker attach: attach to a running container's output (and input)."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-stdin", action="store_true", help="do not attach STDIN")
    parser.add_argument("--sig-proxy", default="true", help="proxy received signals")
    parser.add_argument("container", metavar="CONTAINER")


def run(args: argparse.Namespace) -> int:
    from minidocker.cli.attach import stream as serve
    from minidocker.cli.commands._common import context
    from minidocker.engine.service import containers
    stream = containers.attach(context(args), args.container, stdin=not args.no_stdin)
    code = serve(stream, stdin=stream.stdin, tty=stream.tty,
                 forward_signals=args.sig_proxy != "false")
    stream.close()
    if code is None:
        sys.stderr.write("minidocker: error: lost the container's monitor\n")
        return 125
    return code
