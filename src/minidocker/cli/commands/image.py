"""minidocker image: manage images (ls, inspect, rm, tag, prune, history, pull, push, ...)."""

from __future__ import annotations

import argparse
import importlib

SUBCOMMANDS = {
    "ls": ("images", "List images"),
    "list": ("images", "List images"),
    "inspect": (None, "Show details of images as JSON"),
    "rm": ("rmi", "Remove images"),
    "tag": ("tag", "Give an image another name"),
    "prune": (None, "Remove unused images"),
    "history": ("history", "Show an image's layers and build steps"),
    "pull": ("pull", "Download an image from a registry"),
    "push": ("push", "Upload an image to a registry"),
    "load": ("load", "Load images from an archive"),
    "save": ("save", "Save images to an archive"),
    "import": ("import_image", "Import a rootfs tarball or directory as an image"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="subcommand", required=True, metavar="COMMAND")
    for name, (module, summary) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=summary, description=summary)
        if module:
            importlib.import_module(f"minidocker.cli.commands.{module}").add_arguments(p)
        elif name == "inspect":
            p.add_argument("images", nargs="+", metavar="IMAGE")
            p.add_argument("-f", "--format", help="Go template, e.g. '{{.Id}}'")
        elif name == "prune":
            p.add_argument("-a", "--all", action="store_true",
                           help="remove every unused image, not only untagged ones")
            p.add_argument("-f", "--force", action="store_true", help="do not prompt")


def run(args: argparse.Namespace) -> int:
    module = SUBCOMMANDS[args.subcommand][0]
    if module:
        return int(importlib.import_module(f"minidocker.cli.commands.{module}").run(args) or 0)
    if args.subcommand == "inspect":
        return inspect(args)
    return prune(args)


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
