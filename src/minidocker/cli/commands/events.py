"""minidocker events: get real time events from the engine (containers)."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", help="show all events created since timestamp")
    parser.add_argument("--until", help="stream events until this timestamp")
    parser.add_argument("-f", "--filter", action="append", default=[],
                        help="filter output based on conditions provided (container=, "
                             "event=, image=, label=, type=)")
    parser.add_argument("--format", help="format output using a Go template (json: one "
                                         "JSON object per line)")


def run(args: argparse.Namespace) -> int:
    from minidocker.cli.commands._common import root
    from minidocker.engine import events
    from minidocker.engine.logs import parse_since
    from minidocker.errors import UsageError

    filters: dict[str, list[str]] = {}
    for item in args.filter:
        key, eq, value = item.partition("=")
        if not eq or key not in ("container", "event", "image", "label", "type"):
            raise UsageError(f"invalid filter {item!r}: use container=, event=, image=, "
                             "label= or type=")
        filters.setdefault(key, []).append(value)
    since = parse_since(args.since) if args.since else None
    until = parse_since(args.until) if args.until else None
    if args.format:
        from minidocker.cli.template import Format
        fmt = Format(args.format)

        def write(event: dict) -> None:
            sys.stdout.write(fmt.render([event]))
            sys.stdout.flush()
    else:
        def write(event: dict) -> None:
            sys.stdout.write(events.text(event) + "\n")
            sys.stdout.flush()
    try:
        events.stream(root(), since=since, until=until, filters=filters, write=write)
    except (KeyboardInterrupt, BrokenPipeError):
        return 0
    return 0
