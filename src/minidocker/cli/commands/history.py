"""minidocker history: the layers and steps an image was built from."""

from __future__ import annotations

import argparse

DEFAULT_TABLE = ("table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t"
                 "{{.Comment}}")
TITLES = {"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedBy": "CREATED BY"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", metavar="IMAGE")
    parser.add_argument("-q", "--quiet", action="store_true", help="only show image IDs")
    parser.add_argument("--no-trunc", action="store_true", help="do not truncate output")
    parser.add_argument("-H", "--human", default="true", choices=("true", "false"),
                        help="human-readable sizes and dates (default true)")
    parser.add_argument("--format", help="Go template, 'table ...' or 'json'")


def run(args: argparse.Namespace) -> int:
    import sys

    from minidocker.cli.commands._common import context
    from minidocker.cli.formats import Format
    from minidocker.cli.output import ago, ellipsis, go_time, human_size, truncate_id
    from minidocker.engine.service import images

    human = args.human == "true"
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
