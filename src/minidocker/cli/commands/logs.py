"""minidocker logs: fetch the logs of a container."""

from __future__ import annotations

import sys

from minidocker.cli.flags import Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


SPEC = Spec("[OPTIONS] CONTAINER", (
    ("", "details", "bool", "Show extra details provided to logs"),
    ("f", "follow", "bool", "Follow log output"),
    ("", "since", "string", "Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or "
     "relative (e.g. 42m for 42 minutes)"),
    ("n", "tail", "string", "Number of lines to show from the end of the logs",
     {"default": "all"}),
    ("t", "timestamps", "bool", "Show timestamps"),
    ("", "until", "string", "Show logs before a timestamp (e.g. 2013-01-02T13:23:37Z) or "
     "relative (e.g. 42m for 42 minutes)"),
), (("container", 1),))


def run(args: Any) -> int:
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
