"""`minidocker network create|ls|inspect|rm|prune|connect|disconnect`: manage bridge
networks and attach containers to them (connect/disconnect go through
minidocker.engine.networking, which keeps the container's record in step).
"""

from __future__ import annotations

import argparse
import sys

from minidocker.errors import MinidockerError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from minidocker.cli.commands._common import add_subcommands, subcommand
    sub = add_subcommands(parser)
    create = subcommand(sub, "create", _create, "Create a network")
    create.add_argument("--subnet", help="subnet in CIDR form (default: a free one)")
    create.add_argument("--gateway", help="gateway address of the subnet (default: first)")
    create.add_argument("--internal", action="store_true",
                        help="no outbound access (no NAT, no forwarding out)")
    create.add_argument("-d", "--driver", default="bridge", help="driver (only bridge)")
    create.add_argument("--label", action="append", default=[], metavar="KEY=VALUE",
                        help="set metadata on the network")
    create.add_argument("-o", "--opt", action="append", default=[], metavar="KEY=VALUE",
                        help="driver option (com.docker.network.bridge.name)")
    create.add_argument("name", metavar="NAME")
    ls = subcommand(sub, "ls", _ls, "List networks", aliases=("list",))
    ls.add_argument("-q", "--quiet", action="store_true", help="only display network IDs")
    ls.add_argument("--no-trunc", action="store_true", help="do not truncate the output")
    ls.add_argument("--format", help="format output using a Go template (fields: ID, Name, "
                    "Driver, Scope, Internal, Labels)")
    inspect = subcommand(sub, "inspect", _inspect, "Display detailed information on networks")
    inspect.add_argument("names", nargs="+", metavar="NETWORK")
    rm = subcommand(sub, "rm", _rm, "Remove one or more networks", aliases=("remove",))
    rm.add_argument("names", nargs="+", metavar="NETWORK")
    prune = subcommand(sub, "prune", _prune, "Remove all unused networks")
    prune.add_argument("-f", "--force", action="store_true", help="do not prompt")
    connect = subcommand(sub, "connect", _connect, "Connect a container to a network")
    connect.add_argument("--ip", help="IPv4 address (e.g., 172.30.100.104)")
    connect.add_argument("--alias", action="append", default=[],
                         help="add network-scoped alias for the container")
    connect.add_argument("network", metavar="NETWORK")
    connect.add_argument("container", metavar="CONTAINER")
    disconnect = subcommand(sub, "disconnect", _disconnect,
                            "Disconnect a container from a network")
    disconnect.add_argument("-f", "--force", action="store_true",
                            help="force the container to disconnect from a network")
    disconnect.add_argument("network", metavar="NETWORK")
    disconnect.add_argument("container", metavar="CONTAINER")


def run(args: argparse.Namespace) -> int:
    from minidocker.cli.commands._common import run_subcommand
    return run_subcommand(args)


def _pairs(items: list[str], what: str) -> dict[str, str]:
    result = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not key:
            raise UsageError(f"invalid {what} {item!r}", hint="use KEY=VALUE")
        result[key] = value if sep else ""
    return result


def _create(args: argparse.Namespace) -> int:
    from minidocker.cli.commands._common import context
    from minidocker.engine.service import networks
    result = networks.create(context(args), args.name, driver=args.driver, subnet=args.subnet,
                             gateway=args.gateway, internal=args.internal,
                             labels=_pairs(args.label, "--label"),
                             options=_pairs(args.opt, "--opt"))
    print(result["Id"])
    return 0


def _ls(args: argparse.Namespace) -> int:
    from minidocker.cli.commands._common import context
    from minidocker.engine.service import networks

    docs = networks.ls(context(args))
    if args.format and not args.quiet:
        from minidocker.cli.formats import Format
        fmt = Format(args.format, default_table="table {{.ID}}\t{{.Name}}\t{{.Driver}}"
                     "\t{{.Scope}}")
        items = [_NetworkRow(n, args.no_trunc) for n in docs]
        sys.stdout.write(fmt.render(items, {"ID": "NETWORK ID"}))
        return 0
    if args.quiet:
        for doc in docs:
            print(doc["Id"] if args.no_trunc else doc["Id"][:12])
        return 0
    width = 64 if args.no_trunc else 12
    rows = [("NETWORK ID", "NAME", "DRIVER", "SCOPE")]
    rows += [(n["Id"] if args.no_trunc else n["Id"][:12], n["Name"], n["Driver"], n["Scope"])
             for n in docs]
    name_w = max(len(r[1]) for r in rows) + 3
    for r in rows:
        print(f"{r[0]:<{width + 3}}{r[1]:<{name_w}}{r[2]:<10}{r[3]}".rstrip())
    return 0


class _NetworkRow:
    """`network ls --format` fields, as Docker names them."""

    def __init__(self, doc: dict[str, Any], no_trunc: bool):
        self.ID = doc["Id"] if no_trunc else doc["Id"][:12]
        self.Name = doc["Name"]
        self.Driver = doc["Driver"]
        self.Scope = doc["Scope"]
        self.Internal = "true" if doc["Internal"] else "false"
        self.Labels = ",".join(f"{k}={v}" for k, v in sorted((doc["Labels"] or {}).items()))


def _inspect(args: argparse.Namespace) -> int:
    import json

    from minidocker.cli.commands._common import context
    from minidocker.engine.service import networks

    ctx = context(args)
    docs, failed = [], []
    for name in args.names:
        try:
            docs.append(networks.inspect(ctx, name))
        except MinidockerError as e:
            failed.append(e.message)
    print(json.dumps(docs, indent=4))
    for message in failed:
        sys.stderr.write(f"minidocker: error: {message}\n")
    return 1 if failed else 0


def _rm(args: argparse.Namespace) -> int:
    from minidocker.cli.commands._common import context
    from minidocker.engine.service import networks

    ctx = context(args)
    status = 0
    for name in args.names:
        try:
            networks.remove(ctx, name)
        except MinidockerError as e:
            sys.stderr.write(f"minidocker: error: {e.message}\n")
            status = 1
            continue
        print(name)
    return status


def _prune(args: argparse.Namespace) -> int:
    from minidocker.cli.commands._common import context
    from minidocker.engine.service import networks

    if not args.force:
        sys.stdout.write("WARNING! This will remove all custom networks not used by at least "
                         "one container.\nAre you sure you want to continue? [y/N] ")
        sys.stdout.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            return 0
    removed = networks.prune(context(args))["NetworksDeleted"]
    if removed:
        print("Deleted Networks:")
        print("\n".join(removed))
    return 0


def _connect(args: argparse.Namespace) -> int:
    from minidocker.cli.commands._common import context
    from minidocker.engine.service import networks
    networks.connect(context(args), args.network, args.container, ip=args.ip,
                     aliases=args.alias)
    return 0


def _disconnect(args: argparse.Namespace) -> int:
    from minidocker.cli.commands._common import context
    from minidocker.engine.service import networks
    networks.disconnect(context(args), args.network, args.container, force=args.force)
    return 0
