"""A minimal rtnetlink client (stdlib socket + struct): links, addresses, routes.

Direct netlink costs well under a millisecond per operation where each `ip` process
costs ~2 ms, and pyroute2 costs ~100 ms of import (docs/networking.md has the numbers).
Only what the bridge driver needs is here; every kernel error becomes
OSError(errno, "<operation> <object>: <strerror>").
"""

from __future__ import annotations

import _socket as socket  # the socket module's enums cost 2 ms of import
import os
import struct

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

NETLINK_ROUTE = 0
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK = 0x1, 0x2, 0x4
NLM_F_DUMP, NLM_F_EXCL, NLM_F_CREATE = 0x300, 0x200, 0x400
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK, RTM_SETLINK = 16, 17, 18, 19
RTM_NEWADDR, RTM_GETADDR, RTM_NEWROUTE, RTM_GETROUTE = 20, 22, 24, 26
IFF_UP = 0x1
IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_MASTER, IFLA_LINKINFO = 1, 3, 4, 10, 18
IFLA_NET_NS_FD = 28
IFLA_INFO_KIND, IFLA_INFO_DATA = 1, 2
VETH_INFO_PEER = 1
IFA_ADDRESS, IFA_LOCAL, IFA_BROADCAST = 1, 2, 4
RTA_DST, RTA_GATEWAY, RTA_OIF, RTA_PREFSRC, RTA_TABLE = 1, 5, 4, 7, 15
RT_TABLE_MAIN, RTPROT_BOOT, RTN_UNICAST = 254, 3, 1
RT_SCOPE_UNIVERSE = 0
NLA_F_NESTED = 0x8000

_HDR = struct.Struct("=IHHII")
_IFINFO = struct.Struct("=BxHiII")
_IFADDR = struct.Struct("=BBBBI")
_RTMSG = struct.Struct("=BBBBBBBBI")
_NAMES = {RTM_NEWLINK: "create link", RTM_DELLINK: "delete link", RTM_GETLINK: "get link",
          RTM_SETLINK: "set link", RTM_NEWADDR: "add address", RTM_NEWROUTE: "add route"}


def attr(kind: int, payload: bytes) -> bytes:
    size = 4 + len(payload)
    return struct.pack("=HH", size, kind) + payload + b"\0" * (-size % 4)


def attr_str(kind: int, text: str) -> bytes:
    return attr(kind, text.encode() + b"\0")


def attr_u32(kind: int, value: int) -> bytes:
    return attr(kind, struct.pack("=I", value))


def nested(kind: int, *attrs: bytes) -> bytes:
    return attr(kind | NLA_F_NESTED, b"".join(attrs))


def parse_attrs(data: bytes) -> dict[int, bytes]:
    attrs: dict[int, bytes] = {}
    pos = 0
    while pos + 4 <= len(data):
        size, kind = struct.unpack_from("=HH", data, pos)
        if size < 4:
            break
        attrs[kind & 0x3FFF] = data[pos + 4:pos + size]
        pos += (size + 3) & ~3
    return attrs


def ifinfo(index: int = 0, flags: int = 0, change: int = 0) -> bytes:
    return _IFINFO.pack(socket.AF_UNSPEC, 0, index, flags, change)


def mac_bytes(mac: str) -> bytes:
    return bytes(int(part, 16) for part in mac.split(":"))


def mac_str(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


class Link:
    """What a GETLINK answer tells: index, name, mtu, mac, master index, flags, kind."""

    def __init__(self, index: int, flags: int, attrs: dict[int, bytes]):
        self.index = index
        self.flags = flags
        self.name = attrs.get(IFLA_IFNAME, b"").rstrip(b"\0").decode()
        self.mtu = struct.unpack("=I", attrs[IFLA_MTU])[0] if IFLA_MTU in attrs else 0
        self.mac = mac_str(attrs.get(IFLA_ADDRESS, b""))
        self.master = struct.unpack("=I", attrs[IFLA_MASTER])[0] if IFLA_MASTER in attrs else 0
        info = parse_attrs(attrs.get(IFLA_LINKINFO, b""))
        self.kind = info.get(IFLA_INFO_KIND, b"").rstrip(b"\0").decode()


class Netlink:
    """One NETLINK_ROUTE socket, bound to the network namespace it was opened in."""

    def __init__(self, netns: str | None = None):
        self.seq = 0
        if netns is None:
            self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC,
                                      NETLINK_ROUTE)
        else:
            with in_netns(netns):
                self.sock = socket.socket(socket.AF_NETLINK,
                                          socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE)
        self.sock.bind((0, 0))

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Netlink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, kind: int, body: bytes, flags: int = 0, what: str = "") -> list[bytes]:
        """Send one message and collect the answers until the ACK (or the end of a dump)."""
        self.seq += 1
        seq = self.seq
        flags |= NLM_F_REQUEST | NLM_F_ACK
        self.sock.send(_HDR.pack(_HDR.size + len(body), kind, flags, seq, 0) + body)
        answers: list[bytes] = []
        while True:
            data = self.sock.recv(65536)
            pos = 0
            while pos + _HDR.size <= len(data):
                size, mtype, _mflags, mseq, _ = _HDR.unpack_from(data, pos)
                payload = data[pos + _HDR.size:pos + size]
                pos += (size + 3) & ~3
                if mseq != seq:
                    continue
                if mtype == NLMSG_ERROR:
                    err = -struct.unpack_from("=i", payload)[0]
                    if err:
                        name = f"{_NAMES.get(kind, kind)} {what}".strip()
                        raise OSError(err, f"{name}: {os.strerror(err)}")
                    return answers
                if mtype == NLMSG_DONE:
                    return answers
                answers.append(payload)

    # -- links -----------------------------------------------------------------------

    def get_link(self, name: str) -> Link | None:
        try:
            answers = self.request(RTM_GETLINK, ifinfo() + attr_str(IFLA_IFNAME, name),
                                   what=name)
        except OSError as e:
            if e.errno == 19:  # ENODEV
                return None
            raise
        return _link(answers[0]) if answers else None

    def links(self) -> list[Link]:
        return [_link(a) for a in self.request(RTM_GETLINK, ifinfo(), NLM_F_DUMP)]

    def create_bridge(self, name: str) -> None:
        body = ifinfo() + attr_str(IFLA_IFNAME, name) + nested(
            IFLA_LINKINFO, attr_str(IFLA_INFO_KIND, "bridge"))
        self.request(RTM_NEWLINK, body, NLM_F_CREATE | NLM_F_EXCL, what=f"bridge {name}")

    def create_veth(self, name: str, peer: str, *, peer_netns_fd: int, master: int, mtu: int,
                    peer_mac: str | None = None) -> None:
        """A veth pair: `name` here, up and enslaved to `master`; `peer` (down) created
        directly inside the namespace of `peer_netns_fd` (no rename, no move)."""
        peer_attrs = attr_str(IFLA_IFNAME, peer) + attr_u32(IFLA_NET_NS_FD, peer_netns_fd)
        if mtu:
            peer_attrs += attr_u32(IFLA_MTU, mtu)
        if peer_mac:
            peer_attrs += attr(IFLA_ADDRESS, mac_bytes(peer_mac))
        info = nested(IFLA_LINKINFO, attr_str(IFLA_INFO_KIND, "veth"),
                      nested(IFLA_INFO_DATA,
                             attr(VETH_INFO_PEER, ifinfo() + peer_attrs)))
        body = ifinfo(0, IFF_UP, IFF_UP) + attr_str(IFLA_IFNAME, name) + info
        if mtu:
            body += attr_u32(IFLA_MTU, mtu)
        if master:
            body += attr_u32(IFLA_MASTER, master)
        self.request(RTM_NEWLINK, body, NLM_F_CREATE | NLM_F_EXCL, what=f"veth {name}")

    def set_up(self, index: int, what: str = "") -> None:
        self.request(RTM_NEWLINK, ifinfo(index, IFF_UP, IFF_UP), what=what)

    def delete_link(self, name: str) -> bool:
        """Delete a link by name; False if it did not exist."""
        try:
            self.request(RTM_DELLINK, ifinfo() + attr_str(IFLA_IFNAME, name), what=name)
        except OSError as e:
            if e.errno == 19:
                return False
            raise
        return True

    # -- addresses and routes ---------------------------------------------------------

    def routes(self) -> list[str]:
        """Destinations (CIDR) of every IPv4 route of every table, except default routes."""
        body = _RTMSG.pack(socket.AF_INET, 0, 0, 0, 0, 0, 0, 0, 0)
        result = []
        for payload in self.request(RTM_GETROUTE, body, NLM_F_DUMP):
            dst_len = payload[1]
            dst = parse_attrs(payload[_RTMSG.size:]).get(RTA_DST)
            if dst_len and dst:
                result.append(f"{socket.inet_ntoa(dst)}/{dst_len}")
        return result

    def addresses(self) -> list[tuple[int, str, int]]:
        """Every IPv4 and IPv6 address: (interface index, address, prefix length)."""
        out = []
        for payload in self.request(RTM_GETADDR, _IFADDR.pack(socket.AF_UNSPEC, 0, 0, 0, 0),
                                    NLM_F_DUMP):
            family, prefixlen, _flags, _scope, index = _IFADDR.unpack_from(payload)
            attrs = parse_attrs(payload[_IFADDR.size:])
            raw = attrs.get(IFA_LOCAL) or attrs.get(IFA_ADDRESS)
            if raw and family in (socket.AF_INET, socket.AF_INET6):
                out.append((index, socket.inet_ntop(family, raw), prefixlen))
        return out

    def route_table(self, family: int = socket.AF_INET) -> list[dict[str, Any]]:
        """Every route of the main table: dst ("default" or CIDR), gateway, oif (index),
        prefsrc, scope (the kernel's number)."""
        out = []
        body = _RTMSG.pack(family, 0, 0, 0, 0, 0, 0, 0, 0)
        for payload in self.request(RTM_GETROUTE, body, NLM_F_DUMP):
            _fam, dst_len, _src, _tos, table, _proto, scope, _kind, _flags = \
                _RTMSG.unpack_from(payload)
            attrs = parse_attrs(payload[_RTMSG.size:])
            if RTA_TABLE in attrs:
                table = struct.unpack("=I", attrs[RTA_TABLE])[0]
            if table != RT_TABLE_MAIN:
                continue
            dst = attrs.get(RTA_DST)
            out.append({
                "dst": f"{socket.inet_ntop(family, dst)}/{dst_len}" if dst else "default",
                "gateway": socket.inet_ntop(family, attrs[RTA_GATEWAY])
                if RTA_GATEWAY in attrs else None,
                "oif": struct.unpack("=I", attrs[RTA_OIF])[0] if RTA_OIF in attrs else 0,
                "prefsrc": socket.inet_ntop(family, attrs[RTA_PREFSRC])
                if RTA_PREFSRC in attrs else None,
                "scope": scope})
        return out

    def add_address(self, index: int, ip: str, prefixlen: int, what: str = "") -> None:
        raw = socket.inet_aton(ip)
        host = int.from_bytes(raw, "big")
        bcast = (host | ((1 << (32 - prefixlen)) - 1)).to_bytes(4, "big")
        body = _IFADDR.pack(socket.AF_INET, prefixlen, 0, RT_SCOPE_UNIVERSE, index)
        body += attr(IFA_LOCAL, raw) + attr(IFA_ADDRESS, raw)
        if prefixlen < 31:
            body += attr(IFA_BROADCAST, bcast)
        try:
            self.request(RTM_NEWADDR, body, NLM_F_CREATE | NLM_F_EXCL, what=what or ip)
        except OSError as e:
            if e.errno != 17:  # EEXIST: already there
                raise

    def add_default_route(self, gateway: str, index: int) -> None:
        body = _RTMSG.pack(socket.AF_INET, 0, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT,
                           RT_SCOPE_UNIVERSE, RTN_UNICAST, 0)
        body += attr(RTA_GATEWAY, socket.inet_aton(gateway)) + attr_u32(RTA_OIF, index)
        self.request(RTM_NEWROUTE, body, NLM_F_CREATE | NLM_F_EXCL, what=f"default via {gateway}")


def _link(payload: bytes) -> Link:
    _family, _type, index, flags, _change = _IFINFO.unpack_from(payload)
    return Link(index, flags, parse_attrs(payload[_IFINFO.size:]))


def in_netns(path: str) -> _InNetns:
    """Run the block with this thread in the network namespace at `path` (sockets made in
    it stay bound to that namespace after the thread returns)."""
    return _InNetns(path)


class _InNetns:
    """in_netns's context manager (a class: contextlib costs 2 ms of import on the run
    path of a --network none container)."""

    def __init__(self, path: str):
        self.path = path
        self.own = -1

    def __enter__(self) -> None:
        from minidocker.linux import libc  # ctypes: only paid by callers that enter a netns

        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            target = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                libc.setns(target, libc.CLONE_NEWNET, self.path)
            finally:
                os.close(target)
        except BaseException:
            os.close(own)
            raise
        self.own = own

    def __exit__(self, *exc: object) -> None:
        from minidocker.linux import libc
        try:
            libc.setns(self.own, libc.CLONE_NEWNET, "back")
        finally:
            os.close(self.own)
