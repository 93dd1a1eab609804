"""minidocker history: the layers and steps an image was built from."""

from __future__ import annotations

from minidocker.cli.flags import Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DEFAULT_TABLE = ("table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t"
                 "{{.Comment}}")
TITLES = {"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedBy": "CREATED BY"}


SPEC = Spec("[OPTIONS] IMAGE", (
    ("", "format", "string", "Pretty-print images using a Go template"),
    ("H", "human", "bool", "Print sizes and dates in human readable format",
     {"default": True}),
    ("", "no-trunc", "bool", "Don't truncate output"),
    ("q", "quiet", "bool", "Only show image IDs"),
), (("image", 1),))


def run(args: Any) -> int:
    import sys

    from minidocker.cli.commands._common import context
    from minidocker.cli.formats import Format
    from minidocker.cli.output import ago, ellipsis, go_time, human_size, truncate_id
    from minidocker.engine.service import images

    human = args.human
    rows = []
    for step in images.history(context(args), args.image):
        created = step["Created"] or None
        r = {"ID": step["Id"] if args.no_trunc or step["Id"] == "<missing>"
             else truncate_id(step["Id"]),
             "CreatedSince": (ago(created) if human else step["CreatedAt"])
             if created is not None else "N/A",
             "CreatedAt": go_time(created) if created is not None else "",
             "CreatedBy": step["CreatedBy"] if args.no_trunc else ellipsis(step["CreatedBy"], 45),
             "Size": human_size(step["Size"], 3) if human else str(step["Size"]),
             "Comment": step["Comment"]}
        rows.append(r)
    if args.quiet:
        sys.stdout.write("".join(f"{r['ID']}\n" for r in rows))
        return 0
    fmt = Format(args.format or DEFAULT_TABLE, default_table=DEFAULT_TABLE)
    sys.stdout.write(fmt.render(rows, TITLES))
    return 0
