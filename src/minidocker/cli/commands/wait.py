"""minidocker wait: block until containers stop, then print their exit codes."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("containers", nargs="+", metavar="CONTAINER")


def run(args: argparse.Namespace) -> int:
    from minidocker.cli.commands._common import context, each
    from minidocker.engine.service import containers
    ctx = context(args)

    def wait(ref: str) -> None:
        print(containers.wait(ctx, ref)["StatusCode"], flush=True)

    return each(args.containers, wait, echo=False)
