"""IP address management: subnets, leases and the choice of a free subnet.

Leases live in one JSON file (`ipam.json` in a state dir), changed only under an
exclusive flock and replaced atomically, so concurrent `run`s never hand out one address
twice and a crash never leaves a half-written file.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Iterable

from minidocker.errors import Conflict, NotFound, UsageError
from minidocker.network.model import AddressExhausted
from minidocker.network.statefile import locked, read_json, write_json

# Docker's default address pools: 172.17-31.0.0/16, then 192.168.0.0/16 cut into /20s.
DEFAULT_POOLS: list[tuple[str, int]] = [("172.17.0.0/16", 16), ("172.18.0.0/15", 16),
                                        ("172.20.0.0/14", 16), ("172.24.0.0/13", 16),
                                        ("192.168.0.0/16", 20)]


class Ipam:
    """Subnets and their leases (ip -> owner) persisted in `<state_dir>/ipam.json`."""

    def __init__(self, state_dir: str):
        self.path = os.path.join(state_dir, "ipam.json")
        self.lock_path = os.path.join(state_dir, "ipam.lock")

    # -- reading (no lock needed: the file is only ever replaced atomically) ------------

    def _load(self) -> dict[str, dict]:
        return dict(read_json(self.path, {}).get("subnets", {}))

    def _save(self, subnets: dict[str, dict]) -> None:
        write_json(self.path, {"subnets": subnets})

    def subnets(self) -> list[str]:
        return sorted(self._load())

    def leases(self, subnet: str) -> dict[str, str]:
        """ip -> owner of every lease in `subnet`."""
        return dict(self._load().get(subnet, {}).get("leases", {}))

    # -- changing --------------------------------------------------------------------

    def add_subnet(self, subnet: str, gateway: str) -> None:
        net = ipaddress.IPv4Network(subnet)
        with locked(self.lock_path):
            subnets = self._load()
            if subnet in subnets:
                return
            for other in subnets:
                if net.overlaps(ipaddress.IPv4Network(other)):
                    raise Conflict(f"subnet {subnet} overlaps {other}, which is in use")
            subnets[subnet] = {"gateway": gateway, "leases": {}, "next": 0}
            self._save(subnets)

    def remove_subnet(self, subnet: str) -> None:
        with locked(self.lock_path):
            subnets = self._load()
            entry = subnets.pop(subnet, None)
            if entry is None:
                return
            if entry["leases"]:
                raise Conflict(f"subnet {subnet} still has {len(entry['leases'])} leases")
            self._save(subnets)

    def allocate(self, subnet: str, owner: str, requested: str | None = None, *,
                 ip_range: str = "", reserved: Iterable[str] = ()) -> str:
        """Lease an address of `subnet` to `owner` (the same one again if it has one):
        `requested`, or a free one of `ip_range` (the subnet without it), never one of
        `reserved` (auxiliary addresses).

        Free addresses are handed out round-robin from a cursor, so a just-released
        address is not reused at once (peers may still cache its MAC)."""
        net = ipaddress.IPv4Network(subnet)
        with locked(self.lock_path):
            subnets = self._load()
            entry = subnets.get(subnet)
            if entry is None:
                raise NotFound(f"subnet {subnet} is not managed")
            leases: dict[str, str] = entry["leases"]
            for ip, who in leases.items():
                if who == owner and (requested is None or requested == ip):
                    return ip
            first, last = int(net.network_address) + 1, int(net.broadcast_address) - 1
            if net.prefixlen >= 31:
                first, last = int(net.network_address), int(net.broadcast_address)
            reserved = {entry["gateway"], *reserved}
            if requested is not None:
                ip = _check_requested(requested, net, first, last)
                if ip == entry["gateway"]:
                    raise Conflict(f"address {ip} is the gateway of {subnet}")
                if ip in reserved:
                    raise Conflict(f"address {ip} is an auxiliary address of {subnet}")
                if ip in leases:
                    raise Conflict(f"address {ip} is already in use on {subnet}")
                chosen = ip
            else:
                if ip_range:  # the sub-range, inside the usable addresses
                    pool = ipaddress.IPv4Network(ip_range)
                    first = max(first, int(pool.network_address))
                    last = min(last, int(pool.broadcast_address))
                free = _next_free(first, last, int(entry.get("next", 0)),
                                  set(leases) | reserved)
                if free is None:
                    raise AddressExhausted(f"no free address left in {subnet}")
                chosen = free
                entry["next"] = int(ipaddress.IPv4Address(chosen)) + 1
            leases[chosen] = owner
            self._save(subnets)
            return chosen

    def release(self, subnet: str, owner: str) -> list[str]:
        """Free every lease of `owner` in `subnet`; returns the freed addresses."""
        return self.release_where(lambda s, ip, who: s == subnet and who == owner)

    def release_where(self, doomed: Callable[[str, str, str], bool]) -> list[str]:
        """Free each lease for which doomed(subnet, ip, owner) is true."""
        freed: list[str] = []
        with locked(self.lock_path):
            subnets = self._load()
            for subnet, entry in subnets.items():
                for ip, who in list(entry["leases"].items()):
                    if doomed(subnet, ip, who):
                        del entry["leases"][ip]
                        freed.append(ip)
            if freed:
                self._save(subnets)
        return freed


def _check_requested(requested: str, net: ipaddress.IPv4Network, first: int, last: int) -> str:
    try:
        addr = ipaddress.IPv4Address(requested)
    except ValueError:
        raise UsageError(f"invalid IPv4 address {requested!r}")
    if addr not in net or not first <= int(addr) <= last:
        raise UsageError(f"address {requested} is not a usable address of {net}")
    return str(addr)


def _next_free(first: int, last: int, cursor: int, taken: set[str]) -> str | None:
    if not first <= cursor <= last:
        cursor = first
    size = last - first + 1
    for i in range(size):
        candidate = str(ipaddress.IPv4Address(first + (cursor - first + i) % size))
        if candidate not in taken:
            return candidate
    return None


# -- choosing a subnet ------------------------------------------------------------------

def host_routes(route_file: str = "/proc/net/route") -> list[str]:
    """Destinations of the host's IPv4 routes (main table), except the default route."""
    routes: list[str] = []
    try:
        with open(route_file, encoding="ascii") as f:
            lines = f.read().splitlines()[1:]
    except OSError:
        return routes
    for line in lines:
        fields = line.split()
        if len(fields) < 8:
            continue
        dest = int(fields[1], 16).to_bytes(4, "little")
        mask = int(fields[7], 16).to_bytes(4, "little")
        prefix = bin(int.from_bytes(mask, "big")).count("1")
        if prefix == 0:
            continue  # the default route overlaps everything; it is not a collision
        routes.append(str(ipaddress.IPv4Network((ipaddress.IPv4Address(dest), prefix),
                                                strict=False)))
    return routes


def gateway_of(subnet: str) -> str:
    """The conventional gateway: the first usable address."""
    return str(ipaddress.IPv4Network(subnet).network_address + 1)


def choose_subnet(avoid: Iterable[str], pools: list[tuple[str, int]] | None = None) -> str:
    """The first subnet of the pools that overlaps none of `avoid` (routes, resolvers,
    other networks; single addresses count as /32)."""
    avoided = [ipaddress.IPv4Network(a, strict=False) for a in avoid]
    for pool, size in pools or DEFAULT_POOLS:
        for candidate in ipaddress.IPv4Network(pool).subnets(new_prefix=size):
            if not any(candidate.overlaps(a) for a in avoided):
                return str(candidate)
    raise AddressExhausted("no free subnet left in the address pools",
                           hint="give one with --subnet")


def validate_subnet(subnet: str, gateway: str | None) -> tuple[str, str]:
    """Normalize a user-given --subnet/--gateway pair; gateway defaults to the first host."""
    try:
        net = ipaddress.IPv4Network(subnet, strict=False)
    except ValueError:
        raise UsageError(f"invalid subnet {subnet!r}", hint="use CIDR, e.g. 10.99.0.0/24")
    if str(net) != subnet:
        raise UsageError(f"invalid subnet {subnet!r}: host bits set (did you mean {net}?)")
    if net.prefixlen > 30:
        raise UsageError(f"subnet {subnet} is too small: use at most /30")
    if gateway is None:
        return str(net), gateway_of(str(net))
    try:
        gw = ipaddress.IPv4Address(gateway)
    except ValueError:
        raise UsageError(f"invalid gateway {gateway!r}")
    if gw not in net or gw in (net.network_address, net.broadcast_address):
        raise UsageError(f"gateway {gateway} is not a usable address of {subnet}")
    return str(net), str(gw)


def validate_range(subnet: str, ip_range: str | None, aux: dict[str, str] | None,
                   gateway: str) -> tuple[str, dict[str, str]]:
    """--ip-range and --aux-address checked against their --subnet, with Docker's words:
    (the range normalized or "", name -> address)."""
    net = ipaddress.IPv4Network(subnet)
    pool = ""
    if ip_range:
        try:
            sub = ipaddress.IPv4Network(ip_range, strict=False)
        except ValueError:
            raise UsageError(f"invalid CIDR address: {ip_range}") from None
        if not sub.subnet_of(net):
            raise UsageError(f"no matching subnet for range {ip_range}")
        pool = str(sub)
    out = {}
    for name, text in (aux or {}).items():
        try:
            addr = ipaddress.IPv4Address(text)
        except ValueError:
            raise UsageError(f"invalid aux-address {name}={text}: not an IPv4 "
                             "address") from None
        if addr not in net:
            raise UsageError(f"no matching subnet for aux-address {text}")
        if str(addr) == gateway or addr in (net.network_address, net.broadcast_address):
            raise UsageError(f"aux-address {text} is the gateway or not a usable address "
                             f"of {subnet}")
        out[name] = str(addr)
    return pool, out


def overlaps(a: str, b: str) -> bool:
    return ipaddress.IPv4Network(a, strict=False).overlaps(ipaddress.IPv4Network(b, strict=False))
