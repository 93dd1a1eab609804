"""minidocker container: container subcommands (`container prune`, and `container ls`,
`container run` ... as aliases of the top-level commands)."""

from __future__ import annotations

import argparse

# `container NAME ...` runs the top-level command (container ls = ps): name -> command
_TOP_LEVEL = {"ls": "ps", "list": "ps", "ps": "ps", "run": "run", "create": "create",
              "start": "start", "stop": "stop", "restart": "restart", "kill": "kill",
              "rm": "rm", "remove": "rm", "logs": "logs", "exec": "exec",
              "inspect": "inspect", "wait": "wait", "pause": "pause", "unpause": "unpause",
              "attach": "attach", "top": "top", "stats": "stats", "rename": "rename",
              "cp": "cp", "diff": "diff", "export": "export", "commit": "commit",
              "explain": "explain"}


def _delegated() -> dict[str, tuple[str, str]]:
    from minidocker.cli.main import COMMANDS  # their summaries, said once
    return {name: (command, COMMANDS[command][1]) for name, command in _TOP_LEVEL.items()}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from minidocker.cli.commands._common import add_subcommands, delegated, subcommand
    sub = add_subcommands(parser)
    delegated(sub, _delegated())
    p = subcommand(sub, "prune", _prune, "Remove all stopped containers")
    p.add_argument("-f", "--force", action="store_true", help="do not prompt")
    p.add_argument("--filter", action="append", default=[],
                   help="label=KEY[=VALUE], label!=KEY[=VALUE]")


def parse_fast(argv: list[str]) -> argparse.Namespace | None:
    from minidocker.cli.commands._common import delegate
    return delegate(_delegated(), argv)


def run(args: argparse.Namespace) -> int:
    from minidocker.cli.commands._common import run_subcommand
    return run_subcommand(args)


def _prune(args: argparse.Namespace) -> int:
    from minidocker.cli.commands._common import context
    from minidocker.cli.output import human_size
    from minidocker.engine.service import containers
    from minidocker.engine.service.filters import from_args
    report = containers.prune(context(args), filters=from_args(args.filter))
    ids = report["ContainersDeleted"]
    if ids:
        print("Deleted Containers:")
        for cid in ids:
            print(cid)
        print()
    print(f"Total reclaimed space: {human_size(report['SpaceReclaimed'])}")
    return 0
