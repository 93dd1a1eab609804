"""minidocker import: a rootfs tarball (file, URL-less, or stdin) or directory as an image."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="FILE|DIR|-")
    parser.add_argument("reference", nargs="?", metavar="REPOSITORY[:TAG]")
    parser.add_argument("-c", "--change", action="append", default=[],
                        help="apply a Dockerfile instruction (CMD, ENTRYPOINT, ENV, WORKDIR, ...)")
    parser.add_argument("-m", "--message", default="", help="commit message for the layer")


def run(args: argparse.Namespace) -> int:
    import sys

    from minidocker.cli.commands._common import context
    from minidocker.engine.service import images

    source = sys.stdin.buffer if args.source == "-" else args.source
    print(images.import_(context(args), source, ref=args.reference, changes=args.change,
                         message=args.message)["Id"])
    return 0
