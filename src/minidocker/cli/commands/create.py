"""minidocker create: create a container (it does not run until `start`)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from minidocker.cli.commands._container_flags import add_create_arguments
    add_create_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from minidocker.cli.commands._common import root
    from minidocker.cli.commands._container_flags import options_from
    from minidocker.engine import lifecycle
    record = lifecycle.create(root(), options_from(args, detach=True))
    print(record.id)
    return 0
