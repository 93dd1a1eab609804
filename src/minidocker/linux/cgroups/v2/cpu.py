"""v2 cpu controller: cpu.weight (from OCI shares), cpu.max (quota period), cpu.max.burst,
cpu.idle; usage and throttling statistics from cpu.stat."""

from __future__ import annotations

from minidocker.linux.cgroups import common

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

NAME = "cpu"


def needed(res: dict[str, Any]) -> list[str]:
    cpu = res.get("cpu") or {}
    return [f"cpu.{k}" for k in ("shares", "quota", "period", "burst", "idle")
            if cpu.get(k) is not None]


def unsupported(res: dict[str, Any]) -> str | None:
    cpu = res.get("cpu") or {}
    for key in ("realtimeRuntime", "realtimePeriod"):
        if cpu.get(key):
            return f"cpu.{key}: cgroup v2 has no realtime CPU bandwidth controller"
    return None


def weight(shares: int) -> int:
    """cpu.shares [2, 262144] -> cpu.weight [1, 10000], the conversion runc and crun use."""
    shares = min(max(shares, 2), 262144)
    return 1 + ((shares - 2) * 9999) // 262142


def apply(path: str, res: dict[str, Any]) -> None:
    cpu = res.get("cpu")
    if not cpu:
        return
    if cpu.get("shares"):
        common.write(path, "cpu.weight", weight(cpu["shares"]), "cpu.shares")
    quota, period = cpu.get("quota"), cpu.get("period")
    if quota not in (None, 0) or period:
        if quota in (None, 0):  # only the period changes: keep the quota
            quota_text = common.read(path, "cpu.max").split()[0]
        else:
            quota_text = "max" if quota == -1 else str(quota)
        period = period or int(common.read(path, "cpu.max").split()[1])
        common.write(path, "cpu.max", f"{quota_text} {period}",
                     "cpu.quota" if quota else "cpu.period")
    if cpu.get("burst") is not None:
        common.write(path, "cpu.max.burst", cpu["burst"], "cpu.burst")
    if cpu.get("idle") is not None:
        common.write(path, "cpu.idle", cpu["idle"], "cpu.idle")


def stats(path: str, out: dict[str, Any]) -> None:
    st = common.read_keyed(path, "cpu.stat")
    out["cpu"] = {
        "usage": {"total": st.get("usage_usec", 0) * 1000,
                  "kernel": st.get("system_usec", 0) * 1000,
                  "user": st.get("user_usec", 0) * 1000,
                  "percpu": []},
        "throttling": {"periods": st.get("nr_periods", 0),
                       "throttled_periods": st.get("nr_throttled", 0),
                       "throttled_time": st.get("throttled_usec", 0) * 1000},
    }
