"""Networking through the engine: real containers on the default bridge and on user
networks, published ports, isolation, --internal, NAT, host/none/container modes, the
fallback to host networking, and that nothing is left behind after rm -f or a crash.

Servers and clients inside containers are the host's Python run through `chroot /host`
(the host's root bind-mounted read-only) in the container's network namespace: busybox
has no UDP server. Traffic goes only to namespaces made here, or to loopback.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from minidocker.network.store import Store
from tests.integration.engine.conftest import Engine
from tests.integration.network.conftest import CLIENT, SERVER, FakeContainer, run

PY = ["-v", "/:/host:ro"]
# the client resolves names through the container's /etc/hosts (given on stdin): the
# host's Python would read the host's files
RESOLVING_CLIENT = """
import sys
names = {}
for line in sys.stdin.read().splitlines():
    fields = line.split()
    for name in fields[1:]:
        names.setdefault(name, fields[0])
sys.argv[2] = names.get(sys.argv[2], sys.argv[2])
""" + CLIENT


@pytest.fixture
def eng(busybox_rootfs: Path) -> Iterator[Engine]:
    root = Path(tempfile.mkdtemp(prefix="md-net-"))
    engine = Engine(root, busybox_rootfs)  # private bridge, nft table, subnets
    try:
        yield engine
    finally:
        engine.cleanup()
    assert not [n for n in links() if n.startswith(engine.net_tag)]
    assert run("nft", "list", "table", "ip", engine.net_tag, check=False).returncode != 0


def links() -> list[str]:
    return [link["ifname"] for link in json.loads(run("ip", "-j", "link", "show").stdout)]


def make_network(eng: Engine, name: str, *flags: str) -> str:
    eng.ok("network", "create", "-o", f"com.docker.network.bridge.name={eng.net_tag}{name}",
           *flags, name)
    return name


def serve(eng: Engine, name: str, *flags: str, port: int = 8000, image: str = "") -> str:
    """A detached container running the TCP+UDP server (answers `tcp NAME from PEER`)."""
    eng.ok("run", "-d", "--name", name, *PY, *flags, image or eng.image, "chroot", "/host",
           "/usr/bin/python3", "-c", SERVER, str(port), name)
    eng.wait_for(lambda: "ready" in eng.run("logs", name).stdout)
    return name


def fetch(eng: Engine, proto: str, host: str, port: int, *flags: str) -> str:
    """The answer a client in a new container gets, or "" if none."""
    proc = eng.run("run", "--rm", *PY, *flags, eng.image, "sh", "-c",
                   'exec chroot /host /usr/bin/python3 -c "$0" "$@" </etc/hosts',
                   RESOLVING_CLIENT, proto, host, str(port))
    return proc.stdout.strip()


def host_fetch(proto: str, host: str, port: int) -> str:
    return run("python3", "-c", CLIENT, proto, host, str(port), check=False).stdout.strip()


def ip_of(eng: Engine, name: str, network: str) -> str:
    return str(eng.inspect(name)["NetworkSettings"]["Networks"][network]["IPAddress"])


def residue(eng: Engine, settle: float = 3.0) -> list[str]:
    """What of the containers' networking exists: bridge ports, our port rules, leases,
    endpoint records (the networks themselves and their bridges may stay). The veth of an
    exited container is deleted in the background (or by the kernel with its namespace):
    allow it `settle` seconds."""
    deadline = time.monotonic() + settle
    while True:
        found = _residue(eng)
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def _residue(eng: Engine) -> list[str]:
    store = Store(str(eng.root))
    found = []
    present = set(links())
    for net in store.networks().values():
        if net.bridge in present:
            out = run("ip", "-j", "link", "show", "master", net.bridge).stdout
            found += [f"veth {link['ifname']}" for link in json.loads(out or "[]")]
    table = run("nft", "-j", "list", "table", "ip", eng.net_tag, check=False).stdout
    for item in json.loads(table or '{"nftables": []}')["nftables"]:
        comment = item.get("rule", {}).get("comment", "")
        if comment.startswith("md port"):
            found.append(f"rule {comment}")
    found += [f"leases in {s}" for s in store.ipam.subnets() if store.ipam.leases(s)]
    found += [f"endpoint {cid[:12]}" for eps in store.endpoints().values() for cid in eps]
    return found


def test_containers_talk_by_ip_name_and_alias_on_a_user_network(eng: Engine) -> None:
    make_network(eng, "app")
    serve(eng, "db", "--network", "app", "--network-alias", "database")
    eng.ok("run", "-d", "--name", "web", "--network", "app", eng.image, "sleep", "60")
    web_ip = ip_of(eng, "web", "app")
    db_ip = ip_of(eng, "db", "app")
    assert db_ip != web_ip
    for host in (db_ip, "db", "database"):
        assert fetch(eng, "tcp", host, 8000, "--network", "app").startswith("tcp db from ")
    hosts = eng.ok("exec", "web", "cat", "/etc/hosts")
    assert f"{db_ip}\tdb database" in hosts
    assert eng.run("exec", "web", "ping", "-c", "1", "-W", "2", "db").returncode == 0
    doc = eng.inspect("db")["NetworkSettings"]
    assert doc["Networks"]["app"]["Aliases"] == ["database"]
    assert doc["IPAddress"] == ""  # like Docker: the top level is the default bridge's


def test_published_tcp_and_udp_ports_from_host_and_other_container(eng: Engine) -> None:
    serve(eng, "srv", "-p", "127.0.0.1::8000", "-p", "8000/udp", "-p", "8000")
    lines = eng.ok("port", "srv").splitlines()
    assert len(lines) == 3
    ports = {line.split(" -> ")[0] + "@" + line.split(" -> ")[1].split(":")[0]:
             int(line.rsplit(":", 1)[1]) for line in lines}
    tcp_lo, tcp_any, udp = ports["8000/tcp@127.0.0.1"], ports["8000/tcp@0.0.0.0"], \
        ports["8000/udp@0.0.0.0"]
    doc = eng.inspect("srv")["NetworkSettings"]
    bridge_ip = doc["Gateway"]
    assert doc["IPAddress"] and doc["Ports"]["8000/udp"] == [
        {"HostIp": "0.0.0.0", "HostPort": str(udp)}]
    assert eng.ok("port", "srv", "8000/udp").strip() == f"0.0.0.0:{udp}"
    assert eng.run("port", "srv", "9/tcp").returncode == 1
    row = eng.ok("ps", "--format", "{{.Ports}}")
    assert f"0.0.0.0:{udp}->8000/udp" in row and f"127.0.0.1:{tcp_lo}->8000/tcp" in row
    # from the host: loopback and the bridge's address
    assert host_fetch("tcp", "127.0.0.1", tcp_lo).startswith("tcp srv from ")
    assert host_fetch("tcp", "127.0.0.1", tcp_any).startswith("tcp srv from ")
    assert host_fetch("tcp", bridge_ip, tcp_any).startswith("tcp srv from ")
    assert host_fetch("udp", "127.0.0.1", udp).startswith("udp srv from ")
    assert host_fetch("udp", bridge_ip, udp).startswith("udp srv from ")
    # from another container, through the host's address on its bridge, and on a user net
    assert fetch(eng, "tcp", bridge_ip, tcp_any).startswith("tcp srv from ")
    assert fetch(eng, "udp", bridge_ip, udp).startswith("udp srv from ")
    make_network(eng, "other")
    other_gw = str(json.loads(eng.ok("network", "inspect", "other"))[0]["IPAM"]["Config"][0]
                   ["Gateway"])
    assert fetch(eng, "tcp", other_gw, tcp_any, "--network", "other").startswith("tcp srv")
    eng.ok("rm", "-f", "srv")
    assert residue(eng) == []
    assert host_fetch("tcp", "127.0.0.1", tcp_any) == ""


def test_publish_all_exposed_ports(eng: Engine) -> None:
    eng.ok("create", "--name", "base", eng.image, "true")
    eng.ok("commit", "-c", "EXPOSE 8000", "-c", "EXPOSE 8000/udp", "base", "exposed:1")
    serve(eng, "srv", "-P", "-p", "127.0.0.1::8000/udp", image="exposed:1")
    ports = eng.ok("port", "srv").splitlines()
    assert [p.split(" -> ")[0] for p in ports] == ["8000/tcp", "8000/udp"]
    assert ports[1].split(" -> ")[1].startswith("127.0.0.1:")  # -p wins over -P
    tcp = int(ports[0].rsplit(":", 1)[1])
    assert host_fetch("tcp", "127.0.0.1", tcp).startswith("tcp srv from ")


def test_user_networks_are_isolated(eng: Engine) -> None:
    make_network(eng, "red")
    make_network(eng, "blue")
    serve(eng, "r1", "--network", "red")
    red_ip = ip_of(eng, "r1", "red")
    assert fetch(eng, "tcp", red_ip, 8000, "--network", "red").startswith("tcp r1")
    assert fetch(eng, "tcp", red_ip, 8000, "--network", "blue") == ""
    assert fetch(eng, "tcp", "r1", 8000, "--network", "blue") == ""  # no name either
    assert eng.run("run", "--rm", "--network", "blue", eng.image, "ping", "-c", "1", "-W",
                   "1", red_ip).returncode != 0


@pytest.fixture
def outside(tmp_path: Path) -> Iterator[Callable[[], tuple[FakeContainer, str]]]:
    """An "outside host": a namespace behind a veth on a random /24 of 198.18.0.0/15 with
    no route back to container subnets (only masqueraded traffic is answered)."""
    made: list[tuple[FakeContainer, str]] = []

    def make() -> tuple[FakeContainer, str]:
        import random
        tag = os.urandom(3).hex()
        ns = FakeContainer(f"mdo{tag}")
        host_end = f"mdo{tag}h"
        made.append((ns, host_end))
        third = random.randrange(0, 256)
        host_ip, far_ip = f"198.18.{third}.1", f"198.18.{third}.2"
        run("ip", "link", "add", host_end, "type", "veth", "peer", "name", "up0", "netns",
            ns.name)
        run("ip", "addr", "add", f"{host_ip}/24", "dev", host_end)
        run("ip", "link", "set", host_end, "up")
        ns.exec("ip", "addr", "add", f"{far_ip}/24", "dev", "up0")
        ns.exec("ip", "link", "set", "up0", "up")
        ns.exec("ip", "link", "set", "lo", "up")
        ns.serve(7000, "far")
        return ns, far_ip

    yield make
    for ns, host_end in made:
        ns.remove()
        run("ip", "link", "del", host_end, check=False)


def test_outbound_nat_and_internal_network_has_no_route_out(
        eng: Engine, outside: Callable[[], tuple[FakeContainer, str]]) -> None:
    _ns, far_ip = outside()
    # masqueraded: the far side sees the host's address, not the container's
    answer = fetch(eng, "tcp", far_ip, 7000)
    assert answer.startswith("tcp far from 198.18.")
    make_network(eng, "sealed", "--internal")
    assert fetch(eng, "tcp", far_ip, 7000, "--network", "sealed") == ""
    routes = eng.ok("run", "--rm", "--network", "sealed", eng.image, "ip", "route")
    assert "default" not in routes
    # still reaches its peers
    serve(eng, "peer", "--network", "sealed")
    assert fetch(eng, "tcp", "peer", 8000, "--network", "sealed").startswith("tcp peer")


def test_thirty_concurrent_runs_get_distinct_addresses_and_leave_nothing(eng: Engine) -> None:
    def start(i: int) -> str:
        return eng.ok("run", "-d", "--name", f"c{i}", eng.image, "sleep", "120",
                      timeout=120).strip()

    with concurrent.futures.ThreadPoolExecutor(30) as pool:
        ids = list(pool.map(start, range(30)))
    docs = json.loads(eng.ok("inspect", *ids))
    ips = [d["NetworkSettings"]["Networks"]["bridge"]["IPAddress"] for d in docs]
    macs = [d["NetworkSettings"]["MacAddress"] for d in docs]
    assert len(set(ips)) == 30 and all(ips)
    assert len(set(macs)) == 30
    eng.ok("rm", "-f", *ids, timeout=180)
    assert residue(eng) == []


def test_killed_monitor_and_container_are_cleaned_by_the_next_command(eng: Engine) -> None:
    make_network(eng, "app")
    cid = eng.ok("run", "-d", "-p", "8000", "--network", "app", eng.image, "sleep",
                 "120").strip()
    other = eng.ok("run", "-d", "-p", "8001", eng.image, "sleep", "120").strip()
    assert len(_residue(eng)) >= 4
    for ref in (cid, other):
        state = json.loads((eng.root / "containers" / ref / "state.json").read_text())
        os.kill(int(state["MonitorPid"]), signal.SIGKILL)
        os.kill(int(state["Pid"]), signal.SIGKILL)
    time.sleep(0.2)
    # a crash in the middle of rm: the record of one is gone, its network state is not
    subprocess.run(["umount", "-l", str(eng.root / "containers" / other / "rootfs")],
                   capture_output=True)
    subprocess.run(["rm", "-rf", str(eng.root / "containers" / other)], check=True)
    eng.ok("ps", "-a")
    assert residue(eng) == []
    assert eng.status(cid) == "exited"


def test_network_connect_and_disconnect(eng: Engine) -> None:
    make_network(eng, "app")
    serve(eng, "srv")  # on the default bridge
    eng.ok("network", "connect", "--alias", "api", "app", "srv")
    assert "app" in eng.inspect("srv")["NetworkSettings"]["Networks"]
    assert fetch(eng, "tcp", "api", 8000, "--network", "app").startswith("tcp srv")
    eng.ok("network", "disconnect", "app", "srv")
    assert "app" not in eng.inspect("srv")["NetworkSettings"]["Networks"]
    assert fetch(eng, "tcp", "api", 8000, "--network", "app") == ""
    assert eng.run("network", "rm", "app").returncode == 0


def test_disconnecting_the_routed_network_moves_the_default_route(eng: Engine) -> None:
    make_network(eng, "first", "--subnet", "10.98.1.0/24")
    make_network(eng, "second", "--subnet", "10.98.2.0/24")
    eng.ok("run", "-d", "--name", "two", "--network", "first", eng.image, "sleep", "60")
    eng.ok("network", "connect", "second", "two")

    def default_route() -> str:
        routes = eng.ok("exec", "two", "ip", "route").splitlines()
        return next((r for r in routes if r.startswith("default")), "")

    assert "via 10.98.1.1" in default_route()
    eng.ok("network", "disconnect", "first", "two")
    assert "via 10.98.2.1" in default_route()  # Docker moves the default gateway too
    eng.ok("network", "connect", "first", "two")
    assert "via 10.98.2.1" in default_route()  # joining again changes nothing
    eng.ok("rm", "-f", "two")


def test_none_host_and_container_modes(eng: Engine) -> None:
    dev = eng.ok("run", "--rm", "--network", "none", eng.image, "cat", "/proc/net/dev")
    assert "eth0" not in dev and "lo:" in dev
    lo = eng.ok("run", "--rm", "--network", "none", eng.image, "ip", "link", "show", "lo")
    assert "<LOOPBACK,UP" in lo  # like Docker's
    host = eng.ok("run", "--rm", "--network", "host", eng.image, "sh", "-c",
                  "readlink /proc/self/ns/net; cat /proc/net/dev")
    # the host's own network namespace (its interfaces are not compared: other work on
    # the machine may add or remove some meanwhile)
    assert host.splitlines()[0] == os.readlink("/proc/self/ns/net") and "eth0" in host
    serve(eng, "srv")
    shared = fetch(eng, "tcp", "127.0.0.1", 8000, "--network", "container:srv")
    assert shared == "tcp srv from 127.0.0.1"
    assert eng.run("run", "--rm", "--network", "nosuchnet", eng.image,
                   "true").returncode == 125
    eng.ok("rm", "-f", "srv")
    assert residue(eng) == []


def test_dns_flags_and_add_host(eng: Engine) -> None:
    out = eng.ok("run", "--rm", "--dns", "10.9.9.9", "--dns-search", "example.test",
                 "--dns-option", "ndots:2", "--add-host", "gw:host-gateway",
                 "--add-host", "db.test:10.1.2.3", "--hostname", "box", "--mac-address",
                 "02:42:00:00:00:99", eng.image, "sh", "-c",
                 "cat /etc/resolv.conf /etc/hosts; hostname; cat /sys/class/net/eth0/address")
    assert "nameserver 10.9.9.9\nsearch example.test\noptions ndots:2\n" in out
    assert "10.1.2.3\tdb.test" in out and "\tbox" in out
    assert "02:42:00:00:00:99" in out
    gateway = [line.split()[0] for line in out.splitlines() if line.endswith("\tgw")]
    assert gateway and gateway[0].startswith("10.")
    # outside a bridge network host-gateway is the default bridge's gateway (Docker's
    # host-gateway-ip), never the literal word
    for mode in ("none", "host"):
        hosts = eng.ok("run", "--rm", "--network", mode, "--add-host", "gw:host-gateway",
                       eng.image, "cat", "/etc/hosts")
        assert f"{gateway[0]}\tgw" in hosts and "host-gateway" not in hosts, mode
    make_network(eng, "fixed", "--subnet", "10.99.7.0/24")
    out = eng.ok("run", "--rm", "--network", "fixed", "--ip", "10.99.7.77", eng.image,
                 "ip", "-4", "addr", "show", "eth0")
    assert "10.99.7.77/24" in out


def test_fallback_to_host_networking_when_no_bridge_can_be_made(eng: Engine) -> None:
    # without CAP_NET_ADMIN the kernel refuses the bridge (EPERM): BridgeUnavailable
    cmd = ["setpriv", "--bounding-set", "-net_admin", *eng.cmd("run", "--rm", eng.image,
                                                               "cat", "/proc/net/dev")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    dns = subprocess.run(["setpriv", "--bounding-set", "-net_admin",
                          *eng.cmd("run", "--rm", "--dns", "10.9.9.9", eng.image, "cat",
                                   "/etc/resolv.conf")],
                         capture_output=True, text=True, timeout=60)
    assert dns.stdout == "nameserver 10.9.9.9\n", dns.stderr  # --dns holds after a fallback
    assert proc.stderr.count("\n") == 1 and "warning: bridge networking unavailable" in \
        proc.stderr
    assert "eth0" in proc.stdout  # the host's interfaces
    env = dict(os.environ, MINIDOCKER_NETWORK_FALLBACK="0")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 125
    assert proc.stderr.startswith("minidocker: error: bridge networking unavailable")
    assert eng.container_dirs() == []
    assert residue(eng) == []


def test_stop_start_and_restart_policy_reconnect(eng: Engine) -> None:
    serve(eng, "srv", "-p", "127.0.0.1::8000")
    for _ in range(2):
        eng.ok("stop", "-t", "0", "srv")
        networks = eng.inspect("srv")["NetworkSettings"]["Networks"]
        assert [(n, d["IPAddress"]) for n, d in networks.items()] == [("bridge", "")]
        # (as Docker's: a stopped container lists the network it joins, with no address)
        assert residue(eng) == []
        eng.ok("start", "srv")
        eng.wait_for(lambda: "ready" in eng.run("logs", "srv").stdout)
        port = int(eng.ok("port", "srv", "8000").rsplit(":", 1)[1])
        eng.wait_for(lambda p=port: host_fetch("tcp", "127.0.0.1", p).startswith("tcp srv"))
    eng.ok("rm", "-f", "srv")
    # each restart by policy plugs the container in again, and its exit unplugs it
    eng.ok("run", "-d", "--name", "flaky", "--restart", "on-failure:3", eng.image, "sh",
           "-c", "ip -4 addr show eth0 | grep -q inet && exit 3")
    eng.wait_for(lambda: eng.status("flaky") == "exited", timeout=30)
    assert eng.inspect("flaky")["RestartCount"] == 3
    assert eng.inspect("flaky")["State"]["ExitCode"] == 3
    assert residue(eng) == []


def test_killed_monitor_of_a_running_container_then_rm(eng: Engine) -> None:
    serve(eng, "srv", "-p", "127.0.0.1::8000")
    state = json.loads((eng.root / "containers" /
                        eng.inspect("srv")["Id"] / "state.json").read_text())
    os.kill(int(state["MonitorPid"]), signal.SIGKILL)
    port = int(eng.ok("port", "srv", "8000").rsplit(":", 1)[1])  # adopted, still plugged
    assert host_fetch("tcp", "127.0.0.1", port).startswith("tcp srv")
    eng.ok("rm", "-f", "srv")
    assert residue(eng) == []


def test_network_ls_filters_dangling_scope_type(eng: Engine) -> None:
    """Docker's network ls filters: dangling=true is a user network no running container
    is connected to, dangling=false one in use or pre-defined; scope=local is every one;
    a value these filters do not take is refused."""
    make_network(eng, "idle")
    make_network(eng, "used")
    eng.ok("create", "--name", "created", "--network", "idle", eng.image, "true")
    eng.ok("run", "-d", "--name", "user", "--network", "used", eng.image, "sleep", "60")

    def names(*filters: str) -> list[str]:
        args = [a for f in filters for a in ("--filter", f)]
        return eng.ok("network", "ls", "--format", "{{.Name}}", *args).split()

    assert names("dangling=true") == ["idle"]
    assert names("dangling=false") == ["bridge", "used"]
    assert names("scope=local") == ["bridge", "idle", "used"]
    assert names("scope=swarm") == [] and names("type=custom") == ["idle", "used"]
    for bad in ("dangling=maybe", "type=mine", "colour=red"):
        result = eng.run("network", "ls", "--filter", bad)
        assert result.returncode == 1 and "invalid filter" in result.stderr, result.stderr


def test_ip_range_and_aux_addresses(eng: Engine) -> None:
    """network create --ip-range: containers' addresses come from that sub-range;
    --aux-address: never handed out (nor taken with --ip); both shown in the IPAM config
    as Docker's, and checked against the subnet with Docker's words."""
    import random
    prefix = f"10.{random.randint(200, 250)}.{random.randint(0, 255)}"
    make_network(eng, "ranged", "--subnet", f"{prefix}.0/24", "--ip-range",
                 f"{prefix}.64/29", "--aux-address", f"router={prefix}.65")
    [doc] = json.loads(eng.ok("network", "inspect", "ranged"))
    assert doc["IPAM"]["Config"] == [{"Subnet": f"{prefix}.0/24", "Gateway": f"{prefix}.1",
                                      "IPRange": f"{prefix}.64/29",
                                      "AuxiliaryAddresses": {"router": f"{prefix}.65"}}]
    for i in range(4):
        eng.ok("run", "-d", "--name", f"r{i}", "--network", "ranged", eng.image, "sleep", "60")
    got = {eng.ok("inspect", "-f", "{{.NetworkSettings.Networks.ranged.IPAddress}}",
                  f"r{i}").strip() for i in range(4)}
    assert got <= {f"{prefix}.{n}" for n in (64, 66, 67, 68, 69, 70, 71)} and len(got) == 4
    taken = eng.run("run", "--rm", "--network", "ranged", "--ip", f"{prefix}.65", eng.image,
                    "true")
    assert taken.returncode == 125 and "auxiliary address" in taken.stderr
    outside = eng.ok("run", "--rm", "--network", "ranged", "--ip", f"{prefix}.200",
                     eng.image, "sh", "-c", "ip -4 -o addr show eth0")
    assert f"{prefix}.200/24" in outside  # --ip may be anywhere in the subnet
    for args, words in ((["--ip-range", f"{prefix}.0/25"], "no matching subnet for range"),
                        (["--subnet", "10.31.0.0/24", "--ip-range", "10.32.0.0/25"],
                         "no matching subnet for range 10.32.0.0/25"),
                        (["--subnet", "10.31.0.0/24", "--aux-address", "a=10.32.0.1"],
                         "no matching subnet for aux-address 10.32.0.1"),
                        (["--subnet", "10.31.0.0/24", "--ip-range", "x"],
                         "invalid CIDR address: x")):
        result = eng.run("network", "create", *args, "bad")
        assert result.returncode == 1 and words in result.stderr, result.stderr
