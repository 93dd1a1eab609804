"""minidocker rmi: remove images (untag; delete when the last tag goes)."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="+", metavar="IMAGE")
    parser.add_argument("-f", "--force", action="store_true",
                        help="remove an image with several tags; untag one in use")


def run(args: argparse.Namespace) -> int:
    from minidocker.errors import MinidockerError
    from minidocker.image import manage
    from minidocker.image.store import Store

    store = Store()
    status = 0
    for name in args.images:
        try:
            for line in manage.remove(store, name, force=args.force):
                print(line)
        except MinidockerError as e:
            sys.stderr.write(f"minidocker: error: {e.message}\n")
            if e.hint:
                sys.stderr.write(f"hint: {e.hint}\n")
            status = e.exit_code
    return status
