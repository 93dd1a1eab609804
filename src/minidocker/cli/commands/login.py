"""minidocker login: check and store credentials for a registry (0600 file)."""

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
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
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
