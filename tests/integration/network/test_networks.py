"""User networks: isolation from each other, --internal, outbound NAT, and removal."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from minidocker import network
from minidocker.errors import Conflict
from tests.integration.network.conftest import FakeContainer, NetEnv, run


def test_networks_are_isolated_from_each_other(netenv: NetEnv) -> None:
    network.create_network(netenv.root, "front", bridge=netenv.bridge_name("f"))
    network.create_network(netenv.root, "back", bridge=netenv.bridge_name("k"))
    a1, a2, b1 = netenv.container(), netenv.container(), netenv.container()
    ea1 = network.connect(netenv.root, "front", a1.id, a1.path)
    ea2 = network.connect(netenv.root, "front", a2.id, a2.path)
    eb1 = network.connect(netenv.root, "back", b1.id, b1.path)
    assert ea1.gateway != eb1.gateway
    assert a1.ping(ea2.ip)
    assert a1.cannot_reach(eb1.ip)
    assert b1.cannot_reach(ea1.ip)


def test_published_port_reachable_from_another_network(netenv: NetEnv) -> None:
    network.create_network(netenv.root, "front", bridge=netenv.bridge_name("f"))
    network.create_network(netenv.root, "back", bridge=netenv.bridge_name("k"))
    server, client = netenv.container(), netenv.container()
    server.serve(80, "db")
    ep = network.connect(netenv.root, "back", server.id, server.path,
                         ports=network.parse_port_spec("80"))
    ec = network.connect(netenv.root, "front", client.id, client.path)
    port = ep.ports[0].host_port
    # through the host's address on the client's own bridge (DNAT, not direct routing);
    # leaving its subnet for another bridge, the client is masqueraded like any outbound
    assert client.fetch("tcp", ec.gateway, port) == f"tcp db from {ep.gateway}"


def test_outbound_traffic_is_masqueraded(
        netenv: NetEnv, outside_host: Callable[[], tuple[FakeContainer, str, str]]) -> None:
    upstream, far_ip, host_ip = outside_host()
    upstream.serve(7000, "upstream")
    c = netenv.container()
    network.connect(netenv.root, "bridge", c.id, c.path)
    # the upstream has no route back to the container subnet: only NAT makes this work
    assert c.fetch("tcp", far_ip, 7000) == f"tcp upstream from {host_ip}"
    assert c.fetch("udp", far_ip, 7000) == f"udp upstream from {host_ip}"


def test_internal_network_has_no_route_out(
        netenv: NetEnv, outside_host: Callable[[], tuple[FakeContainer, str, str]]) -> None:
    upstream, far_ip, _host_ip = outside_host()
    network.create_network(netenv.root, "secret", internal=True,
                           bridge=netenv.bridge_name("i"))
    a, b = netenv.container(), netenv.container()
    network.connect(netenv.root, "secret", a.id, a.path)
    eb = network.connect(netenv.root, "secret", b.id, b.path)
    assert a.ping(eb.ip)
    assert "default" not in a.exec("ip", "route").stdout
    assert a.cannot_reach(far_ip)
    # even with a route added by hand, the host does not forward it
    a.exec("ip", "route", "add", "default", "via", eb.gateway)
    assert a.cannot_reach(far_ip)
    with pytest.raises(Exception, match="internal"):
        network.connect(netenv.root, "secret", "x" * 64, a.path,
                        ports=network.parse_port_spec("80"))


def test_network_in_use_cannot_be_removed_then_can(netenv: NetEnv) -> None:
    net = network.create_network(netenv.root, "apps", bridge=netenv.bridge_name("a"),
                                 subnet="10.199.7.0/24", labels={"team": "x"})
    assert (net.subnet, net.gateway) == ("10.199.7.0/24", "10.199.7.1")
    c = netenv.container()
    ep = network.connect(netenv.root, "apps", c.id, c.path, name="c")
    with pytest.raises(Conflict, match="active endpoints"):
        network.remove_network(netenv.root, "apps")
    with pytest.raises(Conflict, match="overlaps"):
        network.create_network(netenv.root, "apps2", subnet="10.199.0.0/16")
    with pytest.raises(Conflict, match="already exists"):
        network.create_network(netenv.root, "apps")
    network.disconnect(netenv.root, "apps", c.id)
    network.remove_network(netenv.root, "apps")
    assert netenv.bridge_name("a") not in netenv.links()
    network.remove_network(netenv.root, "bridge", predefined_ok=True)
    assert netenv.residue([ep.veth]) == []


def test_subnet_overlapping_a_host_route_is_refused(netenv: NetEnv) -> None:
    with pytest.raises(Conflict, match="host route"):
        network.create_network(netenv.root, "clash", subnet="192.0.2.0/25")


def test_chosen_subnets_avoid_host_routes_and_each_other(netenv: NetEnv) -> None:
    a = network.create_network(netenv.root, "a", bridge=netenv.bridge_name("1"))
    b = network.create_network(netenv.root, "b", bridge=netenv.bridge_name("2"))
    default = network.ensure_network(netenv.root)
    subnets = {a.subnet, default.subnet, b.subnet}
    assert len(subnets) == 3
    routes = run("ip", "-4", "route").stdout
    assert f"{a.subnet} dev {a.bridge}" in routes


def test_second_network_gets_eth1_without_default_route(netenv: NetEnv) -> None:
    network.create_network(netenv.root, "extra", bridge=netenv.bridge_name("x"))
    c = netenv.container()
    e0 = network.connect(netenv.root, "bridge", c.id, c.path)
    e1 = network.connect(netenv.root, "extra", c.id, c.path)
    assert (e0.ifname, e1.ifname) == ("eth0", "eth1")
    routes = c.exec("ip", "route").stdout
    assert f"default via {e0.gateway} dev eth0" in routes
    assert f"via {e1.gateway}" not in routes


def test_exhausted_network_refuses_and_leaves_nothing(netenv: NetEnv) -> None:
    network.create_network(netenv.root, "tiny", subnet="10.199.8.0/29",
                           bridge=netenv.bridge_name("t"))  # 5 addresses besides the gateway
    cs = [netenv.container() for _ in range(6)]
    eps = [network.connect(netenv.root, "tiny", c.id, c.path) for c in cs[:5]]
    assert sorted(e.ip for e in eps) == [f"10.199.8.{i}" for i in range(2, 7)]
    with pytest.raises(network.AddressExhausted, match="no free address"):
        network.connect(netenv.root, "tiny", cs[5].id, cs[5].path)
    assert "eth0" not in cs[5].exec("ip", "link").stdout
    assert network.endpoints_of(netenv.root, cs[5].id) == []
    network.disconnect(netenv.root, "tiny", cs[0].id)
    assert network.connect(netenv.root, "tiny", cs[5].id, cs[5].path).ip == eps[0].ip


def test_existing_interface_is_never_adopted(netenv: NetEnv) -> None:
    name = netenv.bridge_name("e")
    run("ip", "link", "add", name, "type", "veth", "peer", "name", f"{name}p")
    netenv.extra_links += [name, f"{name}p"]
    with pytest.raises(Conflict, match="already exists"):
        network.create_network(netenv.root, "taken", bridge=name)
    assert "taken" not in [n.name for n in network.list_networks(netenv.root)]
    assert run("ip", "-j", "addr", "show", name).stdout.count("inet") == 0


def test_interface_names_are_reused_and_route_comes_from_first_routed_network(
        netenv: NetEnv) -> None:
    network.create_network(netenv.root, "in", internal=True, bridge=netenv.bridge_name("n"))
    network.create_network(netenv.root, "x", bridge=netenv.bridge_name("x"))
    c = netenv.container()
    assert network.connect(netenv.root, "in", c.id, c.path).ifname == "eth0"
    ex = network.connect(netenv.root, "x", c.id, c.path)
    assert ex.ifname == "eth1"
    assert f"default via {ex.gateway} dev eth1" in c.exec("ip", "route").stdout
    network.disconnect(netenv.root, "in", c.id)
    assert network.connect(netenv.root, "bridge", c.id, c.path).ifname == "eth0"
    assert sorted(e.ifname for e in network.endpoints_of(netenv.root, c.id)) == ["eth0", "eth1"]
