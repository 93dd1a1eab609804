"""Records of the network package (networks, endpoints, published ports) and its errors."""

from __future__ import annotations

import dataclasses
from typing import Any

from minidocker.errors import Conflict, MinidockerError

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


@dataclasses.dataclass(frozen=True)
class PortMapping:
    """One published port: host_ip:host_port -> container_port, per protocol."""

    host_ip: str  # "0.0.0.0" means every local address
    host_port: int
    container_port: int
    proto: str = "tcp"

    def __str__(self) -> str:
        return f"{self.container_port}/{self.proto} -> {self.host_ip}:{self.host_port}"

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PortMapping:
        return cls(d["host_ip"], int(d["host_port"]), int(d["container_port"]), d["proto"])


@dataclasses.dataclass
class Network:
    name: str
    id: str
    subnet: str
    gateway: str
    bridge: str
    driver: str = "bridge"
    internal: bool = False
    mtu: int = 0  # 0: the kernel's default (1500)
    labels: dict[str, str] = dataclasses.field(default_factory=dict)
    created: str = ""

    @property
    def is_default(self) -> bool:
        return self.name == DEFAULT_NETWORK

    @property
    def prefixlen(self) -> int:
        return int(self.subnet.split("/")[1])

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Network:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclasses.dataclass
class Endpoint:
    """A container's attachment to a network, returned by connect() and persisted."""

    network: str
    container_id: str
    ip: str
    prefixlen: int
    gateway: str
    mac: str
    veth: str  # host end; the container end is eth0 (ethN for further networks)
    ifname: str = "eth0"
    name: str = ""
    aliases: list[str] = dataclasses.field(default_factory=list)
    ports: list[PortMapping] = dataclasses.field(default_factory=list)
    hostname: str = ""
    extra_hosts: list[str] = dataclasses.field(default_factory=list)
    hosts_path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["ports"] = [dataclasses.asdict(p) for p in self.ports]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Endpoint:
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in d.items() if k in names}
        values["ports"] = [PortMapping.from_dict(p) for p in d.get("ports", [])]
        return cls(**values)
