"""Many containers at once (not timed: bench/bench_scale.py measures): 200 `run -d` in
parallel on the default bridge, each with an address of its own, one supervisor for all,
and `rm -f` of them all leaving nothing behind."""

from __future__ import annotations

import concurrent.futures
import ipaddress
import json
import os
from pathlib import Path

from tests.integration.engine.conftest import Engine, mounts_under
from tests.integration.network.test_engine_networking import residue

COUNT = 200
BATCH = 50


def _processes_of(root: Path) -> list[str]:
    """Processes outside the containers that name the root (monitors, supervisors)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if str(root).encode() in argv and b"pytest" not in argv:
            found.append(argv.replace(b"\0", b" ").decode(errors="replace")[:120])
    return found


def test_two_hundred_parallel_runs_get_their_own_addresses_and_leave_nothing(
        engine: Engine) -> None:
    def start(i: int) -> str:
        return engine.ok("run", "-d", "--name", f"c{i}", engine.image, "sleep", "600",
                         timeout=300).strip()

    with concurrent.futures.ThreadPoolExecutor(BATCH) as pool:
        ids = list(pool.map(start, range(COUNT)))
    docs = json.loads(engine.ok("inspect", *ids, timeout=120))
    assert [d["State"]["Status"] for d in docs] == ["running"] * COUNT
    nets = [d["NetworkSettings"]["Networks"]["bridge"] for d in docs]
    addresses = [n["IPAddress"] for n in nets]
    assert len(set(addresses)) == COUNT and all(addresses)
    subnet = ipaddress.ip_network(f"{nets[0]['Gateway']}/{nets[0]['IPPrefixLen']}",
                                  strict=False)
    assert all(ipaddress.ip_address(a) in subnet for a in addresses)
    assert len({d["NetworkSettings"]["MacAddress"] for d in docs}) == COUNT
    states = [json.loads((engine.root / "containers" / cid / "state.json").read_text())
              for cid in ids]
    assert len({s["MonitorPid"] for s in states}) == 1  # one supervisor watches them all
    assert len(engine.ok("ps", "-q").split()) == COUNT

    def remove(chunk: list[str]) -> None:
        engine.ok("rm", "-f", *chunk, timeout=300)

    with concurrent.futures.ThreadPoolExecutor(BATCH // 5) as pool:
        list(pool.map(remove, [ids[i:i + 10] for i in range(0, COUNT, 10)]))
    assert engine.ok("ps", "-aq") == ""
    assert engine.container_dirs() == []
    assert mounts_under(engine.root) == []
    assert residue(engine) == []  # veths, port rules, leases, endpoints
    assert _processes_of(engine.root) == []
    for controller in ("memory", "pids", "cpu"):
        base = Path("/sys/fs/cgroup") / controller / "minidocker"
        assert not [cid for cid in ids if (base / cid).exists()], controller
