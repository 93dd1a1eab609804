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

    from minidocker.cli.commands._common import context
    from minidocker.cli.views import ContainerRow
    from minidocker.engine.service import containers
    from minidocker.engine.service.filters import from_args

    limit = 1 if args.latest else args.last if args.last > 0 else 0
    summaries = containers.ls(context(args), all=args.all, limit=limit,
                                filters=from_args(args.filter), size=args.size)
    now = time.time()
    items = [ContainerRow(s, args.no_trunc, now) for s in summaries]
    if args.quiet:
        sys.stdout.write("".join(f"{row.ID}\n" for row in items))
        return 0
    from minidocker.cli.formats import Format
    fmt = Format(args.format or ("table" if not args.size else PS_TABLE + "\t{{.Size}}"),
                 default_table=PS_TABLE)
    shown: list[Any] = [row.as_dict() for row in items] if args.format == "json" else items
    sys.stdout.write(fmt.render(shown, TITLES))
    return 0
