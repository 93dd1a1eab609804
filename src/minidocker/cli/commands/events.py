"""minidocker events: get real time events from the engine (containers)."""

from __future__ import annotations

import sys

from minidocker.cli.flags import Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any


SPEC = Spec("[OPTIONS]", (
    ("f", "filter", "filter", "Filter output based on conditions provided"),
    ("", "format", "string", "Format the output using the given Go template"),
    ("", "since", "string", "Show all events created since timestamp"),
    ("", "until", "string", "Stream events until this timestamp"),
))


def go_fields(event: Mapping[str, Any]) -> dict[str, Any]:
    """An event with the names of the Go struct Docker's --format templates use (.Time,
    .TimeNano, .ID, .Status, .From, .Scope, .Type, .Action, .Actor): the API's JSON
    spells some in lower case."""
    return {**event, "Time": event.get("time", 0), "TimeNano": event.get("timeNano", 0),
            "ID": event.get("id", ""), "Status": event.get("status", ""),
            "From": event.get("from", ""), "Scope": event.get("scope", "local")}


def run(args: Any) -> int:
    from minidocker.cli.commands._common import context
    from minidocker.engine import events
    from minidocker.engine.logs import parse_since
    from minidocker.engine.service import system
    from minidocker.engine.service.filters import from_args

    since = parse_since(args.since) if args.since else None
    until = parse_since(args.until) if args.until else None
    stream = system.events(context(args), since=since, until=until,
                           filters=from_args(args.filter))
    if args.format:
        from minidocker.cli.formats import Format
        fmt = Format(args.format)

        def line(event: Mapping[str, Any]) -> str:
            if args.format.strip() == "json":  # the event as the API sends it
                return fmt.render([event])
            return fmt.render([go_fields(event)])
    else:
        def line(event: Mapping[str, Any]) -> str:
            return events.text(event) + "\n"
    try:
        for event in stream:
            sys.stdout.write(line(event))
            sys.stdout.flush()
    except (KeyboardInterrupt, BrokenPipeError):
        return 0
    return 0
