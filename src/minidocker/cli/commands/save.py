"""minidocker save: write images to a Docker (default) or OCI archive."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="+", metavar="IMAGE")
    parser.add_argument("-o", "--output", help="write to this file instead of stdout")
    parser.add_argument("--format", default="docker", choices=("docker", "oci", "docker-archive",
                                                               "oci-archive"),
                        help="archive format (default docker)")


def run(args: argparse.Namespace) -> int:
    import os

    from minidocker.cli.commands._common import context
    from minidocker.engine.service import images
    from minidocker.errors import UsageError

    ctx = context(args)
    if not args.output:
        if sys.stdout.isatty():
            raise UsageError("save: refusing to write an archive to a terminal",
                             hint="use -o FILE or redirect stdout")
        sys.stdout.flush()
        images.save(ctx, args.images, sys.stdout.buffer, format=args.format)
        sys.stdout.buffer.flush()
        return 0
    tmp = f"{args.output}.tmp.{os.getpid()}"
    try:
        with open(tmp, "wb") as out:
            images.save(ctx, args.images, out, format=args.format)
        os.rename(tmp, args.output)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return 0
