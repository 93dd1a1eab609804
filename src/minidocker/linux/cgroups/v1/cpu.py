"""v1 cpu controller: shares, CFS quota/period/burst, realtime runtime/period, idle;
throttling statistics."""

from __future__ import annotations

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
        common.write(path, "cpu.rt_runtime_us", cpu["realtimeRuntime"], "cpu.realtimeRuntime")
    if cpu.get("idle") is not None:
        common.write(path, "cpu.idle", cpu["idle"], "cpu.idle")


def stats(path: str, out: dict[str, Any]) -> None:
    st = common.read_keyed(path, "cpu.stat")
    out.setdefault("cpu", {})["throttling"] = {
        "periods": st.get("nr_periods", 0),
        "throttled_periods": st.get("nr_throttled", 0),
        "throttled_time": st.get("throttled_time", 0),
    }
