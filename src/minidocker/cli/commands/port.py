"""minidocker port: list a container's published ports, or the host addresses of one."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("container", metavar="CONTAINER")
    parser.add_argument("port", nargs="?", metavar="PRIVATE_PORT[/PROTO]")


def run(args: argparse.Namespace) -> int:
    from minidocker.cli.commands._common import find
    from minidocker.engine.lifecycle import live_state
    from minidocker.engine.networking import published
    from minidocker.errors import NotFound, UsageError

    record = find(args.container)
    mappings = sorted(published(live_state(record)), key=lambda m: (m[2], m[3], m[0], m[1]))
    if args.port is None:
        sys.stdout.write("".join(f"{cport}/{proto} -> {hip}:{hport}\n"
                                 for hip, hport, cport, proto in mappings))
        return 0
    port, _, proto = args.port.partition("/")
    proto = proto.lower() or "tcp"
    if not port.isdigit() or proto not in ("tcp", "udp"):
        raise UsageError(f"invalid port {args.port!r}", hint="use PORT or PORT/tcp|udp")
    hits = [f"{hip}:{hport}\n" for hip, hport, cport, p in mappings
            if cport == int(port) and p == proto]
    if not hits:
        raise NotFound(f"no public port '{port}/{proto}' published for {record.id[:12]}",
                       exit_code=1)
    sys.stdout.write("".join(hits))
    return 0
