"""minidocker login: check credentials against a registry and keep them where Docker's
client keeps them (~/.docker/config.json, or its credential helper: image/auth.py)."""

from __future__ import annotations

from minidocker.cli.flags import Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


SPEC = Spec("[OPTIONS] [SERVER]", (
    ("", "insecure", "bool", "Allow plain HTTP to this registry"),
    ("p", "password", "string", "Password"),
    ("", "password-stdin", "bool", "Take the password from stdin"),
    ("u", "username", "string", "Username"),
), (("server", "?"),))


def run(args: Any) -> int:
    import getpass
    import sys

    from minidocker.cli.commands._common import context
    from minidocker.engine.service import images
    from minidocker.errors import UsageError

    user = args.username
    password = args.password
    if password is not None:
        if args.password_stdin:
            raise UsageError("--password and --password-stdin are mutually exclusive")
        sys.stderr.write("WARNING! Using --password via the CLI is insecure. Use "
                         "--password-stdin.\n")
    if args.password_stdin:
        if not user:
            raise UsageError("Must provide --username with --password-stdin")
        password = sys.stdin.read().rstrip("\n").rstrip("\r")
    if not user:
        if not sys.stdin.isatty():
            raise UsageError("login: give -u USER (no terminal to ask on)")
        user = input("Username: ")
    if password is None:
        if not sys.stdin.isatty():
            raise UsageError("login: give --password-stdin or -p (no terminal to ask on)")
        password = getpass.getpass("Password: ")
    print(images.login(context(args), args.server or "docker.io", user, password,
                       insecure=args.insecure)["Status"])
    return 0
