"""v1 cpuacct controller: CPU usage statistics (nothing to apply)."""

from __future__ import annotations

import os

from minidocker.linux.cgroups import common

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

NAME = "cpuacct"
_NS_PER_TICK = 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def needed(res: dict[str, Any]) -> list[str]:
    return []


def apply(path: str, res: dict[str, Any]) -> None:
    pass


def _percpu(path: str, name: str) -> list[int]:
    try:
        return [int(x) for x in common.read(path, name).split()]
    except (OSError, ValueError):
        return []


def stats(path: str, out: dict[str, Any]) -> None:
    ticks = common.read_keyed(path, "cpuacct.stat")
    out.setdefault("cpu", {})["usage"] = {
        "total": common.read_int(path, "cpuacct.usage"),
        "percpu": _percpu(path, "cpuacct.usage_percpu"),
        "percpu_kernel": _percpu(path, "cpuacct.usage_percpu_sys"),
        "percpu_user": _percpu(path, "cpuacct.usage_percpu_user"),
        "kernel": ticks.get("system", 0) * _NS_PER_TICK,
        "user": ticks.get("user", 0) * _NS_PER_TICK,
    }
