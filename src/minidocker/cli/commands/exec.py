"""minidocker exec: run a command in a running container."""

from __future__ import annotations

from minidocker.cli.flags import Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


SPEC = Spec("[OPTIONS] CONTAINER COMMAND [ARG...]", (
    ("d", "detach", "bool", "Detached mode: run command in the background"),
    ("e", "env", "list", "Set environment variables"),
    ("", "env-file", "list", "Read in a file of environment variables", {"complete": "file"}),
    ("i", "interactive", "bool", "Keep STDIN open even if not attached"),
    ("", "privileged", "bool", "Give extended privileges to the command"),
    ("", "trace", "string", "Append each step the exec takes to FILE as trace-event JSON "
     "(minidocker trace show FILE)", {"complete": "file"}),
    ("t", "tty", "bool", "Allocate a pseudo-TTY"),
    ("u", "user", "string", "Username or UID (format: <name|uid>[:<group|gid>])"),
    ("w", "workdir", "string", "Working directory inside the container"),
), (("container", 1), ("command", "+")), interspersed=False)


def run(args: Any) -> int:
    import os

    from minidocker.cli.commands._common import check_tty, context
    from minidocker.cli.commands._container_flags import _env, _kv_file
    from minidocker.engine.service import execs
    check_tty(args.interactive and not args.detach, args.tty)
    command = list(args.command)
    if command[0] == "--" and len(command) > 1:
        command = command[1:]
    env = [e for path in args.env_file for e in _kv_file(path, "env")] + _env(args.env)
    config = {"Cmd": command, "Env": env, "WorkingDir": args.workdir or "",
              "User": args.user or "", "Privileged": bool(args.privileged),
              "Tty": bool(args.tty), "AttachStdin": bool(args.interactive),
              "AttachStdout": not args.detach, "AttachStderr": not args.detach}
    if not args.interactive and not args.tty:
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
    return execs.run(context(args), args.container, config, detach=args.detach)
