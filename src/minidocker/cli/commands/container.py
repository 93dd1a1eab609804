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
        return _prune(args.rest)
    from minidocker.cli.main import run_command
    return run_command(SUB[args.subcommand], args.rest, args.debug)


def _prune(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="minidocker container prune")
    parser.add_argument("-f", "--force", action="store_true", help="do not prompt")
    parser.add_argument("--filter", action="append", default=[])
    parser.parse_args(argv)
    from minidocker.cli.commands._common import root
    from minidocker.cli.output import human_size
    ids, reclaimed = prune_containers(root())
    if ids:
        print("Deleted Containers:")
        for cid in ids:
            print(cid)
        print()
    print(f"Total reclaimed space: {human_size(reclaimed)}")
    return 0


def prune_containers(root: str) -> tuple[list[str], int]:
    """Remove every stopped container (and half-created records); (ids, bytes freed)."""
    import os
    import shutil

    from minidocker.engine import lifecycle
    from minidocker.engine.records import Records
    from minidocker.errors import MinidockerError
    records = Records(root)
    removed, reclaimed = [], 0
    for record in records.all():
        if not record.exists():
            if not os.path.exists(record.path("state.json")):
                shutil.rmtree(record.dir, ignore_errors=True)  # a create that crashed
            continue
        try:
            state = lifecycle.live_state(record)
            if state.get("Status") in ("exited", "created", "dead"):
                reclaimed += du(record.path("upper"))
                lifecycle.remove(record)
                removed.append(record.id)
        except MinidockerError:
            continue
    return removed, reclaimed


def du(path: str) -> int:
    import os
    total = 0
    for dirpath, _, filenames in os.walk(path):
        for name in filenames:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total
