"""minidocker trace show: a trace file (run/create/start/exec --trace, minidocker-runtime
--trace) as an indented, human-readable list of steps."""

from __future__ import annotations

import sys

from minidocker.cli.flags import Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _show(args: Any) -> int:
    from minidocker.engine import traceview
    if args.format not in ("text", "json"):
        from minidocker.errors import UsageError
        raise UsageError(f"invalid format {args.format!r}: text or json")
    events = traceview.read(args.file)
    if args.format == "json":
        import json
        json.dump(events, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    summary = traceview.summarize(events, code=args.code)
    out = summary.header()
    for row in summary.rows:
        out += row.lines()
    sys.stdout.write("\n".join(out) + "\n")
    return 0


SPEC = Spec("COMMAND", subcommands={
    "show": Spec("[OPTIONS] FILE", (
        ("", "code", "bool", "Say where in minidocker's source each step was recorded"),
        ("", "format", "string", "json: the events as one JSON array (the file's own array "
         "may lack its closing bracket, which the trace format allows)",
         {"default": "text", "complete": ("text", "json")}),
    ), (("file", 1),), handler=_show, summary="Print the steps of a trace file, in time "
        "order"),
})
