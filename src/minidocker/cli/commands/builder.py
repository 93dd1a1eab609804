"""minidocker builder: manage the build cache (`builder prune`)."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from minidocker.cli.commands._common import add_subcommands, subcommand
    sub = add_subcommands(parser)
    prune = subcommand(sub, "prune", _prune, "Remove build cache: the records whose layers "
                       "no image has, or every record with -a")
    prune.add_argument("-a", "--all", action="store_true", help="remove all build cache")
    prune.add_argument("-f", "--force", action="store_true", help="do not prompt")


def run(args: argparse.Namespace) -> int:
    from minidocker.cli.commands._common import run_subcommand
    return run_subcommand(args)


def _prune(args: argparse.Namespace) -> int:
    from minidocker.build import builder
    from minidocker.cli.commands._common import context
    from minidocker.cli.output import human_size

    if not args.force:
        what = "all build cache" if args.all else "all dangling build cache"
        sys.stdout.write(f"WARNING! This will remove {what}.\n"
                         "Are you sure you want to continue? [y/N] ")
        sys.stdout.flush()
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            return 0
    report = builder.prune(context(args), all=args.all)
    if report["CachesDeleted"]:
        print("Deleted build cache objects:")
        print("\n".join(k[:25] for k in report["CachesDeleted"]))
        print()
    print(f"Total reclaimed space: {human_size(report['SpaceReclaimed'])}")
    return 0
