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

    from minidocker.cli.commands._common import context
    from minidocker.engine.service import volumes
    from minidocker.engine.service.filters import from_args
    from minidocker.errors import MinidockerError
    ctx = context(args)
    if args.sub == "create":
        labels = dict(item.partition("=")[::2] for item in args.label)
        print(volumes.create(ctx, args.name, driver=args.driver, labels=labels)["Name"])
        return 0
    if args.sub in ("ls", "list"):
        docs = volumes.ls(ctx, filters=from_args(args.filter))["Volumes"]
        if args.quiet:
            sys.stdout.write("".join(d["Name"] + "\n" for d in docs))
            return 0
        from minidocker.cli.formats import Format
        fmt = Format(args.format or "table", default_table="table {{.Driver}}\t{{.Name}}")
        sys.stdout.write(fmt.render(docs, {"Driver": "DRIVER", "Name": "VOLUME NAME"}))
        return 0
    if args.sub == "inspect":
        docs = []
        failed = False
        for name in args.names:
            try:
                docs.append(volumes.inspect(ctx, name))
            except MinidockerError as e:
                sys.stderr.write(f"minidocker: error: {e.message}\n")
                failed = True
        if args.format:
            from minidocker.cli.views import go_maps
            from minidocker.gotemplate import render
            for d in docs:
                print(render(args.format, go_maps(d)))
        else:
            print(json.dumps(docs, indent=4))
        return 1 if failed else 0
    if args.sub in ("rm", "remove"):
        failed = False
        for name in args.names:
            try:
                volumes.remove(ctx, name, force=args.force)
                print(name)
            except MinidockerError as e:
                sys.stderr.write(f"minidocker: error: {e.message}\n")
                failed = True
        return 1 if failed else 0
    if args.sub == "prune":
        report = volumes.prune(ctx, all=args.all)
        if report["VolumesDeleted"]:
            print("Deleted Volumes:")
            for n in report["VolumesDeleted"]:
                print(n)
            print()
        from minidocker.cli.output import human_size
        print(f"Total reclaimed space: {human_size(report['SpaceReclaimed'])}")
        return 0
    return 125
