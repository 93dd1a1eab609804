"""minidocker tag: give an image another name."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="SOURCE_IMAGE[:TAG]")
    parser.add_argument("target", metavar="TARGET_IMAGE[:TAG]")


def run(args: argparse.Namespace) -> int:
    from minidocker.cli.commands._common import context
    from minidocker.engine.service import images
    images.tag(context(args), args.source, args.target)
    return 0
