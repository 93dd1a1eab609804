"""v1 net_prio controller: per-interface priorities of the container's packets."""

from __future__ import annotations

from minidocker.linux.cgroups import common

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

NAME = "net_prio"


def needed(res: dict[str, Any]) -> list[str]:
    net = res.get("network") or {}
    return ["network.priorities"] if net.get("priorities") else []


def apply(path: str, res: dict[str, Any]) -> None:
    for i, prio in enumerate(common.items((res.get("network") or {}).get("priorities"))):
        common.write(path, "net_prio.ifpriomap", f"{prio['name']} {prio['priority']}",
                     f"network.priorities[{i}]")


def stats(path: str, out: dict[str, Any]) -> None:
    pass
