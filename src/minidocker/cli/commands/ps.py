"""minidocker ps: list containers."""

from __future__ import annotations

import sys

from minidocker.cli.flags import Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

PS_TABLE = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t" \
    "{{.Ports}}\t{{.Names}}"
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
    import gc
    import time

    # the listing makes a tuple per record and a few lists: the collector, which would walk
    # them again and again as they grow, has nothing to find in this short-lived process
    gc.disable()

    from minidocker.cli.commands._common import context
    from minidocker.engine.service import containers
    from minidocker.engine.service.filters import from_args

    limit = 1 if args.latest else args.last if args.last > 0 else 0
    listing = {"all": args.all, "limit": limit, "filters": from_args(args.filter)}
    ctx = context(args)
    if args.quiet:
        ids = containers.ls_columns(ctx, **listing, keys=("Id",))["Id"]
        sys.stdout.write("".join(f"{cid}\n" for cid in ids) if args.no_trunc else
                         "".join(f"{cid[:12]}\n" for cid in ids))
        return 0
    from minidocker.cli.formats import Format
    from minidocker.cli.views import ContainerRow, container_cells, container_keys
    fmt = Format(args.format or ("table" if not args.size else PS_TABLE + "\t{{.Size}}"),
                 default_table=PS_TABLE)
    # as Docker's client: a template that shows {{.Size}} asks for the sizes
    size = args.size or (args.format not in (None, "table", "json") and
                         ".Size" in args.format)
    fields = fmt.fields()
    keys = container_keys(fields) if fields is not None else None
    columns = containers.ls_columns(ctx, **listing, size=size, keys=keys)
    now = time.time()
    if fields is not None and keys is not None:  # (the fast way: a column at a time)
        text = fmt.render_columns(container_cells(columns, fields, args.no_trunc, now),
                                  TITLES)
        if text is not None:
            sys.stdout.write(text)
            return 0
    names = list(columns)
    items = [ContainerRow(dict(zip(names, values, strict=True)), args.no_trunc, now)
             for values in zip(*columns.values(), strict=True)]
    shown: list[Any] = [row.as_dict() for row in items] if args.format == "json" else items
    sys.stdout.write(fmt.render(shown, TITLES))
    return 0
