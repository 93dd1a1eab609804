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

    from minidocker.cli.output import ago, ellipsis, go_time, human_size, truncate_id
    from minidocker.cli.template import Format
    from minidocker.image import views
    from minidocker.image.store import Store

    store = Store()
    human = args.human == "true"
    rows = views.history_rows(store, store.lookup(args.image))
    for r in rows:
        if r["ID"] != "<missing>" and not args.no_trunc:
            r["ID"] = truncate_id(r["ID"])
        created = r.pop("Created")
        r["CreatedSince"] = (ago(created) if human else r["CreatedAt"]) \
            if created is not None else "N/A"
        r["CreatedAt"] = go_time(created) if created is not None else ""
        if not args.no_trunc:
            r["CreatedBy"] = ellipsis(r["CreatedBy"], 45)
        r["Size"] = human_size(r["Size"], 3) if human else str(r["Size"])
    if args.quiet:
        sys.stdout.write("".join(f"{r['ID']}\n" for r in rows))
        return 0
    fmt = Format(args.format or DEFAULT_TABLE, default_table=DEFAULT_TABLE)
    sys.stdout.write(fmt.render(rows, TITLES))
    return 0
