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
    parser.add_argument("container", metavar="CONTAINER")
    parser.add_argument("command", nargs=argparse.REMAINDER, metavar="COMMAND")


def run(args: argparse.Namespace) -> int:
    import json
    import os

    from minidocker.cli.commands._common import find
    from minidocker.engine import bundle
    from minidocker.engine.lifecycle import live_state, runtime_of
    from minidocker.errors import Conflict, UsageError

    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise UsageError("exec needs a command", hint="minidocker exec CONTAINER COMMAND [ARG...]")
    record = find(args.container)
    state = live_state(record)
    if state.get("Status") == "paused":
        raise Conflict(f"container {record.id} is paused, unpause the container before exec")
    if state.get("Status") != "running":
        raise Conflict(f"container {record.id} is not running")
    with open(record.path("bundle", "config.json")) as f:
        spec = json.load(f)
    proc = dict(spec["process"])
    env: dict[str, str] = {e.partition("=")[0]: e for e in proc.get("env") or []}
    from minidocker.cli.commands._container_flags import _env_file
    extra = [e for path in args.env_file for e in _env_file(path)] + list(args.env)
    for item in extra:
        key, sep, _ = item.partition("=")
        env[key] = item if sep else f"{key}={os.environ.get(key, '')}"
    proc["env"] = list(env.values())
    proc["args"] = command
    proc["terminal"] = bool(args.tty)
    if args.workdir:
        proc["cwd"] = args.workdir
    if args.user:
        proc["user"] = bundle.resolve_user(args.user, [record.path("rootfs")])
    if args.privileged:
        proc["capabilities"] = {k: bundle.host_capabilities()
                                for k in ("bounding", "effective", "permitted")}
    if not args.interactive and not args.tty:
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
    return runtime_of(record).exec(record.id, proc, args.detach)
