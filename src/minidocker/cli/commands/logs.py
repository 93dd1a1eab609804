"""minidocker logs: fetch the logs of a container."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--follow", action="store_true", help="follow log output")
    parser.add_argument("-n", "--tail", default="all",
                        help="number of lines to show from the end of the logs")
    parser.add_argument("-t", "--timestamps", action="store_true", help="show timestamps")
    parser.add_argument("--since", help="show logs since timestamp or relative (e.g. 42m)")
    parser.add_argument("--until", help="show logs before a timestamp or relative")
    parser.add_argument("--details", action="store_true", help="(accepted, no extra details)")
    parser.add_argument("container", metavar="CONTAINER")


def run(args: argparse.Namespace) -> int:
    from minidocker.cli.commands._common import context
    from minidocker.engine import logs
    from minidocker.engine.service import containers
    from minidocker.errors import UsageError

    tail = None
    if args.tail != "all":
        try:
            tail = int(args.tail)
        except ValueError:
            raise UsageError(f"invalid --tail {args.tail!r}")
    since = logs.parse_since(args.since) if args.since else 0.0
    until = logs.parse_since(args.until) if args.until else None
    out = sys.stdout.buffer
    err = sys.stderr.buffer
    entries = containers.logs(context(args), args.container, follow=args.follow, tail=tail,
                              since=since, until=until)
    try:
        for entry in entries:
            text = entry.get("log", "")
            if args.timestamps:
                text = f"{entry.get('time', '')} {text}"
            stream = err if entry.get("stream") == "stderr" else out
            stream.write(text.encode("utf-8", "replace"))
            stream.flush()
    except BrokenPipeError:
        return 0
    return 0
