"""minidocker pull: download an image from a registry."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME[:TAG|@DIGEST]")
    parser.add_argument("--platform", help="os/arch[/variant] to pick from a manifest list")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the image name")
    parser.add_argument("--insecure", action="store_true",
                        help="allow plain HTTP to this registry")


def run(args: argparse.Namespace) -> int:
    from minidocker.cli.commands._common import context
    from minidocker.cli.progress import Progress
    from minidocker.engine.service import images
    from minidocker.image import reference

    images.pull(context(args, Progress(quiet=args.quiet)), args.name, platform=args.platform,
                insecure=args.insecure)
    print(reference.parse(args.name))
    return 0
