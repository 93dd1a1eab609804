"""Containers on the default bridge network: addressing, reachability, teardown."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess

import pytest

from minidocker import network
from minidocker.errors import Conflict
from minidocker.network.store import Store
from tests.integration.network.conftest import FakeContainer, NetEnv, run, wait_for


def _addr(c: FakeContainer) -> dict:
    return json.loads(c.exec("ip", "-j", "addr", "show", "eth0").stdout)[0]


def test_containers_reach_each_other_by_ip(netenv: NetEnv) -> None:
    a, b = netenv.container(), netenv.container()
    ea = network.connect(netenv.root, "bridge", a.id, a.path, name="a")
    eb = network.connect(netenv.root, "bridge", b.id, b.path, name="b")
    assert ea.ip != eb.ip
    assert a.ping(eb.ip) and b.ping(ea.ip)
    assert a.ping(ea.gateway)


def test_endpoint_is_eth0_with_address_mtu_route_lo_and_mac(netenv: NetEnv) -> None:
    c = netenv.container()
    net = network.ensure_network(netenv.root)
    wanted_ip = net.subnet.rsplit(".", 1)[0] + ".77"
    ep = network.connect(netenv.root, "bridge", c.id, c.path, ip=wanted_ip,
                         mac="02:AA:BB:CC:DD:EE")
    assert (ep.ip, ep.ifname, ep.mac) == (wanted_ip, "eth0", "02:aa:bb:cc:dd:ee")
    info = _addr(c)
    assert info["address"] == "02:aa:bb:cc:dd:ee"
    assert info["mtu"] == json.loads(run("ip", "-j", "link", "show", net.bridge).stdout)[0]["mtu"]
    inet = [a for a in info["addr_info"] if a["family"] == "inet"]
    assert [(a["local"], a["prefixlen"]) for a in inet] == [(wanted_ip, ep.prefixlen)]
    routes = json.loads(c.exec("ip", "-j", "route").stdout)
    assert any(r["dst"] == "default" and r.get("gateway") == net.gateway for r in routes)
    assert "UP" in json.loads(c.exec("ip", "-j", "link", "show", "lo").stdout)[0]["flags"]
    host_end = json.loads(run("ip", "-j", "link", "show", ep.veth).stdout)[0]
    assert host_end["master"] == net.bridge


def test_disconnect_leaves_no_veth_rule_or_lease(netenv: NetEnv) -> None:
    c = netenv.container()
    ep = network.connect(netenv.root, "bridge", c.id, c.path,
                         ports=network.parse_port_spec("127.0.0.1::80"))
    assert ep.veth in netenv.links()
    network.disconnect(netenv.root, "bridge", c.id)
    assert ep.veth not in netenv.links()
    assert "eth0" not in c.exec("ip", "link").stdout
    store = Store(netenv.root)
    assert store.ipam.leases(store.networks()["bridge"].subnet) == {}
    assert f"{c.id}" not in run("nft", "list", "table", "ip", netenv.table).stdout
    network.remove_network(netenv.root, "bridge", predefined_ok=True)
    assert netenv.residue([ep.veth]) == []


def _connect_one(args: tuple[str, str, str]) -> str:
    root, cid, path = args
    return network.connect(root, "bridge", cid, path, name=cid[:6]).ip


def _disconnect_one(args: tuple[str, str]) -> None:
    network.disconnect(args[0], "bridge", args[1])


def test_30_concurrent_connects_get_distinct_addresses(netenv: NetEnv) -> None:
    containers = [netenv.container() for _ in range(30)]
    jobs = [(netenv.root, c.id, c.path) for c in containers]
    with multiprocessing.get_context("fork").Pool(30) as pool:
        ips = pool.map(_connect_one, jobs)
    assert len(set(ips)) == 30
    for c, ip in zip(containers[:3], ips[:3], strict=True):
        assert any(a["local"] == ip for a in _addr(c)["addr_info"])
    assert containers[0].ping(ips[-1])
    with multiprocessing.get_context("fork").Pool(30) as pool:
        pool.map(_disconnect_one, [(netenv.root, c.id) for c in containers])
    network.remove_network(netenv.root, "bridge", predefined_ok=True)
    assert netenv.residue() == []


def test_connect_twice_is_a_conflict_and_changes_nothing(netenv: NetEnv) -> None:
    c = netenv.container()
    ep = network.connect(netenv.root, "bridge", c.id, c.path)
    with pytest.raises(Conflict, match="already connected"):
        network.connect(netenv.root, "bridge", c.id, c.path)
    assert network.endpoints_of(netenv.root, c.id) == [ep]


def test_namespace_of_a_process_and_its_death(netenv: NetEnv) -> None:
    """The engine's case: /proc/PID/ns/net of the container's init; when it dies the
    kernel takes the veth pair away, and disconnect still cleans up the rest."""
    proc = subprocess.Popen(["unshare", "--net", "sleep", "60"])
    try:
        path = f"/proc/{proc.pid}/ns/net"
        _wait_for_own_netns(path)
        ep = network.connect(netenv.root, "bridge", "p" * 64, path)
        out = run("nsenter", f"--net={path}", "ip", "-o", "-4", "addr", "show", "eth0").stdout
        assert f"inet {ep.ip}/{ep.prefixlen}" in out
    finally:
        proc.kill()
        proc.wait()
    assert wait_for(lambda: ep.veth not in netenv.links())
    network.disconnect(netenv.root, "bridge", "p" * 64)
    assert network.endpoints_of(netenv.root, "p" * 64) == []


def _wait_for_own_netns(path: str) -> None:
    host = os.stat("/proc/self/ns/net").st_ino
    assert wait_for(lambda: os.stat(path).st_ino != host)


def test_default_is_an_alias_of_bridge(netenv: NetEnv) -> None:
    c = netenv.container()
    ep = network.connect(netenv.root, "default", c.id, c.path)
    assert ep.network == "bridge"
    network.disconnect(netenv.root, "default", c.id)
    assert network.endpoints_of(netenv.root, c.id) == []
