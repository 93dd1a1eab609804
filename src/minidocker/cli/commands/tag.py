"""minidocker tag: give an image another name."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="SOURCE_IMAGE[:TAG]")
    parser.add_argument("target", metavar="TARGET_IMAGE[:TAG]")


def run(args: argparse.Namespace) -> int:
    from minidocker.image import manage
    from minidocker.image.store import Store

    manage.tag(Store(), args.source, args.target)
    return 0
