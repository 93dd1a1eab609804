"""minidocker wait: block until containers stop, then print their exit codes."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("containers", nargs="+", metavar="CONTAINER")


def run(args: argparse.Namespace) -> int:
    from minidocker.cli.commands._common import each
    from minidocker.engine import lifecycle

    def wait(record: object) -> None:
        lifecycle.wait_stopped(record, None)  # type: ignore[arg-type]
        try:
            code = record.reload().state.get("ExitCode", 0)  # type: ignore[attr-defined]
        except Exception:
            code = 0  # removed (--rm) while we waited: Docker prints the code it saw
        print(code, flush=True)

    return each(args.containers, wait, echo=False)
