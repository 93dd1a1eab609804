"""Bridge and veth plumbing over rtnetlink: the host side of a bridge network and a
container's interface inside its network namespace."""

from __future__ import annotations

import errno
import os
import zlib
from collections.abc import Callable

import minidocker
from minidocker.errors import Conflict
from minidocker.linux import userns
from minidocker.network.model import BridgeUnavailable
from minidocker.network.netlink import IFF_UP, IFLA_MTU, RTM_NEWLINK, Netlink, attr_u32, ifinfo

# the kernel says this when it cannot make a bridge or veth at all: fall back, don't fail
_UNAVAILABLE = {errno.EPERM, errno.EACCES, errno.EOPNOTSUPP, errno.EAFNOSUPPORT,
                errno.EPROTONOSUPPORT, errno.ENOSYS}


def veth_name(network_id: str, container_id: str) -> str:
    """The host end's name: stable, so a crashed setup can be found and removed."""
    # crc32 rather than hashlib: hashlib costs 2 ms of import on the run path
    return f"md{zlib.crc32(container_id.encode()):08x}{zlib.crc32(network_id.encode()):08x}"[:13]


def mac_for(ip: str) -> str:
    """Docker's scheme: 02:42 then the four bytes of the IPv4 address."""
    return "02:42:" + ":".join(f"{int(b):02x}" for b in ip.split("."))


def _sysctl(path: str, value: str) -> None:
    with open(path, "w", encoding="ascii") as f:
        f.write(value)


def ensure_bridge(name: str, gateway: str, prefixlen: int, mtu: int = 0,
                  before_up: Callable[[], None] | None = None) -> tuple[int, bool]:
    """Create (or find) bridge `name` holding the gateway address, up, and with
    route_localnet so DNAT from 127.0.0.1 can leave through it. Returns (mtu, created).

    Bringing it up is the last step: `before_up` (the nft rules) runs first, whenever the
    bridge is down, so a process killed half-way leaves a bridge that is down (the next
    call completes it, rules included), never one that is up without its rules."""
    try:
        with Netlink() as nl:
            link = nl.get_link(name)
            created = False
            if link is None:
                try:
                    nl.create_bridge(name)
                    created = True
                except OSError as e:
                    if e.errno != errno.EEXIST:  # a concurrent run made it first
                        raise
                link = nl.get_link(name)
                if link is None:
                    raise OSError(errno.ENODEV, f"bridge {name} vanished")
            elif link.kind != "bridge":
                raise Conflict(f"network interface {name} exists and is not a bridge")
            try:
                down = not link.flags & IFF_UP
                if mtu and link.mtu != mtu and down:
                    nl.request(RTM_NEWLINK, _mtu_body(link.index, mtu), what=f"mtu of {name}")
                    link.mtu = mtu
                nl.add_address(link.index, gateway, prefixlen, what=f"{gateway} on {name}")
                if down:
                    if before_up is not None:
                        before_up()
                    nl.set_up(link.index, what=name)
                _sysctl(f"/proc/sys/net/ipv4/conf/{name}/route_localnet", "1")
            except BaseException:
                if created:  # half a bridge is worse than none
                    nl.delete_link(name)
                raise
            if minidocker.TRACE:
                minidocker.TRACE.step("network", "bridge", name=name, created=created,
                                      address=f"{gateway}/{prefixlen}", mtu=link.mtu,
                                      route_localnet=1)
    except OSError as e:
        if e.errno in _UNAVAILABLE:
            raise BridgeUnavailable(f"cannot create bridge {name}: {os.strerror(e.errno)}")
        raise
    return link.mtu, created


def _mtu_body(index: int, mtu: int) -> bytes:
    return ifinfo(index) + attr_u32(IFLA_MTU, mtu)


def delete_bridge(name: str) -> bool:
    with Netlink() as nl:
        return nl.delete_link(name)


def attach(netns: str, bridge: str, veth: str, ifname: str, ip: str, prefixlen: int,
           gateway: str | None, mac: str, mtu: int = 0) -> None:
    """Plug a container into `bridge`: a veth pair with `veth` on the bridge and `ifname`
    created directly in the namespace at `netns` (e.g. /proc/PID/ns/net), given the
    address, MTU, MAC and (when `gateway`) the default route; lo is brought up too.
    On failure nothing is left: removing the host end removes the pair."""
    try:
        with Netlink() as nl:
            br = nl.get_link(bridge)
            if br is None:
                raise OSError(errno.ENODEV, f"bridge {bridge}: no such device")
            fd = os.open(netns, os.O_RDONLY | os.O_CLOEXEC)
            try:
                try:
                    nl.create_veth(veth, ifname, peer_netns_fd=fd, master=br.index,
                                   mtu=mtu or br.mtu, peer_mac=mac)
                except FileExistsError:
                    # the name is this container's on this network: a leftover of its
                    # previous run whose deletion (in the background) has not finished
                    nl.delete_link(veth)
                    nl.create_veth(veth, ifname, peer_netns_fd=fd, master=br.index,
                                   mtu=mtu or br.mtu, peer_mac=mac)
            finally:
                os.close(fd)
            if minidocker.TRACE:
                minidocker.TRACE.step("network", "veth pair", host_end=veth, bridge=bridge,
                                      container_end=ifname, netns=netns, mac=mac,
                                      mtu=mtu or br.mtu)
            try:
                # hairpin: with br_netfilter, a container's packet to its own published
                # port is DNATed back out of the port it came in by; allow that. (Not in
                # the rootless network namespace: no DNAT there, and /sys shows the host's)
                if userns.in_initial():
                    _sysctl(f"/sys/class/net/{veth}/brport/hairpin_mode", "1")
                with Netlink(netns) as inner:
                    lo = inner.get_link("lo")
                    if lo is not None and not lo.flags & IFF_UP:
                        inner.set_up(lo.index, what="lo")
                    eth = inner.get_link(ifname)
                    if eth is None:
                        raise OSError(errno.ENODEV, f"{ifname} missing in {netns}")
                    inner.add_address(eth.index, ip, prefixlen, what=f"{ip} on {ifname}")
                    inner.set_up(eth.index, what=ifname)
                    if minidocker.TRACE:
                        minidocker.TRACE.step("network", "address", interface=ifname,
                                              address=f"{ip}/{prefixlen}", up=True,
                                              loopback_up=lo is not None)
                    if gateway:
                        inner.add_default_route(gateway, eth.index)
                        if minidocker.TRACE:
                            minidocker.TRACE.step("network", "route", destination="default",
                                                  via=gateway, interface=ifname)
            except BaseException:
                nl.delete_link(veth)
                raise
    except OSError as e:
        if e.errno in _UNAVAILABLE:
            raise BridgeUnavailable(f"cannot create veth {veth}: {os.strerror(e.errno)}")
        raise


def add_default_route_in(netns: str, gateway: str, ifname: str) -> None:
    """A default route via `gateway` on `ifname` in the namespace at `netns`;
    FileExistsError when it has a default route already."""
    with Netlink(netns) as inner:
        eth = inner.get_link(ifname)
        if eth is None:
            raise OSError(errno.ENODEV, f"{ifname} missing in {netns}")
        inner.add_default_route(gateway, eth.index)


def loopback_up(netns: str) -> None:
    """Bring up lo in the namespace at `netns` (a --network none container: Docker's has
    127.0.0.1)."""
    with Netlink(netns) as inner:
        lo = inner.get_link("lo")
        if lo is not None and not lo.flags & IFF_UP:
            inner.set_up(lo.index, what="lo")
    if minidocker.TRACE:
        minidocker.TRACE.step("network", "loopback up", netns=netns)


def detach(veth: str) -> bool:
    """Delete the host end of a container's veth (its peer goes with it)."""
    with Netlink() as nl:
        return nl.delete_link(veth)


def ports_of(bridges: set[str]) -> dict[str, str]:
    """veth name -> bridge name, for every interface enslaved to one of `bridges`."""
    with Netlink() as nl:
        links = nl.links()
    index_to_name = {lk.index: lk.name for lk in links if lk.name in bridges}
    return {lk.name: index_to_name[lk.master] for lk in links if lk.master in index_to_name}


def is_bridge(name: str) -> bool:
    with Netlink() as nl:
        found = nl.get_link(name)
    return found is not None and found.kind == "bridge"


def existing(names: set[str]) -> set[str]:
    """Which of `names` are links of this namespace."""
    with Netlink() as nl:
        return {lk.name for lk in nl.links() if lk.name in names}


def host_routes() -> list[str]:
    """Destinations of the host's IPv4 routes in all tables (policy routing, VPNs and the
    local table included), without default routes."""
    with Netlink() as nl:
        return nl.routes()
