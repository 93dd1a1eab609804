"""minidocker login: check and store credentials for a registry (0600 file)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("server", nargs="?", default="docker.io")
    parser.add_argument("-u", "--username")
    parser.add_argument("-p", "--password")
    parser.add_argument("--password-stdin", action="store_true", help="read the password "
                        "from stdin")
    parser.add_argument("--insecure", action="store_true", help="allow plain HTTP")


def run(args: argparse.Namespace) -> int:
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
    print(images.login(context(args), args.server, user, password,
                       insecure=args.insecure)["Status"])
    return 0
