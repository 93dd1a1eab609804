"""minidocker container: container subcommands (`container prune`, and `container ls`,
`container run` ... as aliases of the top-level commands)."""

from __future__ import annotations

import argparse

SUB = {"ls": "ps", "list": "ps", "ps": "ps", "run": "run", "create": "create", "start": "start",
       "stop": "stop", "restart": "restart", "kill": "kill", "rm": "rm", "remove": "rm",
       "logs": "logs", "exec": "exec", "inspect": "inspect", "wait": "wait", "pause": "pause",
       "unpause": "unpause", "attach": "attach", "top": "top", "stats": "stats",
       "rename": "rename", "cp": "cp", "diff": "diff", "export": "export", "commit": "commit",
       "prune": "prune"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("subcommand", choices=sorted(SUB), metavar="COMMAND")
    parser.add_argument("rest", nargs=argparse.REMAINDER)


def run(args: argparse.Namespace) -> int:
    if args.subcommand == "prune":
        return _prune(args.rest, args.root)
    from minidocker.cli.main import run_command
    return run_command(SUB[args.subcommand], args.rest, args.debug, args.root)


def _prune(argv: list[str], root: str) -> int:
    parser = argparse.ArgumentParser(prog="minidocker container prune")
    parser.add_argument("-f", "--force", action="store_true", help="do not prompt")
    parser.add_argument("--filter", action="append", default=[])
    opts = parser.parse_args(argv)
    from minidocker.cli.output import human_size
    from minidocker.engine.service import Context, containers
    from minidocker.engine.service.filters import from_args
    report = containers.prune(Context(root), filters=from_args(opts.filter))
    ids = report["ContainersDeleted"]
    if ids:
        print("Deleted Containers:")
        for cid in ids:
            print(cid)
        print()
    print(f"Total reclaimed space: {human_size(report['SpaceReclaimed'])}")
    return 0
