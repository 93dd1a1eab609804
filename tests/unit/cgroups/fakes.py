"""Fake cgroup hierarchies in a tmp dir: the control files the kernel would show.

A fake directory does not grow control files by itself as a kernel one does, so
`populate()` plays the kernel's part after a manager's create()."""

from __future__ import annotations

import os
from pathlib import Path

V1_FILES = {
    "cpu": {"cpu.shares": "1024", "cpu.cfs_quota_us": "-1", "cpu.cfs_period_us": "100000",
            "cpu.cfs_burst_us": "0", "cpu.rt_period_us": "1000000", "cpu.rt_runtime_us": "0",
            "cpu.idle": "0",
            "cpu.stat": "nr_periods 10\nnr_throttled 4\nthrottled_time 5000\n"},
    "cpuacct": {"cpuacct.usage": "123456789", "cpuacct.usage_percpu": "100 200 ",
                "cpuacct.usage_percpu_sys": "10 20", "cpuacct.usage_percpu_user": "90 180",
                "cpuacct.stat": "user 7\nsystem 3\n"},
    "cpuset": {"cpuset.cpus": "", "cpuset.mems": ""},
    "memory": {"memory.limit_in_bytes": "9223372036854771712",
               "memory.memsw.limit_in_bytes": "9223372036854771712",
               "memory.soft_limit_in_bytes": "9223372036854771712",
               "memory.kmem.limit_in_bytes": "9223372036854771712",
               "memory.kmem.tcp.limit_in_bytes": "9223372036854771712",
               "memory.swappiness": "60", "memory.use_hierarchy": "1",
               "memory.usage_in_bytes": "4096", "memory.max_usage_in_bytes": "8192",
               "memory.failcnt": "2", "memory.memsw.usage_in_bytes": "4096",
               "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n",
               "memory.stat": "cache 100\nrss 200\ntotal_cache 300\n"},
    "pids": {"pids.max": "max", "pids.current": "2"},
    "blkio": {"blkio.bfq.weight": "100", "blkio.bfq.weight_device": "",
              "blkio.throttle.read_bps_device": "", "blkio.throttle.write_bps_device": "",
              "blkio.throttle.read_iops_device": "", "blkio.throttle.write_iops_device": "",
              "blkio.throttle.io_service_bytes_recursive":
                  "8:0 Read 4096\n8:0 Write 8192\nTotal 12288\n",
              "blkio.throttle.io_serviced_recursive": "8:0 Read 1\n8:0 Write 2\nTotal 3\n"},
    "devices": {"devices.allow": "", "devices.deny": "", "devices.list": "a *:* rwm"},
    "freezer": {"freezer.state": "THAWED"},
    # a hybrid host's cgroup2 hierarchy, offering only hugetlb (as the development hosts)
    "unified": {"cgroup.controllers": "", "cgroup.subtree_control": "",
                "hugetlb.2MB.max": "max", "hugetlb.2MB.current": "0",
                "hugetlb.2MB.events": "max 0\n"},
}
V1_COMMON = {"cgroup.procs": "", "tasks": ""}
V1_ROOT_FILES = {"cpuset": {"cpuset.cpus": "0-1", "cpuset.mems": "0"},
                 "unified": {"cgroup.controllers": "hugetlb", "cgroup.subtree_control": ""}}

V2_CONTROLLERS = "cpuset cpu io memory hugetlb pids"
V2_FILES = {
    "cgroup.procs": "", "cgroup.controllers": V2_CONTROLLERS, "cgroup.subtree_control": "",
    "cgroup.events": "populated 0\nfrozen 0\n", "cgroup.freeze": "0", "cgroup.kill": "",
    "cpu.weight": "100", "cpu.max": "max 100000", "cpu.max.burst": "0", "cpu.idle": "0",
    "cpu.stat": "usage_usec 1000\nuser_usec 600\nsystem_usec 400\nnr_periods 5\n"
                "nr_throttled 2\nthrottled_usec 70\n",
    "cpuset.cpus": "", "cpuset.mems": "",
    "memory.max": "max", "memory.low": "0", "memory.high": "max", "memory.swap.max": "max",
    "memory.current": "4096", "memory.peak": "8192", "memory.swap.current": "0",
    "memory.events": "low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\noom_group_kill 0\n",
    "memory.stat": "anon 100\nfile 300\n",
    "pids.max": "max", "pids.current": "1",
    "io.max": "", "io.weight": "default 100",
    "io.stat": "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n",
    "hugetlb.2MB.max": "max", "hugetlb.2MB.current": "0", "hugetlb.2MB.events": "max 0\n",
}


def make_v1(root: Path, controllers: list[str] | None = None) -> Path:
    """A legacy layout: root/<controller>/ for each (names with commas are comounts)."""
    for name in controllers or list(V1_FILES):
        d = root / name
        d.mkdir(parents=True)
        for ctrl in name.split(","):
            for fname, value in {**V1_COMMON, **V1_ROOT_FILES.get(ctrl, {})}.items():
                (d / fname).write_text(value)
    return root


def populate_v1(directory: str | os.PathLike[str], controller: str) -> None:
    """Add the control files the kernel shows in a new v1 cgroup (keeps existing ones)."""
    for ctrl in controller.split(","):
        for fname, value in {**V1_COMMON, **V1_FILES.get(ctrl, {})}.items():
            path = Path(directory) / fname
            if not path.exists():
                path.write_text(value)


def make_v2(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for fname in ("cgroup.procs", "cgroup.controllers", "cgroup.subtree_control"):
        (root / fname).write_text(V2_FILES[fname])
    return root


def populate_v2(directory: str | os.PathLike[str]) -> None:
    for fname, value in V2_FILES.items():
        path = Path(directory) / fname
        if not path.exists():
            path.write_text(value)


def read(path: str | os.PathLike[str]) -> str:
    return Path(path).read_text()
