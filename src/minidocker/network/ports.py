"""Docker's -p syntax, `[ip:][hostPort:]containerPort[/proto]` with ranges, and the choice
of free host ports."""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterable
from typing import NamedTuple

from minidocker.errors import UsageError
from minidocker.network.model import PortConflict, PortMapping

PROTOS = ("tcp", "udp")


class PortSpec(NamedTuple):
    """One container port to publish; host_ports is an inclusive range, None = random."""

    host_ip: str
    host_ports: tuple[int, int] | None
    container_port: int
    proto: str = "tcp"


def parse_port_spec(text: str) -> list[PortSpec]:
    """Parse one -p value; a range maps one-to-one (8000-8001:80-81), or a host range to a
    single container port (8000-8010:80, the first free port of the range is taken)."""
    spec, _, proto = text.partition("/")
    proto = proto.lower() or "tcp"
    if proto not in PROTOS:
        raise UsageError(f"invalid port spec {text!r}: protocol must be tcp or udp")
    if spec.startswith("["):
        raise UsageError(f"invalid port spec {text!r}: IPv6 host addresses are not supported")
    parts = spec.split(":")
    if len(parts) > 3 or not parts[-1]:
        raise UsageError(f"invalid port spec {text!r}",
                         hint="use [ip:][hostPort:]containerPort[/tcp|udp]")
    host_ip = parts[0] if len(parts) == 3 else ""
    host = parts[-2] if len(parts) >= 2 else ""
    host_ip = _parse_ip(host_ip, text) if host_ip else "0.0.0.0"
    cfirst, clast = _parse_range(parts[-1], text)
    if not host:
        return [PortSpec(host_ip, None, p, proto) for p in range(cfirst, clast + 1)]
    hfirst, hlast = _parse_range(host, text)
    if cfirst == clast:
        return [PortSpec(host_ip, (hfirst, hlast), cfirst, proto)]
    if hlast - hfirst != clast - cfirst:
        raise UsageError(f"invalid port spec {text!r}: host and container ranges differ in size")
    return [PortSpec(host_ip, (hfirst + i, hfirst + i), cfirst + i, proto)
            for i in range(clast - cfirst + 1)]


def _parse_ip(text: str, spec: str) -> str:
    try:
        return socket.inet_ntoa(socket.inet_aton(text)) if text.count(".") == 3 else _bad(spec)
    except OSError:
        return _bad(spec)


def _bad(spec: str) -> str:
    raise UsageError(f"invalid port spec {spec!r}: bad host IP address")


def _parse_range(text: str, spec: str) -> tuple[int, int]:
    first_s, _, last_s = text.partition("-")
    try:
        first = int(first_s)
        last = int(last_s) if last_s else first
    except ValueError:
        raise UsageError(f"invalid port spec {spec!r}: {text!r} is not a port or range")
    if not 1 <= first <= last <= 65535:
        raise UsageError(f"invalid port spec {spec!r}: ports must be 1-65535, low to high")
    return first, last


def _overlaps(a: PortMapping, host_ip: str, port: int, proto: str) -> bool:
    return (a.proto == proto and a.host_port == port
            and (a.host_ip == host_ip or "0.0.0.0" in (a.host_ip, host_ip)))


def port_is_free(host_ip: str, port: int, proto: str) -> bool:
    """Whether a host process could bind the port (a listener there would be shadowed)."""
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as s:
        if proto == "tcp":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # ignore TIME_WAIT
        try:
            s.bind((host_ip, port))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                return False
            if e.errno == errno.EADDRNOTAVAIL:
                raise UsageError(f"cannot publish on {host_ip}: not an address of this host")
            raise
    return True


def _random_port(host_ip: str, proto: str) -> int:
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as s:
        try:
            s.bind((host_ip, 0))
        except OSError as e:
            if e.errno == errno.EADDRNOTAVAIL:
                raise UsageError(f"cannot publish on {host_ip}: not an address of this host")
            raise
        return int(s.getsockname()[1])


def resolve_ports(specs: Iterable[PortSpec], published: Iterable[PortMapping]) -> list[PortMapping]:
    """Choose the host port of each spec: given ones must be free, random ones are taken
    from the kernel's ephemeral range; none may clash with what is already published."""
    taken = list(published)
    result: list[PortMapping] = []
    for spec in specs:
        chosen = None
        if spec.host_ports is None:
            for _ in range(100):
                port = _random_port(spec.host_ip, spec.proto)
                if not any(_overlaps(t, spec.host_ip, port, spec.proto) for t in taken):
                    chosen = port
                    break
        else:
            first, last = spec.host_ports
            for port in range(first, last + 1):
                if any(_overlaps(t, spec.host_ip, port, spec.proto) for t in taken):
                    continue
                if port_is_free(spec.host_ip, port, spec.proto):
                    chosen = port
                    break
        if chosen is None:
            where = (f"{spec.host_ip}:{spec.host_ports[0]}" if spec.host_ports
                     and spec.host_ports[0] == spec.host_ports[1] else
                     f"{spec.host_ip}:{spec.host_ports}" if spec.host_ports else spec.host_ip)
            raise PortConflict(f"cannot publish {spec.container_port}/{spec.proto}: "
                               f"host port {where} is already in use")
        mapping = PortMapping(spec.host_ip, chosen, spec.container_port, spec.proto)
        taken.append(mapping)
        result.append(mapping)
    return result
