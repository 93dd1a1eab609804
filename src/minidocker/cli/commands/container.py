"""minidocker container: container subcommands (`container prune`, and `container ls`,
`container run` ... as aliases of the top-level commands)."""

from __future__ import annotations

import argparse

# `container NAME ...` runs the top-level command (container ls = ps): name -> (command, summary)
DELEGATED = {
    "ls": ("ps", "List containers"), "list": ("ps", "List containers"),
    "ps": ("ps", "List containers"), "run": ("run", "Create and run a new container"),
    "create": ("create", "Create a new container"),
    "start": ("start", "Start one or more stopped containers"),
    "stop": ("stop", "Stop one or more running containers"),
    "restart": ("restart", "Restart one or more containers"),
    "kill": ("kill", "Kill one or more running containers"),
    "rm": ("rm", "Remove one or more containers"),
    "remove": ("rm", "Remove one or more containers"),
    "logs": ("logs", "Fetch the logs of a container"),
    "exec": ("exec", "Execute a command in a running container"),
    "inspect": ("inspect", "Display detailed information on one or more containers"),
    "wait": ("wait", "Block until containers stop, then print their exit codes"),
    "pause": ("pause", "Pause all processes within one or more containers"),
    "unpause": ("unpause", "Unpause all processes within one or more containers"),
    "attach": ("attach", "Attach to a running container's input and output"),
    "top": ("top", "Display the running processes of a container"),
    "stats": ("stats", "Display a live stream of container resource usage"),
    "rename": ("rename", "Rename a container"),
    "cp": ("cp", "Copy files between a container and the local filesystem"),
    "diff": ("diff", "Inspect changes to files on a container's filesystem"),
    "export": ("export", "Export a container's filesystem as a tar archive"),
    "commit": ("commit", "Create a new image from a container's changes"),
    "explain": ("explain", "What isolates a running container, read from the kernel"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from minidocker.cli.commands._common import add_subcommands, delegated, subcommand
    sub = add_subcommands(parser)
    delegated(sub, DELEGATED)
    p = subcommand(sub, "prune", _prune, "Remove all stopped containers")
    p.add_argument("-f", "--force", action="store_true", help="do not prompt")
    p.add_argument("--filter", action="append", default=[],
                   help="label=KEY[=VALUE], label!=KEY[=VALUE]")


def parse_fast(argv: list[str]) -> argparse.Namespace | None:
    from minidocker.cli.commands._common import delegate
    return delegate(DELEGATED, argv)


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
