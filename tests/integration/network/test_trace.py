"""The network steps of a trace: a traced connect records the bridge, the address lease,
the veth pair, the address and route inside the namespace, the DNAT rules of the
published port and the hosts files, with their values; disconnect its undoing."""

from __future__ import annotations

from pathlib import Path

import minidocker
from minidocker import network, trace
from tests.integration.network.conftest import NetEnv, run
from tests.trace_schema import check_trace


def test_traced_connect_and_disconnect(netenv: NetEnv, tmp_path: Path) -> None:
    c = netenv.container()
    path = tmp_path / "t.json"
    minidocker.TRACE = trace.Tracer(str(path), "connect")
    try:
        ep = network.connect(netenv.root, "bridge", c.id, c.path, name="web",
                             ports=network.parse_port_spec("127.0.0.1::80"))
        inside = run("ip", "netns", "exec", c.name, "ip", "-4", "-o", "addr", "show",
                     "eth0").stdout.split()
        network.disconnect_all(netenv.root, c.id)
    finally:
        minidocker.TRACE = None
    steps = [e for e in check_trace(path) if e["ph"] == "X" and e["cat"] == "network"]
    names = [s["name"] for s in steps]
    wanted = ["address leased", "veth pair", "address", "route", "published ports (DNAT)",
              "disconnected"]
    assert [n for n in names if n in wanted] == wanted
    by = {s["name"]: s["args"] for s in steps}
    assert by["address leased"]["address"] == ep.ip
    assert by["veth pair"]["host_end"] == ep.veth and by["veth pair"]["container_end"] == "eth0"
    assert by["address"]["address"] == f"{ep.ip}/{ep.prefixlen}"
    assert by["route"] == {"destination": "default", "via": ep.gateway, "interface": "eth0",
                           "at": "minidocker/network/link.py:attach"}
    port = ep.ports[0].host_port
    [rule] = by["published ports (DNAT)"]["rules"]
    assert f"ip daddr 127.0.0.1 tcp dport {port} dnat to {ep.ip}:80" in rule
    assert by["address"]["address"] in inside  # what the kernel had, as the trace says
    assert by["disconnected"]["veth"] == ep.veth
