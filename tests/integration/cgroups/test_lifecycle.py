"""A container cgroup's life on the real hierarchy: freeze and thaw, kill everything,
rebuild from saved state, remove; bad input creates nothing; /sys/fs/cgroup as the
container sees it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from minidocker.errors import InvalidConfig, MinidockerError
from minidocker.linux import cgroups
from minidocker.linux.cgroups.base import CgroupManager
from tests.integration.cgroups.conftest import MODE, spawn, v1_only, v2_only

COUNTER = """
import sys, time
n = 0
while True:
    n += 1
    with open(sys.argv[1], "w") as f:
        f.write(str(n))
    time.sleep(0.01)
"""


def _count(path: Path) -> int:
    try:
        return int(path.read_text() or 0)
    except (OSError, ValueError):
        return 0


def _wait_for_progress(path: Path, timeout: float = 20) -> int:
    start = _count(path)
    deadline = time.monotonic() + timeout
    while _count(path) <= start:
        assert time.monotonic() < deadline, "the process made no progress"
        time.sleep(0.02)
    return _count(path)


def test_freeze_stops_the_processes_and_thaw_resumes_them(
        make_cgroup: Callable[..., CgroupManager], tmp_path: Path) -> None:
    mgr = make_cgroup("frz")
    counter = tmp_path / "n"
    proc = subprocess.Popen([sys.executable, "-c", COUNTER, str(counter)],
                            preexec_fn=lambda: mgr.add_process(os.getpid()))
    try:
        _wait_for_progress(counter)
        mgr.freeze()
        assert mgr.is_frozen()
        frozen_at = _count(counter)
        time.sleep(0.5)
        assert _count(counter) == frozen_at
        mgr.thaw()
        assert not mgr.is_frozen()
        _wait_for_progress(counter)
    finally:
        mgr.kill_all()
        proc.wait(timeout=30)


def test_kill_all_reaches_every_process_even_when_frozen(
        make_cgroup: Callable[..., CgroupManager]) -> None:
    mgr = make_cgroup("kill")
    # three rounds of fork: a tree of 8 processes
    proc = spawn(mgr, "import os, time\nfor _ in range(3):\n    os.fork()\ntime.sleep(600)")
    deadline = time.monotonic() + 30
    while len(mgr.pids()) < 8:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    mgr.freeze()
    mgr.kill_all()
    assert proc.wait(timeout=30) == -9
    cgroups.common.wait_until(lambda: not mgr.pids(), 10, "the tasks to exit")
    assert not mgr.is_frozen()


def test_a_manager_rebuilt_from_state_removes_the_cgroup(parent: str) -> None:
    mgr = cgroups.open_manager(f"{parent}/saved", "saved")
    mgr.create()
    try:
        mgr.apply({"pids": {"limit": 5}})
        state = json.loads(json.dumps(mgr.to_state()))  # as saved in state.json
    except BaseException:
        mgr.destroy()
        raise
    again = cgroups.manager_from_state(state)
    assert again.stats()["pids"]["limit"] == 5
    again.destroy()
    assert not any(os.path.exists(d) for d in mgr.host_paths().values())
    assert not any(os.path.exists(os.path.dirname(d)) for d in mgr.host_paths().values())
    again.destroy()  # already gone


@pytest.mark.parametrize("resources", [
    {"memory": {"limit": -2}},
    {"cpu": {"cpus": "zero"}},
    {"pids": {"limit": "many"}},
    {"memroy": {"limit": 1}},
])
def test_bad_input_creates_nothing(parent: str, resources: dict[str, object]) -> None:
    mgr = cgroups.open_manager(f"{parent}/bad", "bad")
    with pytest.raises(MinidockerError):
        mgr.validate(resources)
    assert not any(os.path.exists(os.path.dirname(d)) for d in mgr.host_paths().values())


def test_a_path_escaping_the_hierarchy_is_refused(parent: str) -> None:
    with pytest.raises(InvalidConfig, match="escape"):
        cgroups.open_manager(f"{parent}/../../x", "x")


@v1_only
def test_controllers_this_host_lacks_are_named(make_cgroup: Callable[..., CgroupManager]
                                               ) -> None:
    mgr = make_cgroup("lack")
    for key, res in (("hugepageLimits", {"hugepageLimits": [{"pageSize": "2MB",
                                                             "limit": 0}]}),
                     ("network.classID", {"network": {"classID": 1}}),
                     ("unified.memory.high", {"unified": {"memory.high": "1G"}})):
        v1 = mgr.host_paths()
        if key == "hugepageLimits" and "hugetlb" in v1 or key.startswith("network") and \
                "net_cls" in v1:
            continue
        with pytest.raises(MinidockerError, match=rf"^{key}: cannot apply"):
            mgr.apply(res)


@v2_only
def test_v2_delegates_controllers_and_applies_unified_values(
        make_cgroup: Callable[..., CgroupManager], parent: str) -> None:
    mgr = make_cgroup("uni", {"memory": {"limit": 256 << 20},
                              "unified": {"memory.high": "100M", "pids.max": "33"}})
    d = Path(mgr.host_paths()[""])
    enabled = (d.parent / "cgroup.subtree_control").read_text().split()
    assert {"cpu", "memory", "pids", "io"} <= set(enabled)
    # the host's root cgroup delegates only what containers use (no misc, rdma here)
    root_enabled = set(Path("/sys/fs/cgroup/cgroup.subtree_control").read_text().split())
    assert {"cpu", "memory", "pids", "io"} <= root_enabled
    assert not {"misc", "rdma"} & root_enabled
    assert (d / "memory.high").read_text().strip() == str(100 << 20)
    assert (d / "memory.max").read_text().strip() == str(256 << 20)
    assert mgr.stats()["pids"]["limit"] == 33


MOUNT = """
import json, os, sys
from minidocker.linux import cgroups, libc
state, target = json.loads(sys.argv[1]), sys.argv[2]
mgr = cgroups.manager_from_state(state)
mgr.add_process(os.getpid())
libc.unshare(libc.CLONE_NEWNS | libc.CLONE_NEWCGROUP)
libc.mount(None, "/", None, libc.MS_REC | libc.MS_PRIVATE)
cgroups.mount_cgroups(mgr.mounts(cgroupns=True), target)
found = {}
for dirpath, dirs, files in os.walk(target):
    for name in ("memory.limit_in_bytes", "memory.max", "pids.max"):
        if name in files:
            found[os.path.relpath(os.path.join(dirpath, name), target)] = \\
                open(os.path.join(dirpath, name)).read().strip()
    dirs[:] = [] if dirpath != target else dirs
try:
    open(os.path.join(target, [k for k in found][0]), "w").write("1")
    found["writable"] = True
except OSError as e:
    found["writable"] = e.strerror
print(json.dumps({"files": found, "cgroup": open("/proc/self/cgroup").read()}))
"""


def test_the_container_sees_its_own_cgroup_as_the_root(
        make_cgroup: Callable[..., CgroupManager], tmp_path: Path) -> None:
    mgr = make_cgroup("ns", {"memory": {"limit": 96 << 20}, "pids": {"limit": 21}})
    target = tmp_path / "sys-fs-cgroup"
    proc = subprocess.run([sys.executable, "-c", MOUNT, json.dumps(mgr.to_state()),
                           str(target)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    files = out.pop("files")
    writable = files.pop("writable")
    if MODE == "unified":
        assert files == {"memory.max": str(96 << 20), "pids.max": "21"}
    else:
        assert files == {"memory/memory.limit_in_bytes": str(96 << 20),
                         "pids/pids.max": "21"}
    assert writable == "Read-only file system"
    # in its cgroup namespace, the container's cgroup is "/"
    assert all(line.endswith(":/") for line in out["cgroup"].splitlines()
               if line.split(":")[1] in ("", "memory", "pids"))
