"""minidocker port: list a container's published ports, or the host addresses of one."""

from __future__ import annotations

import sys

from minidocker.cli.flags import Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


SPEC = Spec("CONTAINER [PRIVATE_PORT[/PROTO]]", (), (("container", 1), ("port", "?")))


def run(args: Any) -> int:
    from minidocker.cli.commands._common import context
    from minidocker.engine.service import containers
    from minidocker.errors import NotFound, UsageError

    mappings = containers.port(context(args), args.container)
    if args.port is None:
        sys.stdout.write("".join(f"{m['PrivatePort']}/{m['Type']} -> {m['IP']}:{m['PublicPort']}\n"
                                 for m in mappings))
        return 0
    port, _, proto = args.port.partition("/")
    proto = proto.lower() or "tcp"
    if not port.isdigit() or proto not in ("tcp", "udp"):
        raise UsageError(f"invalid port {args.port!r}", hint="use PORT or PORT/tcp|udp")
    hits = [f"{m['IP']}:{m['PublicPort']}\n" for m in mappings
            if m["PrivatePort"] == int(port) and m["Type"] == proto]
    if not hits:
        raise NotFound(f"no public port '{port}/{proto}' published for {args.container}",
                       exit_code=1)
    sys.stdout.write("".join(hits))
    return 0
