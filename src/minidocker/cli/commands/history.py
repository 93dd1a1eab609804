"""minidocker history: the layers and steps an image was built from."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", metavar="IMAGE")
    parser.add_argument("-q", "--quiet", action="store_true", help="only show image IDs")
    parser.add_argument("--no-trunc", action="store_true", help="do not truncate output")
    parser.add_argument("-H", "--human", default="true", choices=("true", "false"),
                        help="human-readable sizes and dates (default true)")
    parser.add_argument("--format", help="Go-template subset, e.g. '{{.CreatedBy}}'")


def run(args: argparse.Namespace) -> int:
    from minidocker.image import views
    from minidocker.image.store import Store

    store = Store()
    image = store.lookup(args.image)
    rows = views.history_rows(store, image, args.no_trunc, args.human == "true")
    if args.quiet:
        print("\n".join(r["ID"] for r in rows))
    elif args.format:
        print(views.format_rows(rows, args.format))
    else:
        print(views.table(rows, [("ID", "IMAGE"), ("CreatedSince", "CREATED"),
                                 ("CreatedBy", "CREATED BY"), ("Size", "SIZE"),
                                 ("Comment", "COMMENT")]))
    return 0
