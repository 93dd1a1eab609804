"""minidocker export: a container's filesystem as a tar archive."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", help="write to a file, instead of STDOUT")
    parser.add_argument("container", metavar="CONTAINER")


def run(args: argparse.Namespace) -> int:
    import os
    import sys

    from minidocker.cli.commands._common import find
    from minidocker.engine import files, lifecycle
    from minidocker.errors import UsageError
    record = find(args.container)
    if not args.output and os.isatty(1):
        raise UsageError("cowardly refusing to save to a terminal",
                         hint="use the -o flag or redirect")
    root, mounted = lifecycle.rootfs_view(record)
    try:
        if args.output:
            with open(args.output, "wb") as f:
                files.export(root, f)
        else:
            files.export(root, sys.stdout.buffer)
    finally:
        if mounted:
            lifecycle.unmount_rootfs(record)
    return 0
