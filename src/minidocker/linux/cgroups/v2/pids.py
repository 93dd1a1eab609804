"""v2 pids controller: pids.max."""

from __future__ import annotations

from minidocker.linux.cgroups import common
from minidocker.linux.cgroups.v1.pids import value

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

NAME = "pids"


def needed(res: dict[str, Any]) -> list[str]:
    return ["pids.limit"] if (res.get("pids") or {}).get("limit") is not None else []


def unsupported(res: dict[str, Any]) -> str | None:
    return None


def apply(path: str, res: dict[str, Any]) -> None:
    limit = (res.get("pids") or {}).get("limit")
    if limit is not None:
        common.write(path, "pids.max", value(limit), "pids.limit")


def stats(path: str, out: dict[str, Any]) -> None:
    out["pids"] = {"current": common.read_int(path, "pids.current"),
                   "limit": common.read_int(path, "pids.max")}
