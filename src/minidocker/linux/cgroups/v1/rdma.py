"""rdma controller (same file format on v1 and v2): per-device handle and object limits."""

from __future__ import annotations

from minidocker.linux.cgroups import common

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

NAME = "rdma"


def needed(res: dict[str, Any]) -> list[str]:
    return [f"rdma.{dev}" for dev in (res.get("rdma") or {})]


def apply(path: str, res: dict[str, Any]) -> None:
    for dev, limits in (res.get("rdma") or {}).items():
        fields = [dev]
        if limits.get("hcaHandles") is not None:
            fields.append(f"hca_handle={limits['hcaHandles']}")
        if limits.get("hcaObjects") is not None:
            fields.append(f"hca_object={limits['hcaObjects']}")
        if len(fields) > 1:
            common.write(path, "rdma.max", " ".join(fields), f"rdma.{dev}")


def stats(path: str, out: dict[str, Any]) -> None:
    pass
