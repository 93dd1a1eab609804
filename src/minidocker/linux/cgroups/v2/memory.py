"""v2 memory controller: memory.max, memory.swap.max (OCI swap is memory+swap), memory.low
from the reservation; usage and OOM statistics from memory.events."""

from __future__ import annotations

from minidocker.errors import InvalidConfig
from minidocker.linux.cgroups import common

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

NAME = "memory"


def needed(res: dict[str, Any]) -> list[str]:
    mem = res.get("memory") or {}
    return [f"memory.{k}" for k in ("limit", "reservation", "swap") if mem.get(k)]


def unsupported(res: dict[str, Any]) -> str | None:
    """The first memory key cgroup v2 has no equivalent for (given a real value)."""
    mem = res.get("memory") or {}
    if mem.get("kernel") not in (None, 0):
        return "memory.kernel: cgroup v2 has no separate kernel memory limit"
    if mem.get("kernelTCP") not in (None, 0):
        return "memory.kernelTCP: cgroup v2 has no separate TCP buffer limit"
    if mem.get("swappiness") not in (None, -1):
        return "memory.swappiness: cgroup v2 has no per-cgroup swappiness"
    if mem.get("disableOOMKiller"):
        return "memory.disableOOMKiller: cgroup v2 cannot disable the OOM killer"
    if mem.get("useHierarchy") is False:
        return "memory.useHierarchy: cgroup v2 is always hierarchical"
    return None


def max_value(v: int) -> str:
    return "max" if v == -1 else str(v)


def swap_max(limit: int | None, swap: int | None) -> str | None:
    """OCI's swap (memory + swap) as memory.swap.max (swap alone), as runc converts it."""
    if swap in (None, 0):
        return None
    if swap == -1:
        return "max"
    if limit in (None, 0, -1):
        raise InvalidConfig("memory.swap: on cgroup v2 a swap limit needs a memory limit")
    assert limit is not None and swap is not None
    return str(swap - limit)


def apply(path: str, res: dict[str, Any]) -> None:
    mem = res.get("memory")
    if not mem:
        return
    limit = mem.get("limit")
    if mem.get("checkBeforeUpdate") and limit not in (None, 0, -1):
        usage = common.read_int(path, "memory.current")
        if limit < usage:
            raise InvalidConfig(f"memory.limit: {limit} is below the current usage {usage}")
    swap = swap_max(limit, mem.get("swap"))
    if swap is not None:
        common.write(path, "memory.swap.max", swap, "memory.swap")
    if limit not in (None, 0):
        common.write(path, "memory.max", max_value(limit), "memory.limit")
    if mem.get("reservation") not in (None, 0):
        common.write(path, "memory.low", max_value(mem["reservation"]), "memory.reservation")


def _limit(path: str, name: str) -> int:
    try:
        text = common.read(path, name)
    except OSError:
        return 0
    return 2**64 - 1 if text == "max" else int(text)


def stats(path: str, out: dict[str, Any]) -> None:
    raw = common.read_keyed(path, "memory.stat")
    events = common.read_keyed(path, "memory.events")
    out["memory"] = {
        "cache": raw.get("file", 0),
        "usage": {"usage": common.read_int(path, "memory.current"),
                  "max": common.read_int(path, "memory.peak"),
                  "failcnt": events.get("max", 0),
                  "limit": _limit(path, "memory.max")},
        "swap": {"usage": common.read_int(path, "memory.swap.current"),
                 "max": common.read_int(path, "memory.swap.peak"),
                 "failcnt": common.read_keyed(path, "memory.swap.events").get("max", 0),
                 "limit": _limit(path, "memory.swap.max")},
        "raw": raw,
        "oom_kill": events.get("oom_kill", 0),
    }


def oom_kill_count(path: str) -> int:
    return common.read_keyed(path, "memory.events").get("oom_kill", 0)
