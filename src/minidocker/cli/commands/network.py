"""`minidocker network create|ls|inspect|rm|prune|connect|disconnect`: manage bridge
networks and attach containers to them (connect/disconnect go through
minidocker.engine.networking, which keeps the container's record in step).
"""

from __future__ import annotations

import sys

from minidocker.cli.flags import Spec
from minidocker.errors import MinidockerError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _pairs(items: list[str], what: str) -> dict[str, str]:
    result = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not key:
            raise UsageError(f"invalid {what} {item!r}", hint="use KEY=VALUE")
        result[key] = value if sep else ""
    return result


def _create(args: Any) -> int:
    from minidocker.cli.commands._common import context
    from minidocker.engine.service import networks
    if len(args.subnet) > 1 or len(args.gateway) > 1:
        raise UsageError("one --subnet and one --gateway: networks have one IPv4 subnet")
    if len(args.ip_range) > 1:
        raise UsageError(f"multiple ranges ({', '.join(args.ip_range)}) on the same subnet "
                         f"({(args.subnet or [''])[0]})")
    result = networks.create(context(args), args.name, driver=args.driver,
                             subnet=(args.subnet or [None])[0],
                             gateway=(args.gateway or [None])[0], internal=args.internal,
                             labels=_pairs(args.label, "--label"), options=args.opt,
                             ip_range=(args.ip_range or [None])[0], aux=args.aux_address)
    print(result["Id"])
    return 0


def _ls(args: Any) -> int:
    from minidocker.cli.commands._common import context
    from minidocker.engine.service import networks
    from minidocker.engine.service.filters import from_args
    docs = networks.ls(context(args), filters=from_args(args.filter))
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


def _inspect(args: Any) -> int:
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
    if args.format:
        from minidocker.cli.views import go_maps
        from minidocker.gotemplate import parse
        template = parse(args.format, strict_fields=True)
        for doc in docs:
            print(template.execute(go_maps(doc)))
    else:
        print(json.dumps(docs, indent=4))
    for message in failed:
        sys.stderr.write(f"minidocker: error: {message}\n")
    return 1 if failed else 0


def _rm(args: Any) -> int:
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


def _prune(args: Any) -> int:
    from minidocker.cli.commands._common import confirm, context
    from minidocker.engine.service import networks
    from minidocker.engine.service.filters import from_args
    if not args.force and not confirm("WARNING! This will remove all custom networks not "
                                      "used by at least one container."):
        return 0
    removed = networks.prune(context(args), filters=from_args(args.filter))["NetworksDeleted"]
    if removed:
        print("Deleted Networks:")
        print("\n".join(removed))
    return 0


def _connect(args: Any) -> int:
    from minidocker.cli.commands._common import context
    from minidocker.engine.service import networks
    networks.connect(context(args), args.network, args.container, ip=args.ip,
                     aliases=args.alias)
    return 0


def _disconnect(args: Any) -> int:
    from minidocker.cli.commands._common import context
    from minidocker.engine.service import networks
    networks.disconnect(context(args), args.network, args.container, force=args.force)
    return 0


SPEC = Spec("COMMAND", subcommands={
    "connect": Spec("[OPTIONS] NETWORK CONTAINER", (
        ("", "alias", "strings", "Add network-scoped alias for the container"),
        ("", "ip", "string", "IPv4 address (e.g., 172.30.100.104)"),
    ), (("network", 1), ("container", 1)), handler=_connect,
        summary="Connect a container to a network"),
    "create": Spec("[OPTIONS] NETWORK", (
        ("", "aux-address", "map", "Auxiliary IPv4 or IPv6 addresses used by Network driver"),
        ("d", "driver", "string", "Driver to manage the Network", {"default": "bridge",
                                                                   "complete": ("bridge",)}),
        ("", "gateway", "strings", "IPv4 Gateway for the master subnet"),
        ("", "internal", "bool", "Restrict external access to the network"),
        ("", "ip-range", "strings", "Allocate container ip from a sub-range"),
        ("", "label", "list", "Set metadata on a network"),
        ("o", "opt", "map", "Set driver specific options"),
        ("", "subnet", "strings", "Subnet in CIDR format that represents a network segment"),
    ), (("name", 1),), handler=_create, summary="Create a network"),
    "disconnect": Spec("[OPTIONS] NETWORK CONTAINER", (
        ("f", "force", "bool", "Force the container to disconnect from a network"),
    ), (("network", 1), ("container", 1)), handler=_disconnect,
        summary="Disconnect a container from a network"),
    "inspect": Spec("[OPTIONS] NETWORK [NETWORK...]", (
        ("f", "format", "string", "Format the output using the given Go template"),
    ), (("names", "+"),), handler=_inspect,
        summary="Display detailed information on one or more networks"),
    "ls": Spec("[OPTIONS]", (
        ("f", "filter", "filter", "Provide filter values (e.g. 'driver=bridge')"),
        ("", "format", "string", "Pretty-print networks using a Go template"),
        ("", "no-trunc", "bool", "Do not truncate the output"),
        ("q", "quiet", "bool", "Only display network IDs"),
    ), handler=_ls, summary="List networks", aliases=("ls", "list")),
    "prune": Spec("[OPTIONS]", (
        ("", "filter", "filter", "Provide filter values (e.g. 'until=<timestamp>')"),
        ("f", "force", "bool", "Do not prompt for confirmation"),
    ), handler=_prune, summary="Remove all unused networks"),
    "rm": Spec("NETWORK [NETWORK...]", (), (("names", "+"),), handler=_rm,
               summary="Remove one or more networks", aliases=("rm", "remove")),
})
