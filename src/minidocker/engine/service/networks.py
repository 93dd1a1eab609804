"""Network operations of the service layer (Docker's /networks/...): list, inspect,
create, remove, connect, disconnect, prune. Bridge networks only, as documented in
docs/networking.md."""

from __future__ import annotations

from minidocker.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from minidocker.engine.service import Context
    from minidocker.engine.service.types import PruneReport

LIST_FILTERS = ("dangling", "driver", "id", "label", "name", "scope", "type")
_VALUES = {"dangling": ("true", "false", "1", "0"), "scope": ("local", "global", "swarm"),
           "type": ("builtin", "custom")}


def ls(ctx: Context, *, filters: dict[str, list[str]] | None = None) -> list[dict[str, Any]]:
    """GET /networks: the inspect document of each network, sorted by name. Docker's
    filters: dangling (no container connected), driver, id (prefix), label, name
    (substring), scope (local), type (builtin/custom)."""
    from minidocker import network
    wanted = dict(filters or {})
    for key, values in wanted.items():
        if key not in LIST_FILTERS:
            raise UsageError(f"invalid filter '{key}'")
        for value in values:
            if key in _VALUES and value.lower() not in _VALUES[key]:
                raise UsageError(f"invalid filter: '{key}'='{value}'")
    if "dangling" in wanted:
        from minidocker.engine.networking import cleanup_stale
        cleanup_stale(ctx.root)  # a crashed container's endpoint connects nothing
    out = []
    for net in network.list_networks(ctx.root):
        doc = network.inspect_network(ctx.root, net.name)
        if all(any(_matches(doc, key, v) for v in values) for key, values in wanted.items()):
            out.append(doc)
    return out


def _matches(doc: dict[str, Any], key: str, value: str) -> bool:
    from minidocker.engine.service.filters import has_label
    from minidocker.network.api import PREDEFINED
    if key == "driver":
        return bool(doc["Driver"] == value)
    if key == "id":
        return str(doc["Id"]).startswith(value)
    if key == "name":
        return value in doc["Name"]
    if key == "type":
        return (doc["Name"] in PREDEFINED) == (value == "builtin")
    if key == "scope":
        return value == "local"
    if key == "dangling":  # Docker's: no container, and never a pre-defined network
        return (not doc.get("Containers") and doc["Name"] not in PREDEFINED) == \
            (value.lower() in ("true", "1"))
    return has_label(doc.get("Labels") or {}, value)


def inspect(ctx: Context, name: str) -> dict[str, Any]:
    """GET /networks/{id}: by name, id or unique id prefix. NotFound."""
    from minidocker import network
    return network.inspect_network(ctx.root, name)


def create(ctx: Context, name: str, *, driver: str = "bridge", subnet: str | None = None,
           gateway: str | None = None, internal: bool = False,
           labels: dict[str, str] | None = None, options: dict[str, str] | None = None,
           ip_range: str | None = None, aux: dict[str, str] | None = None
           ) -> dict[str, str]:
    """POST /networks/create (IPAM: one Subnet/Gateway, its IPRange (where containers'
    addresses are chosen) and AuxiliaryAddresses (addresses never handed out); Options:
    the bridge's name): {"Id", "Warning"}. Conflict if the name exists."""
    from minidocker import network
    if driver not in ("bridge", ""):
        raise UsageError(f"network driver {driver!r} is not supported (only bridge)")
    opts = dict(options or {})
    bridge = opts.pop("com.docker.network.bridge.name", None)
    if opts:
        raise UsageError(f"unsupported option {', '.join(sorted(opts))}")
    from minidocker.engine.networking import net_call
    net = net_call(network.create_network, ctx.root, name, subnet=subnet, gateway=gateway,
                   internal=internal, labels=dict(labels or {}), bridge=bridge,
                   ip_range=ip_range, aux=aux)
    _event(ctx, "create", net.id, net.name)
    return {"Id": net.id, "Warning": ""}


def _event_of(ctx: Context, action: str, ref: str, **more: str) -> None:
    from minidocker import network
    from minidocker.errors import MinidockerError
    try:
        doc = network.inspect_network(ctx.root, ref)
    except MinidockerError:
        return  # removed meanwhile: no event rather than a failed connect
    _event(ctx, action, doc["Id"], doc["Name"], **more)


def _event(ctx: Context, action: str, net_id: str, name: str, **more: str) -> None:
    """A network event as dockerd's: Actor.ID the network's id, its name and type."""
    from minidocker.engine.events import emit_object
    emit_object(ctx.root, "network", action, net_id, **more, name=name, type="bridge")


def create_from_api(ctx: Context, body: dict[str, Any]) -> dict[str, str]:
    """POST /networks/create with Docker's body (Name, Driver, Internal, Labels,
    Options, IPAM: {Config: [{Subnet, Gateway}]})."""
    configs = (body.get("IPAM") or {}).get("Config") or [{}]
    if len(configs) > 1:
        raise UsageError("only one IPAM config (one subnet) per network is supported")
    ipam = configs[0] or {}
    return create(ctx, str(body.get("Name") or ""), driver=str(body.get("Driver") or "bridge"),
                  subnet=ipam.get("Subnet") or None, gateway=ipam.get("Gateway") or None,
                  internal=bool(body.get("Internal")), labels=body.get("Labels") or {},
                  options=body.get("Options") or {}, ip_range=ipam.get("IPRange") or None,
                  aux=ipam.get("AuxiliaryAddresses") or None)


def remove(ctx: Context, name: str) -> None:
    """DELETE /networks/{id}. Conflict while containers use it; the pre-defined bridge
    is never removed."""
    from minidocker import network
    from minidocker.engine.networking import cleanup_stale, net_call
    cleanup_stale(ctx.root)  # endpoints of crashed containers must not keep a network
    doc = network.inspect_network(ctx.root, name)
    net_call(network.remove_network, ctx.root, name)
    _event(ctx, "destroy", doc["Id"], doc["Name"])


def prune(ctx: Context, *, filters: dict[str, list[str]] | None = None) -> PruneReport:
    """POST /networks/prune: every user network no container uses; filters label=,
    label!= and until= as Docker's."""
    from minidocker import network
    from minidocker.engine.networking import cleanup_stale, net_call
    from minidocker.engine.service.filters import check_prune, created_before, labels_match
    from minidocker.engine.service.filters import until as until_filter
    wanted = check_prune(filters or {})
    limit = until_filter(wanted)
    cleanup_stale(ctx.root, full=True)
    ids = {net.name: net.id for net in network.list_networks(ctx.root)}
    removed = net_call(network.prune_networks, ctx.root,
                       lambda net: labels_match(net.labels or {}, wanted) and
                       created_before(net.created, limit))
    for name in removed:
        _event(ctx, "destroy", ids.get(name, ""), name)
    return {"NetworksDeleted": removed}


def connect(ctx: Context, name: str, container: str, *, ip: str | None = None,
            aliases: list[str] | None = None) -> None:
    """POST /networks/{id}/connect: join now if the container runs, and at every start."""
    from minidocker.engine.networking import connect_container
    from minidocker.engine.service.containers import find
    record = find(ctx, container)
    connect_container(record, name, ip=ip, aliases=list(aliases or []))
    _event_of(ctx, "connect", name, container=record.id)


def disconnect(ctx: Context, name: str, container: str, *, force: bool = False) -> None:
    """POST /networks/{id}/disconnect."""
    from minidocker.engine.networking import disconnect_container
    from minidocker.engine.service.containers import find
    record = find(ctx, container)
    disconnect_container(record, name)
    _event_of(ctx, "disconnect", name, container=record.id)
