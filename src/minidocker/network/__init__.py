"""Bridge networking: networks, IPAM, veths in container namespaces, NAT and published
ports (nftables), hosts/resolv.conf. The engine calls the functions re-exported here.

The names are resolved on first use (PEP 562), so that importing one submodule (link for
a --network none container's lo, store for a lookup) does not import them all."""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from minidocker.network.api import (
        cleanup_stale,
        connect,
        create_network,
        disconnect,
        disconnect_all,
        endpoints_of,
        ensure_network,
        host_gateway,
        inspect_network,
        list_networks,
        prune_networks,
        published_ports,
        remove_network,
        reset,
    )
    from minidocker.network.model import (
        DEFAULT_NETWORK,
        AddressExhausted,
        BridgeUnavailable,
        Endpoint,
        Network,
        PortConflict,
        PortMapping,
    )
    from minidocker.network.ports import PortSpec, parse_port_spec

_MODULES = {
    "api": ("cleanup_stale", "connect", "create_network", "disconnect", "disconnect_all",
            "endpoints_of", "ensure_network", "host_gateway", "inspect_network", "list_networks",
            "prune_networks", "published_ports", "remove_network", "reset"),
    "model": ("DEFAULT_NETWORK", "AddressExhausted", "BridgeUnavailable", "Endpoint",
              "Network", "PortConflict", "PortMapping"),
    "ports": ("PortSpec", "parse_port_spec"),
}
_WHERE = {name: module for module, names in _MODULES.items() for name in names}


def __getattr__(name: str) -> object:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = ["DEFAULT_NETWORK", "AddressExhausted", "BridgeUnavailable", "Endpoint", "Network",
           "PortConflict", "PortMapping", "PortSpec", "cleanup_stale", "connect",
           "create_network", "disconnect", "disconnect_all", "endpoints_of", "ensure_network",
           "host_gateway", "inspect_network", "list_networks", "parse_port_spec", "prune_networks",
           "published_ports", "remove_network", "reset"]
