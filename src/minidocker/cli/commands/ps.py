"""minidocker ps: list containers."""

from __future__ import annotations

import sys

from minidocker.cli.flags import Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

PS_TABLE = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t" \
    "{{.Ports}}\t{{.Names}}"
TABLE_KEYS = ("Id", "Image", "Command", "Created", "Status", "Ports", "Names")  # of PS_TABLE
TITLES = {"ID": "CONTAINER ID", "RunningFor": "CREATED", "Names": "NAMES",
          "CreatedAt": "CREATED AT"}


SPEC = Spec("[OPTIONS]", (
    ("a", "all", "bool", "Show all containers (default shows just running)"),
    ("f", "filter", "filter", "Filter output based on conditions provided"),
    ("", "format", "string", "Pretty-print containers using a Go template"),
    ("n", "last", "int", "Show n last created containers (includes all states)",
     {"default": -1}),
    ("l", "latest", "bool", "Show the latest created container (includes all states)"),
    ("", "no-trunc", "bool", "Don't truncate output"),
    ("q", "quiet", "bool", "Only display container IDs"),
    ("s", "size", "bool", "Display total file sizes"),
))


def run(args: Any) -> int:
    import time

    from minidocker.cli.commands._common import context
    from minidocker.cli.views import ContainerRow
    from minidocker.engine.service import containers
    from minidocker.engine.service.filters import from_args

    limit = 1 if args.latest else args.last if args.last > 0 else 0
    # the keys the default table shows; a --format may read any
    keys = TABLE_KEYS if args.format in (None, "table") and not args.size else None
    # as Docker's client: a template that shows {{.Size}} asks for the sizes
    size = args.size or (args.format not in (None, "table", "json") and
                         ".Size" in args.format)
    summaries = containers.ls(context(args), all=args.all, limit=limit,
                              filters=from_args(args.filter),
                              size=size and not args.quiet, ids_only=args.quiet,
                              keys=keys)
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
