"""minidocker diff: changes to files on a container's filesystem."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("container", metavar="CONTAINER")


def run(args: argparse.Namespace) -> int:
    import sys

    from minidocker.cli.commands._common import find
    from minidocker.engine import files
    record = find(args.container)
    for kind, path in files.diff(record.path("upper"), list(record.config.get("Lowers") or [])):
        sys.stdout.write(f"{kind} {path}\n")
    return 0
