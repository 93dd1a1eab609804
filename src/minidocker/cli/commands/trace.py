"""minidocker trace show: a trace file (run/create/start/exec --trace, minidocker-runtime
--trace) as an indented, human-readable list of steps."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from minidocker.cli.commands._common import add_subcommands, subcommand
    sub = add_subcommands(parser)
    p = subcommand(sub, "show", _show, "print the steps of a trace file, in time order")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--code", action="store_true",
                   help="say where in minidocker's source each step was recorded")
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help="json: the events as one JSON array (the file's own array may "
                        "lack its closing bracket, which the trace format allows)")


def run(args: argparse.Namespace) -> int:
    from minidocker.cli.commands._common import run_subcommand
    return run_subcommand(args)


def _show(args: argparse.Namespace) -> int:
    from minidocker.engine import traceview
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
