"""v1 hugetlb controller: a limit per huge page size."""

from __future__ import annotations

from minidocker.linux.cgroups import common

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

NAME = "hugetlb"


def needed(res: dict[str, Any]) -> list[str]:
    return ["hugepageLimits"] if res.get("hugepageLimits") else []


def apply(path: str, res: dict[str, Any]) -> None:
    for i, entry in enumerate(common.items(res.get("hugepageLimits"))):
        common.write(path, f"hugetlb.{entry['pageSize']}.limit_in_bytes", entry["limit"],
                     f"hugepageLimits[{i}] ({entry['pageSize']})")


def stats(path: str, out: dict[str, Any]) -> None:
    out["hugetlb"] = {
        size: {"usage": common.read_int(path, f"hugetlb.{size}.usage_in_bytes"),
               "max": common.read_int(path, f"hugetlb.{size}.max_usage_in_bytes"),
               "failcnt": common.read_int(path, f"hugetlb.{size}.failcnt")}
        for size in common.hugetlb_sizes(path)
    }
