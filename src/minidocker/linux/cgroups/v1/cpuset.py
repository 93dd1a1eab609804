"""v1 cpuset controller: cpus and mems. A new v1 cpuset cgroup starts empty and accepts no
task until both are set, so each directory created gets its parent's values first."""

from __future__ import annotations

import errno
import os

from minidocker.linux.cgroups import common

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

NAME = "cpuset"


def needed(res: dict[str, Any]) -> list[str]:
    cpu = res.get("cpu") or {}
    return [f"cpu.{k}" for k in ("cpus", "mems") if cpu.get(k)]


def init_dir(path: str) -> None:
    parent = os.path.dirname(path)
    for name in ("cpuset.cpus", "cpuset.mems"):
        if common.read(path, name) == "":
            value = common.read(parent, name)
            if value == "":  # a concurrent create made the parent and has not set it yet
                init_dir(parent)
                value = common.read(parent, name)
            try:
                common.write(path, name, value)
            except common.CgroupError:
                if not os.path.isdir(path):  # removed under us by a concurrent delete of
                    # the shared parent: FileNotFoundError makes create() start again
                    raise FileNotFoundError(errno.ENOENT, "cgroup removed meanwhile", path)
                raise


def apply(path: str, res: dict[str, Any]) -> None:
    cpu = res.get("cpu") or {}
    # mems first: a cpus change can move tasks' memory only within allowed mems
    if cpu.get("mems"):
        common.write(path, "cpuset.mems", cpu["mems"], "cpu.mems")
    if cpu.get("cpus"):
        common.write(path, "cpuset.cpus", cpu["cpus"], "cpu.cpus")


def stats(path: str, out: dict[str, Any]) -> None:
    out["cpuset"] = {
        key: common.expand_cpu_list(common.read(path, name)) if common.exists(path, name)
        else []
        for key, name in (("cpus", "cpuset.cpus"), ("mems", "cpuset.mems"))
    }
