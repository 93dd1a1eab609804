"""Crash recovery and failures half-way: nothing of a dead or failed container stays."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from minidocker import network
from minidocker.errors import MinidockerError
from minidocker.network import nat
from minidocker.network.link import veth_name
from minidocker.network.store import Store
from tests.integration.network.conftest import NetEnv, host_fetch, run


def test_cleanup_stale_removes_dead_containers_and_orphans(netenv: NetEnv) -> None:
    dead, alive = netenv.container(), netenv.container()
    e_dead = network.connect(netenv.root, "bridge", dead.id, dead.path,
                             ports=network.parse_port_spec("127.0.0.1::80"))
    e_alive = network.connect(netenv.root, "bridge", alive.id, alive.path,
                              ports=network.parse_port_spec("127.0.0.1::80"))
    net = network.ensure_network(netenv.root)
    store = Store(netenv.root)
    # orphans a crash could leave: a lease without a record, a veth and a rule without one
    store.ipam.allocate(net.subnet, "ghost")
    orphan = veth_name(net.id, "ghost")
    run("ip", "link", "add", orphan, "master", net.bridge, "type", "veth", "peer", "name",
        f"{orphan}p")
    nat.Firewall(netenv.table).add_ports(net.id, "ghost", "10.0.0.9",
                                         [network.PortMapping("127.0.0.1", 1, 1, "tcp")])
    counts = network.cleanup_stale(netenv.root, lambda cid: cid == alive.id)
    assert counts == {"endpoints": 1, "leases": 1, "rules": 1, "veths": 1, "repaired": 0,
                      "subnets": 0, "files": 0}
    links = netenv.links()
    assert e_dead.veth not in links and orphan not in links and e_alive.veth in links
    rules = run("nft", "list", "chain", "ip", netenv.table, "ports").stdout
    assert alive.id in rules and dead.id not in rules and "ghost" not in rules
    assert store.ipam.leases(net.subnet) == {e_alive.ip: alive.id}
    assert [e.container_id for e in network.endpoints_of(netenv.root, alive.id)] == [alive.id]
    # idempotent
    assert network.cleanup_stale(netenv.root, lambda cid: cid == alive.id) == {
        "endpoints": 0, "leases": 0, "rules": 0, "veths": 0, "repaired": 0, "subnets": 0,
        "files": 0}


def test_cleanup_stale_rewrites_flushed_rules(netenv: NetEnv) -> None:
    server = netenv.container()
    server.serve(80, "web")
    ep = network.connect(netenv.root, "bridge", server.id, server.path,
                         ports=network.parse_port_spec("127.0.0.1::80"))
    port = ep.ports[0].host_port
    run("nft", "delete", "table", "ip", netenv.table)  # an admin flushing our table
    counts = network.cleanup_stale(netenv.root, lambda cid: True)
    assert (counts["repaired"], counts["endpoints"]) == (2, 0)  # network rules + its ports
    assert host_fetch("tcp", "127.0.0.1", port) == f"tcp web from {ep.gateway}"


def test_namespace_gone_before_disconnect(netenv: NetEnv) -> None:
    c = netenv.container()
    ep = network.connect(netenv.root, "bridge", c.id, c.path)
    c.remove()  # the kernel destroys the veth pair with the namespace
    network.disconnect(netenv.root, "bridge", c.id)
    assert ep.veth not in netenv.links()
    assert network.endpoints_of(netenv.root, c.id) == []


def test_bad_namespace_path_leaves_nothing(netenv: NetEnv) -> None:
    with pytest.raises(OSError):
        network.connect(netenv.root, "bridge", "c" * 64, "/run/netns/mdt-does-not-exist")
    net = network.ensure_network(netenv.root)
    assert Store(netenv.root).ipam.leases(net.subnet) == {}
    assert veth_name(net.id, "c" * 64) not in netenv.links()
    assert network.endpoints_of(netenv.root, "c" * 64) == []


def test_failure_after_veth_removes_veth_lease_and_record(
        netenv: NetEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    c = netenv.container()

    def broken(*args: object, **kw: object) -> None:
        raise nat.NftError("nftables: injected failure")

    monkeypatch.setattr(nat.Firewall, "add_ports", broken)
    with pytest.raises(MinidockerError, match="injected"):
        network.connect(netenv.root, "bridge", c.id, c.path,
                        ports=network.parse_port_spec("127.0.0.1::80"))
    net = network.ensure_network(netenv.root)
    assert veth_name(net.id, c.id) not in netenv.links()
    assert "eth0" not in c.exec("ip", "link").stdout
    assert Store(netenv.root).ipam.leases(net.subnet) == {}
    assert network.endpoints_of(netenv.root, c.id) == []


FALLBACK = """
import sys
from minidocker import network
try:
    network.ensure_network(sys.argv[1])
except network.BridgeUnavailable as e:
    print("unavailable:", e.reason)
"""


def test_bridge_unavailable_without_permission(netenv: NetEnv) -> None:
    # a user namespace has no CAP_NET_ADMIN over the host's network namespace: EPERM
    proc = subprocess.run(["unshare", "--user", "--map-root-user", sys.executable, "-c",
                           FALLBACK, netenv.root], capture_output=True, text=True, timeout=30,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("unavailable: cannot create bridge")
    assert "Operation not permitted" in proc.stdout
    assert netenv.default_bridge not in netenv.links()
    assert not netenv.table_exists()


# a `network create` killed (SIGKILL) at a chosen point: the hook replaces one step
KILLED_CREATE = r"""
import os, sys
from minidocker.network import api, nat, netlink, statefile
from minidocker.network.store import Store

point, root, bridge = sys.argv[1:4]

def die(*args, **kwargs):
    os.kill(os.getpid(), 9)

api._default_record(Store(root))  # the default network's record exists (as after any run)
if point == "record":
    Store.save_networks = die
elif point == "rules":
    nat.Firewall.setup_network = die
elif point == "up":
    netlink.Netlink.set_up = die
elif point.endswith(".json"):  # between a state file's temp file and its rename
    rename = os.rename
    statefile.os.rename = lambda a, b: die() if b.endswith(point) else rename(a, b)
api.create_network(root, "n1", bridge=bridge)
"""


@pytest.mark.parametrize("point", ["record", "rules", "up", "networks.json", "ipam.json"])
def test_network_create_killed_at_any_point_leaves_nothing_prune_does_not_remove(
        netenv: NetEnv, point: str) -> None:
    from tests.conftest import run_captured, tool

    bridge = netenv.bridge_name("k")
    proc = subprocess.run([sys.executable, "-c", KILLED_CREATE, point, netenv.root, bridge],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == -9, proc.stderr
    cli = [tool("minidocker"), "--root", netenv.root, "network"]
    listing = run_captured([*cli, "ls", "--format", "{{.Name}}"], check=True).stdout.split()
    run_captured([*cli, "prune", "-f"], check=True)
    store = Store(netenv.root)
    default = store.networks()["bridge"]
    assert list(store.networks()) == ["bridge"] and set(listing) <= {"bridge", "n1"}
    assert store.ipam.subnets() == [default.subnet]
    assert bridge not in netenv.links()
    assert not netenv.table_exists()
    assert sorted(os.listdir(os.path.join(netenv.root, "network"))) == [
        "config.json", "ipam.json", "ipam.lock", "networks.json", "store.lock"]


def test_a_bridge_left_down_by_a_kill_is_completed_with_its_rules(netenv: NetEnv) -> None:
    """Killed before the bridge came up: the record stays, and the next connect writes
    the rules and brings the bridge up; the container reaches the gateway."""
    bridge = netenv.bridge_name("k")
    proc = subprocess.run([sys.executable, "-c", KILLED_CREATE, "up", netenv.root, bridge],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == -9, proc.stderr
    run("nft", "delete", "table", "ip", netenv.table, check=False)  # no rules, bridge down
    c = netenv.container()
    ep = network.connect(netenv.root, "n1", c.id, c.path)
    assert c.ping(ep.gateway)
    assert f"md net {Store(netenv.root).networks()['n1'].id[:12]}" in run(
        "nft", "list", "table", "ip", netenv.table).stdout


KILLED_CONNECT = r"""
import os, sys
from minidocker.network import api, statefile
from minidocker.network.store import Store

point, root, netns = sys.argv[1:4]

def die(*args, **kwargs):
    os.kill(os.getpid(), 9)

if point == "endpoint":  # after the lease, before the endpoint record
    Store.save_endpoints = die
else:  # between endpoints.json's temp file and its rename
    rename = os.rename
    statefile.os.rename = lambda a, b: die() if b.endswith(point) else rename(a, b)
api.connect(root, "n1", "c" * 64, netns)
"""


@pytest.mark.parametrize("point", ["endpoint", "endpoints.json"])
def test_network_rm_after_a_connect_killed_half_way(netenv: NetEnv, point: str) -> None:
    """The lease that a killed connect took without its endpoint record, and its temp
    file, go with the network: `network rm` works."""
    from tests.conftest import run_captured, tool

    network.create_network(netenv.root, "n1", bridge=netenv.bridge_name("k"))
    c = netenv.container()
    proc = subprocess.run([sys.executable, "-c", KILLED_CONNECT, point, netenv.root, c.path],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == -9, proc.stderr
    run_captured([tool("minidocker"), "--root", netenv.root, "network", "rm", "n1"],
                 check=True)
    store = Store(netenv.root)
    assert "n1" not in store.networks()
    assert all(not store.ipam.leases(s) for s in store.ipam.subnets())
    assert not [n for n in os.listdir(os.path.join(netenv.root, "network")) if ".tmp" in n]
