"""minidocker rmi: remove images (untag; delete when the last tag goes)."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="+", metavar="IMAGE")
    parser.add_argument("-f", "--force", action="store_true",
                        help="remove an image with several tags; untag one in use")


def run(args: argparse.Namespace) -> int:
    from minidocker.cli.commands._common import context
    from minidocker.engine.service import images
    from minidocker.errors import MinidockerError

    ctx = context(args)
    status = 0
    for name in args.images:
        try:
            for item in images.remove(ctx, name, force=args.force):
                for kind, value in item.items():
                    print(f"{kind}: {value}")
        except MinidockerError as e:
            sys.stderr.write(f"minidocker: error: {e.message}\n")
            if e.hint:
                sys.stderr.write(f"hint: {e.hint}\n")
            status = e.exit_code
    return status
