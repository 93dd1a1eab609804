"""minidocker exec: run a command in a running container."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-i", "--interactive", action="store_true", help="keep STDIN open")
    parser.add_argument("-t", "--tty", action="store_true", help="allocate a pseudo-TTY")
    parser.add_argument("-d", "--detach", action="store_true",
                        help="detached mode: run command in the background")
    parser.add_argument("-e", "--env", action="append", default=[],
                        help="set environment variables")
    parser.add_argument("--env-file", action="append", default=[],
                        help="read in a file of environment variables")
    parser.add_argument("-w", "--workdir", help="working directory inside the container")
    parser.add_argument("-u", "--user", help="username or UID (<name|uid>[:<group|gid>])")
    parser.add_argument("--privileged", action="store_true",
                        help="give extended privileges to the command")
    parser.add_argument("--trace", metavar="FILE", help="append each step the exec takes to "
                        "FILE as trace-event JSON (minidocker trace show FILE)")
    parser.add_argument("container", metavar="CONTAINER")
    parser.add_argument("command", nargs=argparse.REMAINDER, metavar="COMMAND")


def run(args: argparse.Namespace) -> int:
    import os

    from minidocker.cli.commands._common import context
    from minidocker.cli.commands._container_flags import _env_file
    from minidocker.engine.service import execs
    from minidocker.errors import UsageError

    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise UsageError("exec needs a command", hint="minidocker exec CONTAINER COMMAND [ARG...]")
    env = [e for path in args.env_file for e in _env_file(path)]
    for item in args.env:  # -e NAME takes our value of NAME, as Docker's CLI does
        env.append(item if "=" in item else f"{item}={os.environ.get(item, '')}")
    config = {"Cmd": command, "Env": env, "WorkingDir": args.workdir or "",
              "User": args.user or "", "Privileged": bool(args.privileged),
              "Tty": bool(args.tty), "AttachStdin": bool(args.interactive),
              "AttachStdout": not args.detach, "AttachStderr": not args.detach}
    if not args.interactive and not args.tty:
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
    return execs.run(context(args), args.container, config, detach=args.detach)
