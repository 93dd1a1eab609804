"""v1 cpu controller: shares, CFS quota/period/burst, realtime runtime/period, idle;
throttling statistics."""

from __future__ import annotations

import math
import os
from fractions import Fraction

from minidocker.linux.cgroups import common

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

NAME = "cpu"
_KEYS = ("shares", "quota", "period", "burst", "realtimeRuntime", "realtimePeriod", "idle")


def needed(res: dict[str, Any]) -> list[str]:
    cpu = res.get("cpu") or {}
    return [f"cpu.{k}" for k in _KEYS if cpu.get(k) is not None]


def apply(path: str, res: dict[str, Any]) -> None:
    cpu = res.get("cpu")
    if not cpu:
        return
    if cpu.get("shares"):
        common.write(path, "cpu.shares", cpu["shares"], "cpu.shares")
    # the period first: the quota is checked against it
    if cpu.get("period"):
        common.write(path, "cpu.cfs_period_us", cpu["period"], "cpu.period")
    if cpu.get("quota") not in (None, 0):
        common.write(path, "cpu.cfs_quota_us", cpu["quota"], "cpu.quota")
    if cpu.get("burst") is not None:
        common.write(path, "cpu.cfs_burst_us", cpu["burst"], "cpu.burst")
    if cpu.get("realtimePeriod"):
        common.write(path, "cpu.rt_period_us", cpu["realtimePeriod"], "cpu.realtimePeriod")
    if cpu.get("realtimeRuntime") is not None:
        try:
            common.write(path, "cpu.rt_runtime_us", cpu["realtimeRuntime"],
                         "cpu.realtimeRuntime")
        except common.CgroupError as exc:
            if not cpu["realtimeRuntime"] > 0:
                raise
            _no_room(os.path.dirname(path), exc)
    if cpu.get("idle") is not None:
        common.write(path, "cpu.idle", cpu["idle"], "cpu.idle")


def make_room_for_realtime(path: str, res: dict[str, Any], ours: list[str]) -> None:
    """A cgroup's realtime runtime must fit in its parent's, and a new cgroup has none
    (cpu.rt_runtime_us 0): before the container's is written, raise each parent in `ours`
    (the ones minidocker made, top first) to the sum of its children's share with the new
    one. A parent of someone else's is never written: when it has no room, the error
    says which and how much."""
    cpu = res.get("cpu") or {}
    runtime = cpu.get("realtimeRuntime")
    if not runtime or runtime < 0:
        return
    period = cpu.get("realtimePeriod") or _int(path, "cpu.rt_period_us")
    chain = []  # the leaf's ancestors that are ours, nearest first
    cur = os.path.dirname(path)
    while cur in ours:
        chain.append(cur)
        cur = os.path.dirname(cur)
    share = Fraction(runtime, period)  # of a CPU, for the path's child at each level
    child = path
    wanted = []
    for parent in chain:
        parent_period = _int(parent, "cpu.rt_period_us")
        others = Fraction(0)
        for entry in os.scandir(parent):
            if entry.is_dir(follow_symlinks=False) and entry.path != child:
                others += _share(entry.path)
        share = max(share + others, _share(parent))
        wanted.append((parent, math.ceil(share * parent_period)))
        child = parent
    for parent, value in reversed(wanted):
        if _int(parent, "cpu.rt_runtime_us") >= value:
            continue
        try:
            common.write(parent, "cpu.rt_runtime_us", value, "cpu.realtimeRuntime")
        except common.CgroupError as exc:
            _no_room(os.path.dirname(parent), exc)


def _no_room(parent: str, exc: common.CgroupError) -> None:
    """The write failed for want of room in `parent` (the kernel says EINVAL): say so."""
    try:
        has = f"{_int(parent, 'cpu.rt_runtime_us')} us per {_int(parent, 'cpu.rt_period_us')}"
    except (OSError, ValueError):
        raise exc
    raise common.CgroupError(f"{exc.message}: the parent cgroup {parent} has {has} us of "
                             "realtime runtime for all its children",
                             hint=f"raise cpu.rt_runtime_us of {parent} (minidocker only "
                                  "raises the parents it made)")


def _int(path: str, name: str) -> int:
    return int(common.read(path, name))


def _share(path: str) -> Fraction:
    """The realtime runtime of a cgroup as a share of a CPU (0 when it has none)."""
    try:
        return Fraction(max(_int(path, "cpu.rt_runtime_us"), 0),
                        _int(path, "cpu.rt_period_us"))
    except (OSError, ValueError, ZeroDivisionError):
        return Fraction(0)


def stats(path: str, out: dict[str, Any]) -> None:
    st = common.read_keyed(path, "cpu.stat")
    out.setdefault("cpu", {})["throttling"] = {
        "periods": st.get("nr_periods", 0),
        "throttled_periods": st.get("nr_throttled", 0),
        "throttled_time": st.get("throttled_time", 0),
    }
