"""v1 pids controller: the maximum number of tasks."""

from __future__ import annotations

from minidocker.linux.cgroups import common

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

NAME = "pids"


def needed(res: dict[str, Any]) -> list[str]:
    return ["pids.limit"] if (res.get("pids") or {}).get("limit") is not None else []


def value(limit: int) -> str:
    return "max" if limit <= 0 else str(limit)


def apply(path: str, res: dict[str, Any]) -> None:
    limit = (res.get("pids") or {}).get("limit")
    if limit is not None:
        common.write(path, "pids.max", value(limit), "pids.limit")


def stats(path: str, out: dict[str, Any]) -> None:
    out["pids"] = {"current": common.read_int(path, "pids.current"),
                   "limit": common.read_int(path, "pids.max")}
