"""v1 net_cls controller: the class id of the container's packets."""

from __future__ import annotations

from minidocker.linux.cgroups import common

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

NAME = "net_cls"


def needed(res: dict[str, Any]) -> list[str]:
    net = res.get("network") or {}
    return ["network.classID"] if net.get("classID") is not None else []


def apply(path: str, res: dict[str, Any]) -> None:
    classid = (res.get("network") or {}).get("classID")
    if classid is not None:
        common.write(path, "net_cls.classid", classid, "network.classID")


def stats(path: str, out: dict[str, Any]) -> None:
    pass
