"""The v1 manager against a fake legacy hierarchy: directories, control files, stats."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from minidocker.linux import cgroups
from minidocker.linux.cgroups import CgroupError
from minidocker.linux.cgroups.v1 import V1Manager
from minidocker.runtime.cgroup import paused
from tests.unit.cgroups.fakes import read


def test_create_makes_a_directory_per_hierarchy_and_seeds_cpuset(
        open_v1: Callable[..., V1Manager], v1_root: Path) -> None:
    mgr = open_v1("/minidocker/c1")
    mgr.create()
    for ctrl in ("cpu", "memory", "pids", "devices", "freezer", "cpuset"):
        assert (v1_root / ctrl / "minidocker" / "c1").is_dir()
    assert (v1_root / "unified" / "minidocker" / "c1").is_dir()
    # a new cpuset cgroup accepts no task until cpus and mems are set: the parent's
    assert read(v1_root / "cpuset/minidocker/cpuset.cpus") == "0-1"
    assert read(v1_root / "cpuset/minidocker/c1/cpuset.mems") == "0"


def test_apply_writes_each_controller(open_v1: Callable[..., V1Manager]) -> None:
    mgr = open_v1()
    mgr.create()
    mgr.apply({
        "memory": {"limit": 64 << 20, "swap": 128 << 20, "reservation": 32 << 20,
                   "kernel": 16 << 20, "kernelTCP": 1 << 20, "swappiness": 10,
                   "disableOOMKiller": True},
        "cpu": {"shares": 512, "quota": 20000, "period": 50000, "burst": 1000,
                "realtimeRuntime": 500, "realtimePeriod": 1000, "idle": 1, "cpus": "1",
                "mems": "0"},
        "pids": {"limit": 42},
        "blockIO": {"weight": 300, "weightDevice": [{"major": 8, "minor": 0, "weight": 200}],
                    "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1000}],
                    "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 20}]},
        "devices": [{"allow": False, "access": "rwm"},
                    {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rw"},
                    {"allow": False, "type": "b", "major": 8, "access": "m"}],
    })
    d = mgr.dirs
    expected = {
        ("memory", "memory.limit_in_bytes"): str(64 << 20),
        ("memory", "memory.memsw.limit_in_bytes"): str(128 << 20),
        ("memory", "memory.soft_limit_in_bytes"): str(32 << 20),
        ("memory", "memory.kmem.limit_in_bytes"): str(16 << 20),
        ("memory", "memory.kmem.tcp.limit_in_bytes"): str(1 << 20),
        ("memory", "memory.swappiness"): "10",
        ("memory", "memory.oom_control"): "1",
        ("cpu", "cpu.shares"): "512",
        ("cpu", "cpu.cfs_quota_us"): "20000",
        ("cpu", "cpu.cfs_period_us"): "50000",
        ("cpu", "cpu.cfs_burst_us"): "1000",
        ("cpu", "cpu.rt_runtime_us"): "500",
        ("cpu", "cpu.rt_period_us"): "1000",
        ("cpu", "cpu.idle"): "1",
        ("cpuset", "cpuset.cpus"): "1",
        ("pids", "pids.max"): "42",
        ("blkio", "blkio.bfq.weight"): "300",
        ("blkio", "blkio.bfq.weight_device"): "8:0 200",
        ("blkio", "blkio.throttle.read_bps_device"): "8:0 1000",
        ("blkio", "blkio.throttle.write_iops_device"): "8:16 20",
        # a fake file keeps only the last write: the deny of 'b 8:* m' came last
        ("devices", "devices.deny"): "b 8:* m",
        ("devices", "devices.allow"): "c 1:3 rw",
    }
    for (ctrl, name), value in expected.items():
        assert read(os.path.join(d[ctrl], name)) == value, name


def test_unlimited_values(open_v1: Callable[..., V1Manager]) -> None:
    mgr = open_v1()
    mgr.create()
    mgr.apply({"memory": {"limit": -1, "swap": -1}, "pids": {"limit": -1},
               "cpu": {"quota": -1}})
    assert read(os.path.join(mgr.dirs["memory"], "memory.limit_in_bytes")) == "-1"
    assert read(os.path.join(mgr.dirs["memory"], "memory.memsw.limit_in_bytes")) == "-1"
    assert read(os.path.join(mgr.dirs["pids"], "pids.max")) == "max"
    assert read(os.path.join(mgr.dirs["cpu"], "cpu.cfs_quota_us")) == "-1"


@pytest.mark.parametrize("resources,key", [
    ({"hugepageLimits": [{"pageSize": "2MB", "limit": 1 << 21}]}, "hugepageLimits"),
    ({"network": {"classID": 0x100001}}, "network.classID"),
    ({"network": {"priorities": [{"name": "eth0", "priority": 5}]}}, "network.priorities"),
    ({"rdma": {"mlx5_0": {"hcaHandles": 3}}}, "rdma.mlx5_0"),
    ({"unified": {"memory.high": "1G"}}, "unified.memory.high"),
])
def test_a_controller_this_host_lacks_is_an_error_naming_the_key(
        open_v1: Callable[..., V1Manager], v1_root: Path, resources: dict[str, object],
        key: str) -> None:
    mgr = open_v1()
    with pytest.raises(CgroupError, match=rf"^{key}: cannot apply"):
        mgr.validate(resources)


def test_a_missing_control_file_is_an_error_naming_the_key(
        open_v1: Callable[..., V1Manager]) -> None:
    mgr = open_v1()
    mgr.create()
    os.unlink(os.path.join(mgr.dirs["memory"], "memory.memsw.limit_in_bytes"))
    with pytest.raises(CgroupError, match="memory.swap: cannot apply: swap accounting"):
        mgr.apply({"memory": {"limit": 1 << 20, "swap": 2 << 20}})


def test_check_before_update_refuses_a_limit_below_usage(
        open_v1: Callable[..., V1Manager]) -> None:
    mgr = open_v1()
    mgr.create()  # the fake usage is 4096
    with pytest.raises(Exception, match="below the current usage"):
        mgr.apply({"memory": {"limit": 1024, "checkBeforeUpdate": True}})


def test_stats_have_runcs_shape(open_v1: Callable[..., V1Manager]) -> None:
    mgr = open_v1()
    mgr.create()
    st = mgr.stats()
    assert st["cpu"]["usage"]["total"] == 123456789
    assert st["cpu"]["usage"]["percpu"] == [100, 200]
    assert st["cpu"]["usage"]["user"] == 7 * (10**9 // os.sysconf("SC_CLK_TCK"))
    assert st["cpu"]["throttling"] == {"periods": 10, "throttled_periods": 4,
                                       "throttled_time": 5000}
    assert st["memory"]["usage"]["usage"] == 4096
    assert st["memory"]["usage"]["max"] == 8192
    assert st["memory"]["usage"]["failcnt"] == 2
    assert st["memory"]["cache"] == 300
    assert st["memory"]["raw"]["rss"] == 200
    assert st["pids"] == {"current": 2, "limit": 0}
    assert st["blkio"]["ioServiceBytesRecursive"] == [
        {"major": 8, "minor": 0, "op": "Read", "value": 4096},
        {"major": 8, "minor": 0, "op": "Write", "value": 8192}]
    assert mgr.oom_kill_count() == 3


def test_freeze_and_thaw_write_the_freezer_state(open_v1: Callable[..., V1Manager]) -> None:
    mgr = open_v1()
    mgr.create()
    assert not mgr.is_frozen()
    # the runtime's state and kill read the freezer without the managers: the same answer
    assert not paused(mgr.to_state())
    mgr.freeze()  # a fake file reads back what was written: FROZEN at once
    assert mgr.is_frozen()
    assert paused(mgr.to_state())
    mgr.thaw()
    assert not mgr.is_frozen()
    assert not paused(mgr.to_state())
    assert not paused({**mgr.to_state(), "dirs": {}})  # no freezer hierarchy


def test_state_round_trip_and_destroy_removes_what_was_created(
        open_v1: Callable[..., V1Manager], v1_root: Path) -> None:
    mgr = open_v1("/minidocker/c1")
    mgr.create()
    again = cgroups.manager_from_state(mgr.to_state())
    assert isinstance(again, V1Manager)
    assert again.dirs == mgr.dirs
    again.destroy()
    assert not (v1_root / "memory" / "minidocker").exists()
    again.destroy()  # already gone: fine


def test_mounts_bind_each_hierarchy_and_link_comounts(tmp_path: Path,
                                                      fake_kernel: None) -> None:
    from tests.unit.cgroups import fakes

    root = fakes.make_v1(tmp_path / "v1", ["cpu,cpuacct", "memory"])
    mgr = cgroups.open_manager(None, "c", root=str(root), mode="legacy", mountinfo="")
    steps = [(s.kind, s.target, s.source) for s in mgr.mounts(cgroupns=True)]
    assert steps == [
        ("tmpfs", "", "tmpfs"),
        ("mkdir", "cpu,cpuacct", ""),
        ("bind", "cpu,cpuacct", str(root / "cpu,cpuacct/minidocker/c")),
        ("symlink", "cpu", "cpu,cpuacct"),
        ("symlink", "cpuacct", "cpu,cpuacct"),
        ("mkdir", "memory", ""),
        ("bind", "memory", str(root / "memory/minidocker/c")),
    ]


HUGE = {"hugepageLimits": [{"pageSize": "2MB", "limit": 8 << 21}]}


def test_hybrid_hugetlb_not_delegated_is_an_error_with_a_hint(
        open_v1: Callable[..., V1Manager], v1_root: Path) -> None:
    mgr = open_v1()
    with pytest.raises(CgroupError, match="^hugepageLimits: cannot apply") as err:
        mgr.validate(HUGE)
    assert err.value.hint is not None and "+hugetlb" in err.value.hint


def test_hybrid_hugetlb_delegated_by_the_host_is_used(open_v1: Callable[..., V1Manager],
                                                      v1_root: Path) -> None:
    (v1_root / "unified" / "cgroup.subtree_control").write_text("hugetlb")
    mgr = open_v1("/minidocker/c1")
    mgr.create()
    # enabled in the parent minidocker made, never written in the host's root
    assert read(v1_root / "unified/minidocker/cgroup.subtree_control") == "+hugetlb"
    assert read(v1_root / "unified/cgroup.subtree_control") == "hugetlb"
    mgr.apply(HUGE)
    assert read(v1_root / "unified/minidocker/c1/hugetlb.2MB.max") == str(8 << 21)
    assert mgr.stats()["hugetlb"] == {"2MB": {"usage": 0, "max": 8 << 21, "failcnt": 0}}
    again = cgroups.manager_from_state(mgr.to_state())
    assert isinstance(again, V1Manager) and again.unified_root == mgr.unified_root


def test_cpuset_stats_are_lists_as_runc_reports_them(open_v1: Callable[..., V1Manager]
                                                     ) -> None:
    mgr = open_v1()
    mgr.create()
    mgr.apply({"cpu": {"cpus": "0-2,5", "mems": "0"}})
    assert mgr.stats()["cpuset"] == {"cpus": [0, 1, 2, 5], "mems": [0]}


def test_realtime_runtime_raises_the_parents_minidocker_made(
        open_v1: Callable[..., V1Manager], v1_root: Path) -> None:
    """A new cgroup has no realtime runtime (0): the parents made by minidocker (and its
    shared /minidocker) get the sum of their children's shares first; other parents,
    the host's root among them, are never written."""
    cpu = v1_root / "cpu"
    mgr = open_v1("/outer/inner/c1")
    mgr.create()
    mgr.apply({"cpu": {"realtimeRuntime": 5000, "realtimePeriod": 10000}})  # half a CPU
    assert read(cpu / "outer/inner/c1/cpu.rt_runtime_us") == "5000"
    assert read(cpu / "outer/inner/cpu.rt_runtime_us") == "500000"  # per 1 s
    assert read(cpu / "outer/cpu.rt_runtime_us") == "500000"
    assert not (cpu / "cpu.rt_runtime_us").exists()  # the host's root: not touched
    first = open_v1(None, cid="c2")  # /minidocker/c2
    first.create()
    first.apply({"cpu": {"realtimeRuntime": 100000}})
    second = open_v1(None, cid="c3")  # /minidocker exists now: still minidocker's own
    second.create()
    second.apply({"cpu": {"realtimeRuntime": 200000}})
    assert read(cpu / "minidocker/cpu.rt_runtime_us") == "300000"  # 0.1 + 0.2 of 1 s
