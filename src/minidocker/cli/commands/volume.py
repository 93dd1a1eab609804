"""minidocker volume: create, ls, inspect, rm, prune."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from minidocker.cli.commands._common import add_subcommands, subcommand
    sub = add_subcommands(parser)
    p = subcommand(sub, "create", _create, "create a volume")
    p.add_argument("name", nargs="?")
    p.add_argument("--label", action="append", default=[])
    p.add_argument("-d", "--driver", default="local")
    p = subcommand(sub, "ls", _ls, "list volumes", aliases=("list",))
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("--format")
    p.add_argument("-f", "--filter", action="append", default=[])
    p = subcommand(sub, "inspect", _inspect, "display detailed information on volumes")
    p.add_argument("names", nargs="+")
    p.add_argument("-f", "--format")
    p = subcommand(sub, "rm", _rm, "remove volumes", aliases=("remove",))
    p.add_argument("names", nargs="+")
    p.add_argument("-f", "--force", action="store_true")
    p = subcommand(sub, "prune", _prune, "remove unused volumes")
    p.add_argument("-f", "--force", action="store_true")
    p.add_argument("-a", "--all", action="store_true", help="also named volumes")


def run(args: argparse.Namespace) -> int:
    from minidocker.cli.commands._common import run_subcommand
    return run_subcommand(args)


def _create(args: argparse.Namespace) -> int:
    from minidocker.cli.commands._common import context
    from minidocker.engine.service import volumes
    labels = dict(item.partition("=")[::2] for item in args.label)
    print(volumes.create(context(args), args.name, driver=args.driver, labels=labels)["Name"])
    return 0


def _ls(args: argparse.Namespace) -> int:
    from minidocker.cli.commands._common import context
    from minidocker.engine.service import volumes
    from minidocker.engine.service.filters import from_args
    docs = volumes.ls(context(args), filters=from_args(args.filter))["Volumes"]
    if args.quiet:
        sys.stdout.write("".join(d["Name"] + "\n" for d in docs))
        return 0
    from minidocker.cli.formats import Format
    fmt = Format(args.format or "table", default_table="table {{.Driver}}\t{{.Name}}")
    sys.stdout.write(fmt.render(docs, {"Driver": "DRIVER", "Name": "VOLUME NAME"}))
    return 0


def _inspect(args: argparse.Namespace) -> int:
    import json

    from minidocker.cli.commands._common import context
    from minidocker.engine.service import volumes
    from minidocker.errors import MinidockerError
    ctx = context(args)
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


def _rm(args: argparse.Namespace) -> int:
    from minidocker.cli.commands._common import context
    from minidocker.engine.service import volumes
    from minidocker.errors import MinidockerError
    ctx = context(args)
    failed = False
    for name in args.names:
        try:
            volumes.remove(ctx, name, force=args.force)
            print(name)
        except MinidockerError as e:
            sys.stderr.write(f"minidocker: error: {e.message}\n")
            failed = True
    return 1 if failed else 0


def _prune(args: argparse.Namespace) -> int:
    from minidocker.cli.commands._common import context
    from minidocker.cli.output import human_size
    from minidocker.engine.service import volumes
    report = volumes.prune(context(args), all=args.all)
    if report["VolumesDeleted"]:
        print("Deleted Volumes:")
        for n in report["VolumesDeleted"]:
            print(n)
        print()
    print(f"Total reclaimed space: {human_size(report['SpaceReclaimed'])}")
    return 0
