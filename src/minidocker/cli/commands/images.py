"""minidocker images: list local images."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from minidocker.image.store import Store

DEFAULT_TABLE = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
DIGESTS_TABLE = ("table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}"
                 "\t{{.Size}}")
TITLES = {"ID": "IMAGE ID", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT"}
FILTERS = ("dangling", "reference", "label", "before", "since")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("repository", nargs="?", metavar="REPOSITORY[:TAG]")
    parser.add_argument("-q", "--quiet", action="store_true", help="only show image IDs")
    parser.add_argument("-a", "--all", action="store_true", help="accepted for compatibility")
    parser.add_argument("--digests", action="store_true", help="show digests")
    parser.add_argument("--no-trunc", action="store_true", help="do not truncate IDs")
    parser.add_argument("--format", help="Go template, 'table ...' or 'json'")
    parser.add_argument("-f", "--filter", action="append", default=[],
                        help="dangling=true|false, reference=PATTERN, label=KEY[=VALUE], "
                             "before=IMAGE, since=IMAGE (repeatable)")


def run(args: argparse.Namespace) -> int:
    import sys

    from minidocker.cli.output import ago, go_time, human_size
    from minidocker.cli.template import Format
    from minidocker.image import reference, views
    from minidocker.image.store import Store

    store = Store()
    rows = views.image_rows(store, store.images())
    if args.repository:
        ref = reference.parse(args.repository, default_tag=False)
        rows = [r for r in rows if r["Repository"] == ref.familiar_name
                and (ref.tag is None or r["Tag"] == ref.tag)]
    if args.filter:
        rows = _filter(store, rows, args.filter)
    for r in rows:
        if args.no_trunc:
            r["ID"] = r["FullID"]
        created = r["Created"]
        r["CreatedSince"] = ago(created) if created is not None else "N/A"
        r["CreatedAt"] = go_time(created) if created is not None else ""
        r["Size"] = human_size(r["Size"], 3)
        del r["FullID"], r["Created"], r["Labels"]
    if args.quiet:
        ids = list(dict.fromkeys(r["ID"] for r in rows))
        sys.stdout.write("".join(f"{i}\n" for i in ids))
        return 0
    fmt = Format(args.format or (DIGESTS_TABLE if args.digests else DEFAULT_TABLE),
                 default_table=DIGESTS_TABLE if args.digests else DEFAULT_TABLE)
    sys.stdout.write(fmt.render(rows, TITLES))
    return 0


def _filter(store: Store, rows: list[dict[str, Any]], filters: list[str]
            ) -> list[dict[str, Any]]:
    """Docker's filters (dangling, reference, label, before, since): the same key ORs its
    values, different keys AND."""
    import fnmatch

    from minidocker.errors import UsageError

    wanted: dict[str, list[str]] = {}
    for f in filters:
        key, sep, value = f.partition("=")
        if not sep or key not in FILTERS:
            raise UsageError(f"invalid filter {f!r}",
                             hint=f"filters: {', '.join(k + '=...' for k in FILTERS)}")
        if key == "dangling" and value.lower() not in ("true", "false", "1", "0"):
            raise UsageError(f"invalid filter 'dangling={value}'", hint="true or false")
        wanted.setdefault(key, []).append(value)
    from minidocker.image.views import epoch

    cutoffs = {key: [epoch(store.lookup(v).config.get("created", "")) or 0.0
                     for v in wanted.get(key, [])] for key in ("before", "since")}

    def keep(row: dict[str, Any]) -> bool:
        if "dangling" in wanted and not any(
                (row["Tag"] == "<none>") == (v.lower() in ("true", "1"))
                for v in wanted["dangling"]):
            return False
        if "reference" in wanted:
            names = [row["Repository"], f"{row['Repository']}:{row['Tag']}"]
            if not any(fnmatch.fnmatchcase(n, p) for n in names for p in wanted["reference"]):
                return False
        if "label" in wanted:
            labels = row["Labels"]
            for want in wanted["label"]:
                key, sep, value = want.partition("=")
                if key not in labels or (sep and labels[key] != value):
                    return False
        created = row["Created"] or 0.0
        if any(not created < c for c in cutoffs["before"]):
            return False
        return not any(not created > c for c in cutoffs["since"])

    return [r for r in rows if keep(r)]
