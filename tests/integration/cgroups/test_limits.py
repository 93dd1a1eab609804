"""Resource limits enforced by the kernel on real processes: memory (OOM kill counted),
pids, CPU quota, and a limit changed while the container runs."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from minidocker.errors import MinidockerError
from minidocker.linux.cgroups.base import CgroupManager
from tests.integration.cgroups.conftest import MODE, spawn

MiB = 1 << 20
HOG = "b = bytearray(256 << 20)\nb[::4096] = b'x' * len(b[::4096])\nprint('survived')"


def test_a_memory_hog_is_oom_killed_and_counted(make_cgroup: Callable[..., CgroupManager]
                                                ) -> None:
    mgr = make_cgroup("hog", {"memory": {"limit": 64 * MiB, "swap": 64 * MiB}})
    assert mgr.oom_kill_count() == 0
    proc = spawn(mgr, HOG, stdout=subprocess.PIPE)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL
    assert "survived" not in out
    assert mgr.oom_kill_count() == 1
    assert mgr.stats()["memory"]["oom_kill"] == 1


def test_a_process_within_the_limit_is_not_killed(make_cgroup: Callable[..., CgroupManager]
                                                  ) -> None:
    mgr = make_cgroup("small", {"memory": {"limit": 128 * MiB, "swap": 128 * MiB}})
    proc = spawn(mgr, "b = bytearray(16 << 20); b[::4096] = b'x' * len(b[::4096])")
    assert proc.wait(timeout=120) == 0
    assert mgr.oom_kill_count() == 0
    assert 0 < mgr.stats()["memory"]["usage"]["max"] <= 128 * MiB


FORK_BOMB = """
import os, sys, time
n = 0
while n < 100:
    try:
        pid = os.fork()
    except BlockingIOError:
        break
    if pid == 0:
        time.sleep(600)
        os._exit(0)
    n += 1
print(n, flush=True)
sys.stdin.read()
"""


def test_a_fork_bomb_stops_at_pids_max(make_cgroup: Callable[..., CgroupManager]) -> None:
    mgr = make_cgroup("bomb", {"pids": {"limit": 10}})
    proc = spawn(mgr, FORK_BOMB, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdin is not None
    forked = int(proc.stdout.readline())
    assert forked == 9  # the bomb itself is the 10th task
    assert mgr.stats()["pids"] == {"current": 10, "limit": 10}
    assert len(mgr.pids()) == 10
    mgr.kill_all()
    proc.wait(timeout=30)


BUSY = """
import time
end = time.monotonic() + 2.0
while time.monotonic() < end:
    pass
"""


def test_a_busy_loop_gets_the_cpu_its_quota_allows(make_cgroup: Callable[..., CgroupManager]
                                                   ) -> None:
    mgr = make_cgroup("busy", {"cpu": {"quota": 20_000, "period": 100_000}})
    start = time.monotonic()
    proc = spawn(mgr, BUSY)
    assert proc.wait(timeout=120) == 0
    wall = time.monotonic() - start
    cpu = mgr.stats()["cpu"]
    used = cpu["usage"]["total"] / 1e9
    # 20% of one CPU; unthrottled it would use ~100% of the wall time
    assert 0 < used <= 0.2 * wall + 0.25, (used, wall)
    assert cpu["throttling"]["throttled_periods"] > 0


def test_update_changes_a_running_containers_memory_limit(
        make_cgroup: Callable[..., CgroupManager]) -> None:
    mgr = make_cgroup("upd", {"memory": {"limit": 64 * MiB, "swap": 64 * MiB}})
    proc = spawn(mgr, "import sys; sys.stdin.read()", stdin=subprocess.PIPE)
    try:
        for limit in (256 * MiB, 48 * MiB, 512 * MiB):  # up, down, up: memsw stays >= limit
            mgr.apply({"memory": {"limit": limit, "swap": limit}})
            assert mgr.stats()["memory"]["usage"]["limit"] == limit
        # the new limit is enforced on the running process
        mgr.apply({"memory": {"limit": 48 * MiB, "swap": 48 * MiB}})
        hog = spawn(mgr, HOG)
        assert hog.wait(timeout=120) == -signal.SIGKILL
        assert mgr.oom_kill_count() == 1
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait()


def test_cpuset_pins_the_processes(make_cgroup: Callable[..., CgroupManager]) -> None:
    mgr = make_cgroup("pin", {"cpu": {"cpus": "0", "mems": "0", "shares": 256}})
    proc = spawn(mgr, "import os; print(sorted(os.sched_getaffinity(0)))",
                 stdout=subprocess.PIPE)
    out, _ = proc.communicate(timeout=60)
    assert out.strip() == "[0]"
    assert mgr.stats()["cpu"]["usage"]["total"] > 0


def _a_block_device() -> tuple[int, int] | None:
    for name in sorted(os.listdir("/sys/block")):
        if not name.startswith(("loop", "ram", "zram")):
            major, minor = Path(f"/sys/block/{name}/dev").read_text().split(":")
            return int(major), int(minor)
    return None


def test_block_io_throttles_and_weight_where_the_kernel_weighs(
        make_cgroup: Callable[..., CgroupManager]) -> None:
    """Throttles on every host; a weight where the kernel has a weight file (BFQ, CFQ or
    v2's io cost model), and else a clear refusal (runc fails then too). A weight of 0,
    which dockerd always sends, is unset and never refused."""
    dev = _a_block_device()
    if dev is None:
        pytest.skip("no block device on this machine")
    major, minor = dev
    mgr = make_cgroup("blk", {"blockIO": {
        "weight": 0, "leafWeight": 0,
        "throttleReadBpsDevice": [{"major": major, "minor": minor, "rate": 1 << 20}],
        "throttleWriteIOPSDevice": [{"major": major, "minor": minor, "rate": 100}]}})
    directory = Path(mgr.host_paths()["blkio" if mgr.version == 1 else ""])
    if mgr.version == 1:
        text = (directory / "blkio.throttle.read_bps_device").read_text()
        assert text.split() == [f"{major}:{minor}", str(1 << 20)]
        text = (directory / "blkio.throttle.write_iops_device").read_text()
        assert text.split() == [f"{major}:{minor}", "100"]
        weights = [directory / f for f in ("blkio.weight", "blkio.bfq.weight")]
    else:
        text = (directory / "io.max").read_text()
        assert text.split() == [f"{major}:{minor}", f"rbps={1 << 20}", "wbps=max",
                                "riops=max", "wiops=100"]
        weights = [directory / f for f in ("io.bfq.weight", "io.weight")]
    assert set(mgr.stats()["blkio"]) == {"ioServiceBytesRecursive", "ioServicedRecursive"}
    present = [w for w in weights if w.exists()]
    if present:
        mgr.apply({"blockIO": {"weight": 500}})
        value = present[0].read_text().split()
        assert value[-1] in ("500", "4950")  # BFQ and v1 as given; io.weight scaled
    else:
        with pytest.raises(MinidockerError, match=r"^blockIO\.weight: cannot apply: this "
                                                  r"kernel offers no I/O weights"):
            mgr.apply({"blockIO": {"weight": 500}})


def test_hugetlb_limits_where_the_host_has_the_controller(
        make_cgroup: Callable[..., CgroupManager]) -> None:
    res = {"hugepageLimits": [{"pageSize": "2MB", "limit": 4 << 21}]}
    probe = make_cgroup("probe")
    try:
        probe.validate(res)
    except MinidockerError as exc:
        assert MODE != "unified", exc  # the test VM's kernel has hugetlb
        assert str(exc).startswith("hugepageLimits[0]: cannot apply") or \
            str(exc).startswith("hugepageLimits: cannot apply")
        return
    mgr = make_cgroup("huge", res)
    assert mgr.stats()["hugetlb"]["2MB"]["usage"] == 0
    name = "hugetlb.2MB.limit_in_bytes" if mgr.version == 1 else "hugetlb.2MB.max"
    directory = mgr.host_paths()["hugetlb" if mgr.version == 1 else ""]
    assert (Path(directory) / name).read_text().strip() == str(4 << 21)


def test_events_report_an_oom_kill_as_it_happens(make_cgroup: Callable[..., CgroupManager]
                                                 ) -> None:
    from minidocker.linux.cgroups import events

    mgr = make_cgroup("evt", {"memory": {"limit": 64 * MiB, "swap": 64 * MiB}})
    deadline = time.monotonic() + 300
    # no polling: the notifier wakes the stream (poll only bounds noticing stop())
    stream = events.watch("evt", mgr, interval=3600, poll=300,
                          stop=lambda: time.monotonic() > deadline)
    first = next(stream)
    assert first["type"] == "stats" and first["data"]["memory"]["oom_kill"] == 0
    hog = spawn(mgr, HOG)
    assert next(stream) == {"type": "oom", "id": "evt"}
    assert hog.wait(timeout=60) == -signal.SIGKILL
    assert time.monotonic() < deadline - 200  # woken by the kill, not by a timeout


def test_the_oom_notifier_fd_wakes_a_selector(make_cgroup: Callable[..., CgroupManager]
                                              ) -> None:
    import selectors

    from minidocker.linux.cgroups.notify import OOMNotifier

    mgr = make_cgroup("ntf", {"memory": {"limit": 64 * MiB, "swap": 64 * MiB}})
    with OOMNotifier(mgr) as notifier, selectors.DefaultSelector() as sel:
        sel.register(notifier, selectors.EVENT_READ)
        assert sel.select(timeout=0) == []
        hog = spawn(mgr, HOG)
        assert hog.wait(timeout=120) == -signal.SIGKILL
        assert sel.select(timeout=60)  # readable
        notifier.drain()
        assert mgr.oom_kill_count() == 1


def test_every_memory_and_cpu_setting_the_kernel_offers(
        make_cgroup: Callable[..., CgroupManager]) -> None:
    memory: dict[str, object] = {"limit": 256 * MiB, "swap": 512 * MiB,
                                 "reservation": 128 * MiB}
    if MODE != "unified":  # v1 only: tcp buffer limit, swappiness, the OOM killer switch
        memory.update({"kernelTCP": 16 * MiB, "swappiness": 20, "disableOOMKiller": False})
    res = {"memory": memory,
           "cpu": {"shares": 512, "quota": 50_000, "period": 100_000, "burst": 10_000,
                   "idle": 0, "cpus": "0", "mems": "0"}}
    mgr = make_cgroup("all", res)
    paths = mgr.host_paths()
    if MODE == "unified":
        d = Path(paths[""])
        expected = {"memory.max": str(256 * MiB), "memory.swap.max": str(256 * MiB),
                    "memory.low": str(128 * MiB), "cpu.weight": "20",
                    "cpu.max": "50000 100000", "cpu.max.burst": "10000", "cpu.idle": "0",
                    "cpuset.cpus": "0"}
        for name, value in expected.items():
            assert (d / name).read_text().strip() == value, name
    else:
        mem, cpu = Path(paths["memory"]), Path(paths["cpu"])
        assert (mem / "memory.kmem.tcp.limit_in_bytes").read_text().strip() == str(16 * MiB)
        assert (mem / "memory.swappiness").read_text().strip() == "20"
        assert (mem / "memory.soft_limit_in_bytes").read_text().strip() == str(128 * MiB)
        assert (cpu / "cpu.cfs_burst_us").read_text().strip() == "10000"
        assert (cpu / "cpu.shares").read_text().strip() == "512"
    st = mgr.stats()
    assert st["memory"]["usage"]["limit"] == 256 * MiB
    assert st["cpuset"]["cpus"] == [0]


def test_a_kernel_memory_limit_is_applied_or_refused_never_ignored(
        make_cgroup: Callable[..., CgroupManager]) -> None:
    mgr = make_cgroup("kmem")
    try:
        mgr.apply({"memory": {"kernel": 64 * MiB}})
    except MinidockerError as exc:
        assert str(exc).startswith("memory.kernel: ")
        return
    path = Path(mgr.host_paths()["memory"]) / "memory.kmem.limit_in_bytes"
    assert path.read_text().strip() == str(64 * MiB)
