"""The v2 manager against a fake unified hierarchy: delegation, control files, stats."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from minidocker.linux import cgroups
from minidocker.linux.cgroups import CgroupError, common
from minidocker.linux.cgroups.v2 import V2Manager, cpu, io, memory
from minidocker.runtime.cgroup import paused
from tests.unit.cgroups.fakes import V2_CONTROLLERS, read


def test_create_enables_the_controllers_in_every_ancestor(
        open_v2: Callable[..., V2Manager], v2_root: Path) -> None:
    mgr = open_v2("/minidocker/c1")
    mgr.create()
    assert Path(mgr.dir).is_dir()
    # the fake file keeps the last "+ctrl" written; the kernel accumulates them
    assert read(v2_root / "cgroup.subtree_control") == f"+{sorted(V2_CONTROLLERS.split())[-1]}"
    assert read(v2_root / "minidocker" / "cgroup.subtree_control").startswith("+")
    assert read(Path(mgr.dir) / "cgroup.subtree_control") == ""  # the leaf keeps none
    assert mgr.created == [str(v2_root / "minidocker"), mgr.dir]


def test_apply_writes_each_controller(open_v2: Callable[..., V2Manager]) -> None:
    mgr = open_v2()
    mgr.create()
    mgr.apply({
        "memory": {"limit": 64 << 20, "swap": 96 << 20, "reservation": 16 << 20},
        "cpu": {"shares": 2048, "quota": 25000, "period": 50000, "burst": 100, "idle": 0,
                "cpus": "0", "mems": "0"},
        "pids": {"limit": 7},
        "blockIO": {"weight": 1000,
                    "throttleWriteBpsDevice": [{"major": 8, "minor": 0, "rate": 4096}]},
        "hugepageLimits": [{"pageSize": "2MB", "limit": 4 << 21}],
        "unified": {"memory.high": "48M"},
    })
    d = Path(mgr.dir)
    assert read(d / "memory.max") == str(64 << 20)
    assert read(d / "memory.swap.max") == str(32 << 20)  # OCI swap is memory + swap
    assert read(d / "memory.low") == str(16 << 20)
    assert read(d / "memory.high") == "48M"
    assert read(d / "cpu.weight") == str(cpu.weight(2048))
    assert read(d / "cpu.max") == "25000 50000"
    assert read(d / "cpu.max.burst") == "100"
    assert read(d / "cpuset.cpus") == "0"
    assert read(d / "pids.max") == "7"
    assert read(d / "io.weight") == "10000"
    assert read(d / "io.max") == "8:0 wbps=4096"
    assert read(d / "hugetlb.2MB.max") == str(4 << 21)


def test_a_period_alone_keeps_the_quota(open_v2: Callable[..., V2Manager]) -> None:
    mgr = open_v2()
    mgr.create()
    mgr.apply({"cpu": {"quota": 30000}})
    assert read(Path(mgr.dir) / "cpu.max") == "30000 100000"
    mgr.apply({"cpu": {"period": 60000}})
    assert read(Path(mgr.dir) / "cpu.max") == "30000 60000"
    mgr.apply({"cpu": {"quota": -1}})
    assert read(Path(mgr.dir) / "cpu.max") == "max 60000"


def test_conversions_match_runc() -> None:
    assert cpu.weight(2) == 1
    assert cpu.weight(1024) == 39
    assert cpu.weight(262144) == 10000
    assert io.io_weight(10) == 1
    assert io.io_weight(1000) == 10000
    assert memory.swap_max(100, 300) == "200"
    assert memory.swap_max(100, -1) == "max"
    assert memory.swap_max(None, None) is None


@pytest.mark.parametrize("resources,message", [
    ({"memory": {"swappiness": 10}}, "memory.swappiness: cgroup v2 has no"),
    ({"memory": {"kernel": 1 << 20}}, "memory.kernel: cgroup v2 has no"),
    ({"memory": {"disableOOMKiller": True}}, "memory.disableOOMKiller"),
    ({"memory": {"swap": 1 << 20}}, "memory.swap: on cgroup v2 a swap limit needs"),
    ({"cpu": {"realtimeRuntime": 100}}, "cpu.realtimeRuntime: cgroup v2 has no realtime"),
    ({"blockIO": {"leafWeight": 100}}, "blockIO.leafWeight"),
    ({"network": {"classID": 1}}, "network.classID: cannot apply"),
    ({"rdma": {"mlx": {"hcaHandles": 1}}}, "rdma.mlx: cannot apply: the rdma"),
    ({"unified": {"misc.max": "x 1"}}, "unified.misc.max: cannot apply: the misc"),
    ({"hugepageLimits": [{"pageSize": "1GB", "limit": 0}]}, "no 1GB huge pages"),
])
def test_what_v2_cannot_do_is_an_error_naming_the_key(
        open_v2: Callable[..., V2Manager], resources: dict[str, object],
        message: str) -> None:
    mgr = open_v2()
    mgr.create()
    with pytest.raises(Exception, match=message):
        mgr.validate(resources)


def test_an_unknown_unified_file_is_an_error(open_v2: Callable[..., V2Manager]) -> None:
    mgr = open_v2()
    mgr.create()
    with pytest.raises(CgroupError, match="unified.memory.hihg: cannot apply: no such"):
        mgr.apply({"unified": {"memory.hihg": "1"}})


def test_a_controller_missing_from_the_parent_is_an_error(
        open_v2: Callable[..., V2Manager], v2_root: Path) -> None:
    (v2_root / "cgroup.controllers").write_text("cpu memory")
    mgr = open_v2()
    with pytest.raises(CgroupError, match="^pids.limit: cannot apply: the pids cgroup"):
        mgr.validate({"pids": {"limit": 5}})


def test_stats_have_runcs_shape(open_v2: Callable[..., V2Manager]) -> None:
    mgr = open_v2()
    mgr.create()
    st = mgr.stats()
    assert st["cpu"]["usage"] == {"total": 1_000_000, "kernel": 400_000, "user": 600_000,
                                  "percpu": []}
    assert st["cpu"]["throttling"] == {"periods": 5, "throttled_periods": 2,
                                       "throttled_time": 70_000}
    assert st["memory"]["usage"] == {"usage": 4096, "max": 8192, "failcnt": 5,
                                     "limit": 2**64 - 1}
    assert st["memory"]["cache"] == 300
    assert st["memory"]["oom_kill"] == 1
    assert st["pids"] == {"current": 1, "limit": 0}
    assert st["blkio"]["ioServicedRecursive"] == [
        {"major": 8, "minor": 0, "op": "Read", "value": 1},
        {"major": 8, "minor": 0, "op": "Write", "value": 2}]
    assert st["hugetlb"] == {"2MB": {"usage": 0, "max": 0, "failcnt": 0}}
    assert mgr.oom_kill_count() == 1


def test_freeze_waits_for_the_frozen_event(open_v2: Callable[..., V2Manager]) -> None:
    mgr = open_v2()
    mgr.create()
    (Path(mgr.dir) / "cgroup.events").write_text("populated 1\nfrozen 1\n")
    assert not paused(mgr.to_state())
    mgr.freeze()
    assert read(Path(mgr.dir) / "cgroup.freeze") == "1"
    assert mgr.is_frozen()
    # the runtime's state and kill read the freezer without the managers: the same answer
    assert paused(mgr.to_state())
    mgr.thaw()
    assert not mgr.is_frozen()
    assert not paused(mgr.to_state())


def test_state_round_trip_and_mounts(open_v2: Callable[..., V2Manager]) -> None:
    mgr = open_v2("/a/b")
    again = cgroups.manager_from_state(mgr.to_state())
    assert isinstance(again, V2Manager)
    assert (again.root, again.path, again.dir) == (mgr.root, mgr.path, mgr.dir)
    assert [(m.kind, m.target) for m in mgr.mounts(cgroupns=True)] == [("cgroup2", "")]
    assert [(m.kind, m.source) for m in mgr.mounts(cgroupns=False)] == [("bind", mgr.dir)]


def test_corrupt_state_is_a_clear_error() -> None:
    with pytest.raises(Exception, match="corrupt cgroup state"):
        cgroups.manager_from_state({"version": 3})
    with pytest.raises(Exception, match="corrupt cgroup state"):
        cgroups.manager_from_state({"version": 2})


def test_the_shared_parent_goes_with_the_last_container(open_v2: Callable[..., V2Manager],
                                                        v2_root: Path) -> None:
    first, second = open_v2(None, "one"), open_v2(None, "two")
    first.create()
    second.create()
    assert first.created == [str(v2_root / "minidocker"), first.dir]
    assert second.created == [second.dir]
    first.destroy()
    assert (v2_root / "minidocker").is_dir()  # still used by the second
    second.destroy()
    assert not (v2_root / "minidocker").exists()


def test_destroy_refuses_while_tasks_remain(open_v2: Callable[..., V2Manager]) -> None:
    mgr = open_v2()
    mgr.create()
    (Path(mgr.dir) / "cgroup.procs").write_text("4242\n")
    with pytest.raises(CgroupError, match="cannot remove cgroup .*busy"):
        common.remove_dir(mgr.dir, attempts=2)
