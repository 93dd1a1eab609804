"""minidocker images: list local images."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("repository", nargs="?", metavar="REPOSITORY[:TAG]")
    parser.add_argument("-q", "--quiet", action="store_true", help="only show image IDs")
    parser.add_argument("-a", "--all", action="store_true", help="accepted for compatibility")
    parser.add_argument("--digests", action="store_true", help="show digests")
    parser.add_argument("--no-trunc", action="store_true", help="do not truncate IDs")
    parser.add_argument("--format", help="Go-template subset, e.g. '{{.Repository}}:{{.Tag}}'")


def run(args: argparse.Namespace) -> int:
    from minidocker.image import reference, views
    from minidocker.image.store import Store

    store = Store()
    rows = views.image_rows(store, store.images())
    if args.repository:
        ref = reference.parse(args.repository, default_tag=False)
        rows = [r for r in rows if r["Repository"] == ref.familiar_name
                and (ref.tag is None or r["Tag"] == ref.tag)]
    if args.no_trunc:
        by_short = {i.short_id: i.id for i in store.images()}
        for r in rows:
            r["ID"] = by_short.get(r["ID"], r["ID"])
    if args.quiet:
        seen: list[str] = []
        for r in rows:
            if r["ID"] not in seen:
                seen.append(r["ID"])
        if seen:
            print("\n".join(seen))
        return 0
    if args.format:
        out = views.format_rows(rows, args.format)
        if out:
            print(out)
        return 0
    columns = [("Repository", "REPOSITORY"), ("Tag", "TAG")]
    if args.digests:
        columns.append(("Digest", "DIGEST"))
    columns += [("ID", "IMAGE ID"), ("CreatedSince", "CREATED"), ("Size", "SIZE")]
    print(views.table(rows, columns))
    return 0
