"""minidocker images: list local images."""

from __future__ import annotations

import argparse

DEFAULT_TABLE = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
DIGESTS_TABLE = ("table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}"
                 "\t{{.Size}}")
TITLES = {"ID": "IMAGE ID", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("repository", nargs="?", metavar="REPOSITORY[:TAG]")
    parser.add_argument("-q", "--quiet", action="store_true", help="only show image IDs")
    parser.add_argument("-a", "--all", action="store_true", help="accepted for compatibility")
    parser.add_argument("--digests", action="store_true", help="show digests")
    parser.add_argument("--no-trunc", action="store_true", help="do not truncate IDs")
    parser.add_argument("--format", help="Go template, 'table ...' or 'json'")
    parser.add_argument("-f", "--filter", action="append", default=[],
                        help="dangling=true|false, reference=PATTERN (repeatable)")


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
    rows = [r for r in rows if _matches(r, args.filter)]
    for r in rows:
        if args.no_trunc:
            r["ID"] = r["FullID"]
        created = r["Created"]
        r["CreatedSince"] = ago(created) if created is not None else "N/A"
        r["CreatedAt"] = go_time(created) if created is not None else ""
        r["Size"] = human_size(r["Size"], 3)
        del r["FullID"], r["Created"]
    if args.quiet:
        ids = list(dict.fromkeys(r["ID"] for r in rows))
        sys.stdout.write("".join(f"{i}\n" for i in ids))
        return 0
    fmt = Format(args.format or (DIGESTS_TABLE if args.digests else DEFAULT_TABLE),
                 default_table=DIGESTS_TABLE if args.digests else DEFAULT_TABLE)
    sys.stdout.write(fmt.render(rows, TITLES))
    return 0


def _matches(row: dict[str, object], filters: list[str]) -> bool:
    """Docker's filters: the same key ORs its values, different keys AND."""
    import fnmatch

    from minidocker.errors import UsageError

    wanted: dict[str, list[str]] = {}
    for f in filters:
        key, sep, value = f.partition("=")
        if not sep or key not in ("dangling", "reference"):
            raise UsageError(f"invalid filter {f!r}", hint="use dangling=true|false or "
                                                            "reference=PATTERN")
        wanted.setdefault(key, []).append(value)
    dangling = row["Repository"] == "<none>"
    for value in wanted.get("dangling", []):
        if value.lower() not in ("true", "false", "1", "0"):
            raise UsageError(f"invalid filter 'dangling={value}'")
    if "dangling" in wanted and not any(
            dangling == (v.lower() in ("true", "1")) for v in wanted["dangling"]):
        return False
    if "reference" in wanted:
        repo, tag = str(row["Repository"]), str(row["Tag"])
        names = [repo, f"{repo}:{tag}"]
        if not any(fnmatch.fnmatchcase(n, pattern) for n in names
                   for pattern in wanted["reference"]):
            return False
    return True
