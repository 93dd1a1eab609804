"""Published ports: TCP and UDP, reached from 127.0.0.1, the bridge address and another
container; removal of exactly one container's rules."""

from __future__ import annotations

import pytest

from minidocker import network
from minidocker.errors import Conflict
from tests.integration.network.conftest import NetEnv, host_fetch, run


@pytest.mark.parametrize("proto", ["tcp", "udp"])
def test_published_port_from_loopback_bridge_address_and_other_container(
        netenv: NetEnv, proto: str) -> None:
    server, client = netenv.container(), netenv.container()
    server.serve(80, "web")
    ep = network.connect(netenv.root, "bridge", server.id, server.path, name="web",
                         ports=network.parse_port_spec(f"80/{proto}"))
    network.connect(netenv.root, "bridge", client.id, client.path, name="client")
    [mapping] = ep.ports
    assert mapping.container_port == 80 and mapping.proto == proto
    port = mapping.host_port
    # from the host's loopback: masqueraded to the gateway so the reply finds its way
    assert host_fetch(proto, "127.0.0.1", port) == f"{proto} web from {ep.gateway}"
    # from the host through the bridge address
    assert host_fetch(proto, ep.gateway, port) == f"{proto} web from {ep.gateway}"
    # from another container, through the host's address (hairpin NAT)
    assert client.fetch(proto, ep.gateway, port) == f"{proto} web from {ep.gateway}"


def test_container_reaches_its_own_published_port(netenv: NetEnv) -> None:
    c = netenv.container()
    c.serve(80, "self")
    ep = network.connect(netenv.root, "bridge", c.id, c.path,
                         ports=network.parse_port_spec("80"))
    assert c.fetch("tcp", ep.gateway, ep.ports[0].host_port) == f"tcp self from {ep.gateway}"


def test_explicit_host_ip_and_port(netenv: NetEnv) -> None:
    server = netenv.container()
    server.serve(8000, "api")
    port = _free_port()
    ep = network.connect(netenv.root, "bridge", server.id, server.path,
                         ports=[f"127.0.0.1:{port}:8000"])  # -p strings are fine too
    assert [(p.host_ip, p.host_port) for p in ep.ports] == [("127.0.0.1", port)]
    assert host_fetch("tcp", "127.0.0.1", port).startswith("tcp api")
    rules = run("nft", "list", "chain", "ip", netenv.table, "ports").stdout
    assert f"ip daddr 127.0.0.1 tcp dport {port} dnat to {ep.ip}:8000" in rules


def test_same_host_port_twice_is_refused_and_leaves_nothing(netenv: NetEnv) -> None:
    a, b = netenv.container(), netenv.container()
    port = _free_port()
    network.connect(netenv.root, "bridge", a.id, a.path,
                    ports=network.parse_port_spec(f"{port}:80"))
    with pytest.raises(Conflict, match=str(port)):
        network.connect(netenv.root, "bridge", b.id, b.path,
                        ports=network.parse_port_spec(f"{port}:80"))
    assert network.endpoints_of(netenv.root, b.id) == []
    assert "eth0" not in b.exec("ip", "link").stdout
    assert b.id not in str(network.inspect_network(netenv.root, "bridge")["Containers"])


def test_disconnect_removes_only_that_containers_rules(netenv: NetEnv) -> None:
    a, b = netenv.container(), netenv.container()
    network.connect(netenv.root, "bridge", a.id, a.path,
                    ports=network.parse_port_spec("127.0.0.1::80"))
    network.connect(netenv.root, "bridge", b.id, b.path,
                    ports=network.parse_port_spec("127.0.0.1::80/udp"))
    network.disconnect(netenv.root, "bridge", a.id)
    rules = run("nft", "list", "chain", "ip", netenv.table, "ports").stdout
    assert a.id not in rules and b.id in rules
    assert network.published_ports(netenv.root).keys() == {b.id}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
