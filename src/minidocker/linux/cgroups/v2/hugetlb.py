"""v2 hugetlb controller: hugetlb.<size>.max per page size."""

from __future__ import annotations

from minidocker.linux.cgroups import common

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

NAME = "hugetlb"


def needed(res: dict[str, Any]) -> list[str]:
    return ["hugepageLimits"] if res.get("hugepageLimits") else []


def unsupported(res: dict[str, Any]) -> str | None:
    return None


def apply(path: str, res: dict[str, Any]) -> None:
    for i, entry in enumerate(common.items(res.get("hugepageLimits"))):
        common.write(path, f"hugetlb.{entry['pageSize']}.max", entry["limit"],
                     f"hugepageLimits[{i}] ({entry['pageSize']})")


def stats(path: str, out: dict[str, Any]) -> None:
    out["hugetlb"] = {
        size: {"usage": common.read_int(path, f"hugetlb.{size}.current"),
               "max": common.read_int(path, f"hugetlb.{size}.max"),
               "failcnt": common.read_keyed(path, f"hugetlb.{size}.events").get("max", 0)}
        for size in common.hugetlb_sizes(path)
    }
