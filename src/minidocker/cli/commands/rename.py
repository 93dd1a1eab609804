"""minidocker rename: rename a container."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("container", metavar="CONTAINER")
    parser.add_argument("new_name", metavar="NEW_NAME")


def run(args: argparse.Namespace) -> int:
    from minidocker.cli.commands._common import find, root
    from minidocker.engine.records import Records, check_name
    from minidocker.errors import UsageError
    record = find(args.container)
    new = check_name(args.new_name)
    old = record.name
    if new == old:
        raise UsageError("renaming a container with the same name as its current name")
    records = Records(root())
    records.take_name(new, record.id)
    with record.lock():
        config = dict(record.reload().config)
        config["Name"] = "/" + new
        record.save_config(config)
    records.release_name(old, record.id)
    return 0
