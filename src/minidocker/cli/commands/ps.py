"""minidocker ps: list containers."""

from __future__ import annotations

import argparse
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

PS_TABLE = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t" \
    "{{.Ports}}\t{{.Names}}"
TITLES = {"ID": "CONTAINER ID", "RunningFor": "CREATED", "Names": "NAMES",
          "CreatedAt": "CREATED AT"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-a", "--all", action="store_true",
                        help="show all containers (default shows just running)")
    parser.add_argument("-q", "--quiet", action="store_true", help="only display container IDs")
    parser.add_argument("-n", "--last", type=int, default=-1,
                        help="show n last created containers (includes all states)")
    parser.add_argument("-l", "--latest", action="store_true",
                        help="show the latest created container (includes all states)")
    parser.add_argument("-f", "--filter", action="append", default=[],
                        help="filter output based on conditions provided")
    parser.add_argument("--format", help="format output using a Go template")
    parser.add_argument("--no-trunc", action="store_true", help="don't truncate output")
    parser.add_argument("-s", "--size", action="store_true", help="display total file sizes")


def run(args: argparse.Namespace) -> int:
    import time

    from minidocker.cli.commands._common import root
    from minidocker.engine.lifecycle import live_state
    from minidocker.engine.records import Records
    from minidocker.engine.views import STATUSES, Row, matches
    from minidocker.errors import MinidockerError, UsageError

    filters = []
    for item in args.filter:
        key, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"bad format of filter (expected name=value): {item}")
        if key == "status" and value not in STATUSES:
            raise UsageError(f"invalid filter 'status={value}'")
        filters.append((key, value))
    show_all = args.all or args.latest or args.last > 0 or any(
        k in ("status", "exited") for k, _ in filters)
    from minidocker.engine.networking import cleanup_stale
    cleanup_stale(root())  # what a crash left: veths, port rules, leases
    rows = []
    for record in Records(root()).all():
        try:
            state = live_state(record)
            created = record.config.get("Created", "")
        except MinidockerError:
            continue  # a record being created or removed right now
        if not show_all and state.get("Status") not in ("running", "paused", "restarting"):
            continue
        if filters and not matches(record, state, filters):
            continue
        rows.append((created, record, state))
    rows.sort(key=lambda r: r[0], reverse=True)
    if args.latest:
        rows = rows[:1]
    elif args.last > 0:
        rows = rows[:args.last]
    now = time.time()
    items = [Row(r, s, args.no_trunc, now) for _, r, s in rows]
    if args.quiet:
        sys.stdout.write("".join(f"{row.ID}\n" for row in items))
        return 0
    from minidocker.cli.template import Format
    fmt = Format(args.format or "table", default_table=PS_TABLE)
    shown: list[Any] = [row.as_dict() for row in items] if args.format == "json" else items
    sys.stdout.write(fmt.render(shown, TITLES))
    return 0
