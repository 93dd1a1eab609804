"""v2 cpuset controller: cpuset.cpus and cpuset.mems (empty means the parent's)."""

from __future__ import annotations

from minidocker.linux.cgroups import common

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

NAME = "cpuset"


def needed(res: dict[str, Any]) -> list[str]:
    cpu = res.get("cpu") or {}
    return [f"cpu.{k}" for k in ("cpus", "mems") if cpu.get(k)]


def unsupported(res: dict[str, Any]) -> str | None:
    return None


def apply(path: str, res: dict[str, Any]) -> None:
    cpu = res.get("cpu") or {}
    if cpu.get("mems"):
        common.write(path, "cpuset.mems", cpu["mems"], "cpu.mems")
    if cpu.get("cpus"):
        common.write(path, "cpuset.cpus", cpu["cpus"], "cpu.cpus")


def stats(path: str, out: dict[str, Any]) -> None:
    out["cpuset"] = {
        key: common.expand_cpu_list(common.read(path, name)) if common.exists(path, name)
        else []
        for key, name in (("cpus", "cpuset.cpus.effective"), ("mems", "cpuset.mems.effective"))
    }
