"""Records of the network package (networks, endpoints, published ports) and its errors."""

from __future__ import annotations

from minidocker.errors import Conflict, MinidockerError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DEFAULT_NETWORK = "bridge"
DEFAULT_BRIDGE = "minidocker0"


class BridgeUnavailable(MinidockerError):
    """The kernel refused a bridge or veth (no support, no permission). The engine may fall
    back to host networking with a warning; `reason` is one line saying why."""

    def __init__(self, reason: str):
        super().__init__(f"bridge networking unavailable: {reason}",
                         hint="use --network host, or run as root on a kernel with bridge "
                              "and veth support")
        self.reason = reason


class AddressExhausted(Conflict):
    """No free address left in a subnet."""


class PortConflict(Conflict):
    """A host port is already published or in use."""


class _Record:
    """Equality, repr and dict form from `_fields` (dataclasses would cost 7 ms of import
    on the `run` path: it imports inspect)."""

    _fields: tuple[str, ...] = ()

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f) for f in self._fields)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Record) and type(other) is type(self) and \
            self._values() == other._values()

    def __repr__(self) -> str:
        args = ", ".join(f"{f}={getattr(self, f)!r}" for f in self._fields)
        return f"{type(self).__name__}({args})"

    def to_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self._fields}


class PortMapping(_Record):
    """One published port: host_ip:host_port -> container_port, per protocol."""

    _fields = ("host_ip", "host_port", "container_port", "proto")
    __slots__ = _fields

    def __init__(self, host_ip: str, host_port: int, container_port: int, proto: str = "tcp"):
        self.host_ip = host_ip  # "0.0.0.0" means every local address
        self.host_port = host_port
        self.container_port = container_port
        self.proto = proto

    def __hash__(self) -> int:
        return hash(self._values())

    def __str__(self) -> str:
        return f"{self.container_port}/{self.proto} -> {self.host_ip}:{self.host_port}"

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PortMapping:
        return cls(d["host_ip"], int(d["host_port"]), int(d["container_port"]), d["proto"])


class Network(_Record):
    _fields = ("name", "id", "subnet", "gateway", "bridge", "driver", "internal", "mtu",
               "labels", "created", "ip_range", "aux")

    def __init__(self, name: str, id: str, subnet: str, gateway: str, bridge: str,
                 driver: str = "bridge", internal: bool = False, mtu: int = 0,
                 labels: dict[str, str] | None = None, created: str = "",
                 ip_range: str = "", aux: dict[str, str] | None = None):
        self.name = name
        self.id = id
        self.subnet = subnet
        self.gateway = gateway
        self.bridge = bridge
        self.driver = driver
        self.internal = internal
        self.mtu = mtu  # 0: the kernel's default (1500)
        self.labels: dict[str, str] = dict(labels or {})
        self.created = created
        self.ip_range = ip_range  # --ip-range: where addresses are handed out ("": all)
        self.aux: dict[str, str] = dict(aux or {})  # --aux-address: name -> reserved IP

    __hash__ = None  # type: ignore[assignment]

    @property
    def is_default(self) -> bool:
        return self.name == DEFAULT_NETWORK

    @property
    def prefixlen(self) -> int:
        return int(self.subnet.split("/")[1])

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d["labels"] = dict(self.labels)
        d["aux"] = dict(self.aux)
        if not self.ip_range and not self.aux:  # as records were before these options
            del d["ip_range"], d["aux"]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Network:
        return cls(**{k: v for k, v in d.items() if k in cls._fields})


class Endpoint(_Record):
    """A container's attachment to a network, returned by connect() and persisted."""

    _fields = ("network", "container_id", "ip", "prefixlen", "gateway", "mac", "veth",
               "ifname", "name", "aliases", "ports", "hostname", "extra_hosts", "hosts_path")

    def __init__(self, network: str, container_id: str, ip: str, prefixlen: int, gateway: str,
                 mac: str, veth: str, ifname: str = "eth0", name: str = "",
                 aliases: list[str] | None = None, ports: list[PortMapping] | None = None,
                 hostname: str = "", extra_hosts: list[str] | None = None,
                 hosts_path: str | None = None):
        self.network = network
        self.container_id = container_id
        self.ip = ip
        self.prefixlen = prefixlen
        self.gateway = gateway
        self.mac = mac
        self.veth = veth  # host end; the container end is eth0 (ethN for further networks)
        self.ifname = ifname
        self.name = name
        self.aliases: list[str] = list(aliases or [])
        self.ports: list[PortMapping] = list(ports or [])
        self.hostname = hostname
        self.extra_hosts: list[str] = list(extra_hosts or [])
        self.hosts_path = hosts_path

    __hash__ = None  # type: ignore[assignment]

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d["aliases"] = list(self.aliases)
        d["extra_hosts"] = list(self.extra_hosts)
        d["ports"] = [p.to_dict() for p in self.ports]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Endpoint:
        values = {k: v for k, v in d.items() if k in cls._fields}
        values["ports"] = [PortMapping.from_dict(p) for p in d.get("ports", [])]
        return cls(**values)
