"""minidocker attach: attach to a running container's output (and input)."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-stdin", action="store_true", help="do not attach STDIN")
    parser.add_argument("--sig-proxy", default="true", help="proxy received signals")
    parser.add_argument("container", metavar="CONTAINER")


def run(args: argparse.Namespace) -> int:
    from minidocker.cli.commands._common import find
    from minidocker.engine import lifecycle
    from minidocker.engine.attach import stream
    from minidocker.errors import Conflict
    record = find(args.container)
    state = lifecycle.live_state(record)
    if state.get("Status") not in ("running", "paused"):
        raise Conflict("you cannot attach to a stopped container, start it first")
    sock = lifecycle.connect_attach(record)
    config = record.config["Config"]
    code = stream(sock, stdin=bool(config.get("OpenStdin")) and not args.no_stdin,
                  tty=bool(config.get("Tty")), forward_signals=args.sig_proxy != "false")
    sock.close()
    if code is None:
        sys.stderr.write("minidocker: error: lost the container's monitor\n")
        return 125
    return code
