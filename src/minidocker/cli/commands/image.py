"""minidocker image: manage images (ls, inspect, rm, tag, prune, history, pull, push, ...)."""

from __future__ import annotations

import argparse

# `image NAME ...` runs the top-level command (image ls = images): name -> command
_TOP_LEVEL = {"ls": "images", "list": "images", "rm": "rmi", "remove": "rmi", "tag": "tag",
              "history": "history", "pull": "pull", "push": "push", "load": "load",
              "save": "save", "import": "import", "build": "build"}


def _delegated() -> dict[str, tuple[str, str]]:
    from minidocker.cli.main import COMMANDS  # their summaries, said once
    return {name: (command, COMMANDS[command][1]) for name, command in _TOP_LEVEL.items()}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from minidocker.cli.commands._common import add_subcommands, delegated, subcommand
    sub = add_subcommands(parser)
    delegated(sub, _delegated())
    p = subcommand(sub, "inspect", inspect, "Show details of images as JSON")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("-f", "--format", help="Go template, e.g. '{{.Id}}'")
    p = subcommand(sub, "prune", prune, "Remove unused images")
    p.add_argument("-a", "--all", action="store_true",
                   help="remove every unused image, not only untagged ones")
    p.add_argument("-f", "--force", action="store_true", help="do not prompt")


def parse_fast(argv: list[str]) -> argparse.Namespace | None:
    from minidocker.cli.commands._common import delegate
    return delegate(_delegated(), argv)


def run(args: argparse.Namespace) -> int:
    from minidocker.cli.commands._common import run_subcommand
    return run_subcommand(args)


def inspect(args: argparse.Namespace) -> int:
    import json
    import sys

    from minidocker.cli.commands._common import context
    from minidocker.cli.views import go_maps
    from minidocker.engine.service import images
    from minidocker.errors import NotFound
    from minidocker.gotemplate import parse

    ctx = context(args)
    docs, status = [], 0
    for name in args.images:  # as Docker: show what exists, report the rest, exit 1
        try:
            docs.append(images.inspect(ctx, name))
        except NotFound as e:
            sys.stderr.write(f"Error: {e.message}\n")
            status = 1
    if args.format:
        template = parse(args.format, strict_fields=True)
        for doc in docs:
            print(template.execute(go_maps(doc)))
    else:
        print(json.dumps(docs, indent=4))
    return status


def prune(args: argparse.Namespace) -> int:
    from minidocker.cli.commands._common import context
    from minidocker.cli.output import human_size
    from minidocker.engine.service import images

    report = images.prune(context(args), all=args.all)
    if report["ImagesDeleted"]:
        print("Deleted Images:")
        print("\n".join(f"{k.lower()}: {v}" for item in report["ImagesDeleted"]
                        for k, v in item.items()))
        print()
    print(f"Total reclaimed space: {human_size(report['SpaceReclaimed'])}")
    return 0
