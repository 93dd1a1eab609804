"""Bridge networking: networks, IPAM, veths in container namespaces, NAT and published
ports (nftables), hosts/resolv.conf. The engine calls the functions re-exported here."""

from minidocker.network.api import (
    cleanup_stale,
    connect,
    create_network,
    disconnect,
    disconnect_all,
    endpoints_of,
    ensure_network,
    inspect_network,
    list_networks,
    prune_networks,
    published_ports,
    remove_network,
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

TYPE_CHECKING = False
if TYPE_CHECKING:
    from minidocker.network.ports import PortSpec, parse_port_spec


def __getattr__(name: str) -> object:
    """PortSpec and parse_port_spec on first use: `run` without -p never imports ports."""
    if name in ("PortSpec", "parse_port_spec"):
        from minidocker.network import ports
        return getattr(ports, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = ["DEFAULT_NETWORK", "AddressExhausted", "BridgeUnavailable", "Endpoint", "Network",
           "PortConflict", "PortMapping", "PortSpec", "cleanup_stale", "connect",
           "create_network", "disconnect", "disconnect_all", "endpoints_of", "ensure_network",
           "inspect_network", "list_networks", "parse_port_spec", "prune_networks",
           "published_ports", "remove_network"]
