"""rtnetlink message encoding (no socket needed)."""

from __future__ import annotations

import struct

from minidocker.network import netlink
from minidocker.network.link import mac_for, veth_name


def test_attributes_are_padded_and_parse_back() -> None:
    data = (netlink.attr_str(netlink.IFLA_IFNAME, "eth0") + netlink.attr_u32(netlink.IFLA_MTU, 1400)
            + netlink.nested(netlink.IFLA_LINKINFO,
                             netlink.attr_str(netlink.IFLA_INFO_KIND, "veth")))
    assert len(data) % 4 == 0
    attrs = netlink.parse_attrs(data)
    assert attrs[netlink.IFLA_IFNAME] == b"eth0\0"
    assert struct.unpack("=I", attrs[netlink.IFLA_MTU]) == (1400,)
    info = netlink.parse_attrs(attrs[netlink.IFLA_LINKINFO])  # the NESTED flag is masked
    assert info[netlink.IFLA_INFO_KIND] == b"veth\0"


def test_link_from_attributes() -> None:
    attrs = {netlink.IFLA_IFNAME: b"br0\0", netlink.IFLA_MTU: struct.pack("=I", 1500),
             netlink.IFLA_ADDRESS: bytes([2, 0x42, 0xac, 0x11, 0, 2]),
             netlink.IFLA_MASTER: struct.pack("=I", 7),
             netlink.IFLA_LINKINFO: netlink.attr_str(netlink.IFLA_INFO_KIND, "bridge")}
    link = netlink.Link(3, 1, attrs)
    assert (link.index, link.name, link.mtu, link.master, link.kind) == (3, "br0", 1500, 7,
                                                                         "bridge")
    assert link.mac == "02:42:ac:11:00:02"


def test_names_and_macs() -> None:
    assert mac_for("172.17.0.2") == "02:42:ac:11:00:02"
    name = veth_name("a" * 64, "b" * 64)
    assert name.startswith("md") and len(name) <= 15
    assert name == veth_name("a" * 64, "b" * 64) != veth_name("a" * 64, "c" * 64)
