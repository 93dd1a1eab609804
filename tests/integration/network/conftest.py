"""Fixtures of the networking tests: a private state root whose bridges and nft table have
unique names, fake containers (network namespaces made with `ip netns add`), and a check
that each test leaves no namespace, link, rule or lease behind.

Traffic only ever goes to addresses inside namespaces the test created, or to loopback.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest

# a tiny server run inside a namespace: TCP and UDP, answers with the peer's address
SERVER = r"""
import socket, sys, threading
port = int(sys.argv[1])
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("0.0.0.0", port)); t.listen(16)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", port))
def udp():
    while True:
        data, peer = u.recvfrom(512)
        u.sendto(b"udp " + sys.argv[2].encode() + b" from " + peer[0].encode(), peer)
threading.Thread(target=udp, daemon=True).start()
print("ready", flush=True)
while True:
    c, peer = t.accept()
    c.sendall(b"tcp " + sys.argv[2].encode() + b" from " + peer[0].encode() + b"\n")
    c.close()
"""

CLIENT = r"""
import socket, sys
proto, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
if proto == "tcp":
    s = socket.create_connection((host, port), timeout=3)
    print(s.recv(512).decode().strip())
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
    s.sendto(b"hi", (host, port)); print(s.recvfrom(512)[0].decode())
"""


def run(*cmd: str, check: bool = True, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr}")
    return proc


class FakeContainer:
    """A network namespace standing in for a container; `path` is what connect() takes."""

    def __init__(self, name: str):
        self.name = name
        self.id = uuid.uuid4().hex
        self.path = f"/run/netns/{name}"
        self.procs: list[subprocess.Popen[str]] = []
        run("ip", "netns", "add", name)

    def exec(self, *cmd: str, check: bool = True, timeout: float = 20
             ) -> subprocess.CompletedProcess[str]:
        return run("ip", "netns", "exec", self.name, *cmd, check=check, timeout=timeout)

    def serve(self, port: int, label: str) -> None:
        """Start the TCP+UDP server on `port` inside the namespace; wait until it listens."""
        proc = subprocess.Popen(["ip", "netns", "exec", self.name, sys.executable, "-c", SERVER,
                                 str(port), label], stdout=subprocess.PIPE, text=True)
        self.procs.append(proc)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"

    def fetch(self, proto: str, host: str, port: int, check: bool = True) -> str:
        proc = self.exec(sys.executable, "-c", CLIENT, proto, host, str(port), check=check)
        return proc.stdout.strip()

    def ping(self, ip: str, tries: int = 3) -> bool:
        """Whether `ip` answers a ping (a few tries: a loaded CI host may drop the first)."""
        for _ in range(tries):
            if self.exec("busybox", "ping", "-c", "1", "-W", "1", ip,
                         check=False).returncode == 0:
                return True
        return False

    def cannot_reach(self, ip: str) -> bool:
        return not self.ping(ip, tries=1)

    def remove(self) -> None:
        for p in self.procs:
            p.kill()
            p.wait()
        run("ip", "netns", "del", self.name, check=False)


def host_fetch(proto: str, host: str, port: int) -> str:
    return run(sys.executable, "-c", CLIENT, proto, host, str(port)).stdout.strip()


class NetEnv:
    """A private minidocker root for networking plus the fake containers of one test."""

    def __init__(self, root: Path):
        self.tag = uuid.uuid4().hex[:6]
        self.root = str(root)
        self.table = f"mdt{self.tag}"
        self.default_bridge = f"mdt{self.tag}b0"
        self.containers: list[FakeContainer] = []
        self.extra_links: list[str] = []
        # a random /20 of 10.200.0.0/13 for this test's networks: concurrent runs differ
        base = random.randrange(200, 208)
        third = random.randrange(0, 16) * 16
        (root / "network").mkdir(parents=True)
        (root / "network" / "config.json").write_text(json.dumps({
            "nft_table": self.table, "default_bridge": self.default_bridge,
            "pools": [{"base": f"10.{base}.{third}.0/20", "size": 24}]}))

    def container(self) -> FakeContainer:
        c = FakeContainer(f"mdt{self.tag}n{len(self.containers)}")
        self.containers.append(c)
        return c

    def bridge_name(self, suffix: str) -> str:
        return f"mdt{self.tag}{suffix}"

    def links(self) -> list[str]:
        out = run("ip", "-j", "link", "show").stdout
        return [link["ifname"] for link in json.loads(out)]

    def table_exists(self) -> bool:
        return run("nft", "list", "table", "ip", self.table, check=False).returncode == 0

    def residue(self, veths: Iterable[str] = ()) -> list[str]:
        """What of this test's networking still exists: links, table, leases, records."""
        from minidocker.network.store import Store

        store = Store(self.root)
        found = [f"link {n}" for n in self.links()
                 if n.startswith(f"mdt{self.tag}") or n in veths]
        if self.table_exists():
            found.append(f"nft table {self.table}")
        found += [f"leases in {s}" for s in store.ipam.subnets() if store.ipam.leases(s)]
        found += [f"endpoint {cid}" for eps in store.endpoints().values() for cid in eps]
        found += [f"network {n}" for n in store.networks()]
        return found

    def teardown(self) -> list[str]:
        """Undo the test through the library (disconnect every endpoint, remove every
        network), note what that left behind, then remove everything by force, also
        after a failure. Returns the leftovers: each test doubles as a teardown test."""
        from minidocker import network
        from minidocker.network.link import veth_name
        from minidocker.network.store import Store

        store = Store(self.root)
        veths = {veth_name(net.id, c.id) for net in store.networks().values()
                 for c in self.containers}
        for eps in store.endpoints().values():
            for cid in eps:
                try:
                    network.disconnect_all(self.root, cid)
                except Exception:
                    pass
        for net in store.networks().values():
            try:
                network.remove_network(self.root, net.name, predefined_ok=True)
            except Exception:
                pass
        extra = set(self.extra_links)
        leftovers = [r for r in self.residue(veths) if r[len("link "):] not in extra]
        for c in self.containers:  # removing a namespace would hide a leaked veth pair
            c.remove()
        for name in self.extra_links:
            run("ip", "link", "del", name, check=False)
        if self.table_exists():
            run("nft", "delete", "table", "ip", self.table, check=False)
        for name in self.links():
            if name.startswith(f"mdt{self.tag}") or name in veths:
                run("ip", "link", "del", name, check=False)
        namespaces = run("ip", "netns", "list").stdout
        leftovers += [f"netns {line.split()[0]}" for line in namespaces.splitlines()
                      if line.startswith(f"mdt{self.tag}")]
        return leftovers


@pytest.fixture
def netenv(tmp_path: Path) -> Iterator[NetEnv]:
    env = NetEnv(tmp_path / "root")
    try:
        yield env
    finally:
        leftovers = env.teardown()
    assert leftovers == [], "the library left these behind"


@pytest.fixture
def outside_host(netenv: NetEnv) -> Callable[[], tuple[FakeContainer, str, str]]:
    """A namespace playing an upstream host, linked to the host by a veth on a test-only
    subnet of 198.18.0.0/15 (RFC 2544). It has no route back to container subnets, so
    only masqueraded traffic can get answers. Returns (namespace, its ip, host's ip)."""

    def make() -> tuple[FakeContainer, str, str]:
        ns = netenv.container()
        third = random.randrange(0, 256)
        host_ip, far_ip = f"198.18.{third}.1", f"198.18.{third}.2"
        host_end = netenv.bridge_name("up")
        netenv.extra_links.append(host_end)
        run("ip", "link", "add", host_end, "type", "veth", "peer", "name", "up0",
            "netns", ns.name)
        run("ip", "addr", "add", f"{host_ip}/24", "dev", host_end)
        run("ip", "link", "set", host_end, "up")
        ns.exec("ip", "addr", "add", f"{far_ip}/24", "dev", "up0")
        ns.exec("ip", "link", "set", "up0", "up")
        ns.exec("ip", "link", "set", "lo", "up")
        return ns, far_ip, host_ip

    return make


def wait_for(predicate: Callable[[], bool], timeout: float = 5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.fixture(autouse=True)
def _root_only() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root")
