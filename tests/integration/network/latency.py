"""Measure network setup/teardown: the library (rtnetlink) against iproute2 batches.

Not a test (no timed assertions, see DESIGN.md): run as root with
`.venv/bin/python -m tests.integration.network.latency [N]`; numbers go to
docs/networking.md. Uses its own root, bridge, nft table and namespaces, removed after.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable

from minidocker import network
from minidocker.network import link


def timed(samples: list[float], fn: Callable[[], object]) -> None:
    t = time.perf_counter()
    fn()
    samples.append(time.perf_counter() - t)


def main(n: int = 20) -> None:
    tag = uuid.uuid4().hex[:5]
    root = tempfile.mkdtemp(prefix="mdlat")
    os.makedirs(f"{root}/network")
    with open(f"{root}/network/config.json", "w") as f:
        json.dump({"nft_table": f"mdl{tag}", "default_bridge": f"mdl{tag}b0",
                   "pools": [{"base": "10.211.0.0/16", "size": 24}]}, f)
    names = [f"mdl{tag}n{i}" for i in range(n)]
    results: dict[str, list[float]] = {}

    def sample(name: str) -> list[float]:
        return results.setdefault(name, [])

    def one_round(path: str, ns: str, i: int) -> None:
        timed(sample("connect (library, records + netlink)"),
              lambda: network.connect(root, "bridge", f"c{i}", path))
        timed(sample("disconnect"), lambda: network.disconnect(root, "bridge", f"c{i}"))
        timed(sample("connect with one published port"),
              lambda: network.connect(root, "bridge", f"p{i}", path,
                                      ports=network.parse_port_spec("127.0.0.1::80")))
        timed(sample("disconnect with one published port"),
              lambda: network.disconnect(root, "bridge", f"p{i}"))
        ip = f"{prefix}.{200 + i}"
        timed(sample("netlink: veth into netns, addr, up, route"),
              lambda: link.attach(path, net.bridge, veth, "eth0", ip, net.prefixlen,
                                  net.gateway, link.mac_for(ip), net.mtu))
        timed(sample("netlink: delete veth"), lambda: link.detach(veth))

        def iproute2() -> None:
            mtu = net.mtu or 1500
            subprocess.run(["ip", "-batch", "-"], text=True, check=True, input=(
                f"link add {veth} mtu {mtu} master {net.bridge} up type veth "
                f"peer name eth0 mtu {mtu} netns {ns}\n"))
            subprocess.run(["ip", "-n", ns, "-batch", "-"], text=True, check=True, input=(
                f"link set lo up\naddr add {ip}/{net.prefixlen} dev eth0\n"
                f"link set eth0 up\nroute add default via {net.gateway}\n"))
        timed(sample("iproute2: 2 x ip -batch (same steps)"), iproute2)
        timed(sample("iproute2: ip link del"),
              lambda: subprocess.run(["ip", "link", "del", veth], check=True))

    veth = f"mdl{tag}v"
    try:
        net = network.ensure_network(root)
        prefix = net.subnet.rsplit(".", 1)[0]
        for i, ns in enumerate(names):
            subprocess.run(["ip", "netns", "add", ns], check=True)
            one_round(f"/run/netns/{ns}", ns, i)
        for name, values in results.items():
            print(f"{name:44s} median {statistics.median(values) * 1000:6.2f} ms"
                  f"   min {min(values) * 1000:6.2f} ms")
    finally:
        for ns in names:
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
        network.remove_network(root, "bridge", predefined_ok=True)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
