"""v1 memory controller: limit, memory+swap, soft limit, kernel/tcp limits, swappiness,
OOM killer switch; usage and OOM kill statistics."""

from __future__ import annotations

from minidocker.errors import InvalidConfig
from minidocker.linux.cgroups import common

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

NAME = "memory"
UNLIMITED = -1


def needed(res: dict[str, Any]) -> list[str]:
    mem = res.get("memory") or {}
    return [f"memory.{k}" for k, v in mem.items() if v is not None and k != "checkBeforeUpdate"]


def _value(v: int) -> str:
    return "-1" if v == UNLIMITED else str(v)


def apply(path: str, res: dict[str, Any]) -> None:
    mem = res.get("memory")
    if not mem:
        return
    limit, swap = mem.get("limit"), mem.get("swap")
    if mem.get("checkBeforeUpdate") and limit not in (None, 0, UNLIMITED):
        usage = common.read_int(path, "memory.usage_in_bytes")
        if limit < usage:
            raise InvalidConfig(f"memory.limit: {limit} is below the current usage {usage}")
    if swap not in (None, 0) and not common.exists(path, "memory.memsw.limit_in_bytes"):
        raise common.CgroupError("memory.swap: cannot apply: swap accounting is off on this "
                                 "host (no memory.memsw.limit_in_bytes)")
    # memsw must stay >= limit at every step: raise memsw first when the limit grows
    current_limit = common.read_int(path, "memory.limit_in_bytes")
    if swap in (None, 0) and limit not in (None, 0) and \
            common.exists(path, "memory.memsw.limit_in_bytes"):
        memsw = common.read_int(path, "memory.memsw.limit_in_bytes")
        memsw_unlimited = memsw >= 1 << 62  # the kernel shows "no limit" as ~2**63
        if not memsw_unlimited and (limit == UNLIMITED or limit > memsw):
            raise InvalidConfig(f"memory.limit: {_value(limit)} is above the current memory+swap "
                                f"limit {memsw}: change memory.swap with it")
    swap_first = swap not in (None, 0) and (swap == UNLIMITED or swap > current_limit)
    if swap_first:
        common.write(path, "memory.memsw.limit_in_bytes", _value(swap), "memory.swap")
    if limit not in (None, 0):
        common.write(path, "memory.limit_in_bytes", _value(limit), "memory.limit")
    if swap not in (None, 0) and not swap_first:
        common.write(path, "memory.memsw.limit_in_bytes", _value(swap), "memory.swap")
    if mem.get("reservation") not in (None, 0):
        common.write(path, "memory.soft_limit_in_bytes", _value(mem["reservation"]),
                     "memory.reservation")
    if mem.get("kernel") not in (None, 0):
        common.write(path, "memory.kmem.limit_in_bytes", _value(mem["kernel"]),
                     "memory.kernel")
        # Linux 5.16+ accepts the write and ignores it: that must not pass for a limit
        got = common.read_int(path, "memory.kmem.limit_in_bytes")
        if mem["kernel"] != UNLIMITED and got != mem["kernel"]:
            raise common.CgroupError("memory.kernel: cannot apply: this kernel ignores "
                                     "kernel memory limits (memory.kmem.limit_in_bytes)")
    if mem.get("kernelTCP") not in (None, 0):
        common.write(path, "memory.kmem.tcp.limit_in_bytes", _value(mem["kernelTCP"]),
                     "memory.kernelTCP")
    if mem.get("swappiness") not in (None, -1):
        common.write(path, "memory.swappiness", mem["swappiness"], "memory.swappiness")
    if mem.get("disableOOMKiller") is not None:
        common.write(path, "memory.oom_control", int(mem["disableOOMKiller"]),
                     "memory.disableOOMKiller")
    if mem.get("useHierarchy") is not None:
        common.write(path, "memory.use_hierarchy", int(mem["useHierarchy"]),
                     "memory.useHierarchy")


def _usage(path: str, prefix: str) -> dict[str, int]:
    return {
        "usage": common.read_int(path, f"{prefix}.usage_in_bytes"),
        "max": common.read_int(path, f"{prefix}.max_usage_in_bytes"),
        "failcnt": common.read_int(path, f"{prefix}.failcnt"),
        "limit": common.read_int(path, f"{prefix}.limit_in_bytes"),
    }


def stats(path: str, out: dict[str, Any]) -> None:
    raw = common.read_keyed(path, "memory.stat")
    out["memory"] = {
        "cache": raw.get("total_cache", raw.get("cache", 0)),
        "usage": _usage(path, "memory"),
        "swap": _usage(path, "memory.memsw"),
        "kernel": _usage(path, "memory.kmem"),
        "kernelTCP": _usage(path, "memory.kmem.tcp"),
        "raw": raw,
        "oom_kill": oom_kill_count(path),
    }


def oom_kill_count(path: str) -> int:
    return common.read_keyed(path, "memory.oom_control").get("oom_kill", 0)
