"""minidocker volume: create, ls, inspect, rm, prune."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="sub", metavar="COMMAND", required=True)
    p = sub.add_parser("create", help="create a volume")
    p.add_argument("name", nargs="?")
    p.add_argument("--label", action="append", default=[])
    p.add_argument("-d", "--driver", default="local")
    p = sub.add_parser("ls", aliases=["list"], help="list volumes")
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("--format")
    p.add_argument("-f", "--filter", action="append", default=[])
    p = sub.add_parser("inspect", help="display detailed information on volumes")
    p.add_argument("names", nargs="+")
    p.add_argument("-f", "--format")
    p = sub.add_parser("rm", aliases=["remove"], help="remove volumes")
    p.add_argument("names", nargs="+")
    p.add_argument("-f", "--force", action="store_true")
    p = sub.add_parser("prune", help="remove unused volumes")
    p.add_argument("-f", "--force", action="store_true")
    p.add_argument("-a", "--all", action="store_true", help="also named volumes")


def run(args: argparse.Namespace) -> int:
    import json

    from minidocker.cli.commands._common import root
    from minidocker.engine import volumes
    from minidocker.errors import MinidockerError, UsageError
    r = root()
    if args.sub == "create":
        if args.driver != "local":
            raise UsageError(f"volume driver {args.driver!r} is not supported (only local)")
        labels = dict(item.partition("=")[::2] for item in args.label)
        print(volumes.create(r, args.name, labels)["Name"])
        return 0
    if args.sub in ("ls", "list"):
        docs = [volumes.inspect(r, n) for n in volumes.names(r)]
        for f in args.filter:
            key, _, value = f.partition("=")
            if key == "name":
                docs = [d for d in docs if value in d["Name"]]
            elif key == "dangling":
                used = {m.get("Name") for rec in _records(r) for m in rec}
                docs = [d for d in docs if (d["Name"] not in used) == (value in ("1", "true"))]
            else:
                raise UsageError(f"invalid filter '{key}'")
        if args.quiet:
            sys.stdout.write("".join(d["Name"] + "\n" for d in docs))
            return 0
        from minidocker.cli.template import Format
        fmt = Format(args.format or "table", default_table="table {{.Driver}}\t{{.Name}}")
        sys.stdout.write(fmt.render(docs, {"Driver": "DRIVER", "Name": "VOLUME NAME"}))
        return 0
    if args.sub == "inspect":
        docs = []
        failed = False
        for name in args.names:
            try:
                docs.append(volumes.inspect(r, name))
            except MinidockerError as e:
                sys.stderr.write(f"minidocker: error: {e.message}\n")
                failed = True
        if args.format:
            from minidocker.cli.template import render
            for d in docs:
                print(render(args.format, d))
        else:
            print(json.dumps(docs, indent=4))
        return 1 if failed else 0
    if args.sub in ("rm", "remove"):
        failed = False
        for name in args.names:
            try:
                volumes.remove(r, name, force=args.force)
                print(name)
            except MinidockerError as e:
                sys.stderr.write(f"minidocker: error: {e.message}\n")
                failed = True
        return 1 if failed else 0
    if args.sub == "prune":
        names, size = prune_volumes(r, args.all)
        if names:
            print("Deleted Volumes:")
            for n in names:
                print(n)
            print()
        from minidocker.cli.output import human_size
        print(f"Total reclaimed space: {human_size(size)}")
        return 0
    return 125


def _records(root: str) -> list[list[dict[str, str]]]:
    from minidocker.engine.records import Records
    from minidocker.errors import MinidockerError
    out = []
    for rec in Records(root).all():
        try:
            out.append(list(rec.config.get("Mounts") or []))
        except MinidockerError:
            continue
    return out


def prune_volumes(root: str, all_volumes: bool) -> tuple[list[str], int]:
    """Remove unused volumes (anonymous only, unless all_volumes): (names, bytes)."""
    from minidocker.cli.commands.container import du
    from minidocker.engine import volumes
    used = {m.get("Name") for rec in _records(root) for m in rec}
    removed, size = [], 0
    for name in volumes.names(root):
        doc = volumes.inspect(root, name)
        anonymous = "com.docker.volume.anonymous" in (doc.get("Labels") or {})
        if name in used or not (anonymous or all_volumes):
            continue
        size += du(doc["Mountpoint"])
        volumes.remove(root, name, force=True)
        removed.append(name)
    return removed, size
