"""minidocker create: create a container (it does not run until `start`)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from types import SimpleNamespace


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from minidocker.cli.commands._container_flags import add_create_arguments
    add_create_arguments(parser)


def parse_fast(argv: list[str]) -> SimpleNamespace | None:
    from minidocker.cli.commands import _container_flags as flags
    return flags.parse_fast(argv, flags.CREATE_FLAGS)


def run(args: argparse.Namespace) -> int:
    import sys

    from minidocker.cli.commands._common import Terminal, context
    from minidocker.cli.commands._container_flags import options_from
    from minidocker.engine.service import containers
    ctx = context(args, Terminal(sys.stderr))
    print(containers.create(ctx, options_from(args, detach=True), pull="missing")["Id"])
    return 0
