"""v1 blkio controller: weights (CFQ's blkio.weight or BFQ's blkio.bfq.weight), per-device
weights and throttles; I/O statistics."""

from __future__ import annotations

from minidocker.linux.cgroups import common

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

NAME = "blkio"
_THROTTLE_FILES = {
    "throttleReadBpsDevice": "blkio.throttle.read_bps_device",
    "throttleWriteBpsDevice": "blkio.throttle.write_bps_device",
    "throttleReadIOPSDevice": "blkio.throttle.read_iops_device",
    "throttleWriteIOPSDevice": "blkio.throttle.write_iops_device",
}


def needed(res: dict[str, Any]) -> list[str]:
    return common.blkio_needed(res)


def _weight_file(path: str, name: str, key: str) -> str:
    """blkio.<name> (CFQ, old kernels) or blkio.bfq.<name> (BFQ); neither without an I/O
    scheduler that weighs (runc fails then too)."""
    for candidate in (f"blkio.{name}", f"blkio.bfq.{name}"):
        if common.exists(path, candidate):
            return candidate
    raise common.CgroupError(f"{key}: cannot apply: this kernel offers no I/O weights "
                             f"(neither blkio.{name} nor blkio.bfq.{name}: no BFQ or CFQ "
                             "I/O scheduler)")


def apply(path: str, res: dict[str, Any]) -> None:
    blkio = res.get("blockIO")
    if not blkio:
        return
    if blkio.get("weight"):
        common.write(path, _weight_file(path, "weight", "blockIO.weight"), blkio["weight"],
                     "blockIO.weight")
    if blkio.get("leafWeight"):
        common.write(path, "blkio.leaf_weight", blkio["leafWeight"], "blockIO.leafWeight")
    for i, dev in enumerate(common.items(blkio.get("weightDevice"))):
        numbers = f"{dev['major']}:{dev['minor']}"
        if dev.get("weight"):
            key = f"blockIO.weightDevice[{i}]"
            common.write(path, _weight_file(path, "weight_device", key),
                         f"{numbers} {dev['weight']}", key)
        if dev.get("leafWeight"):
            common.write(path, "blkio.leaf_weight_device", f"{numbers} {dev['leafWeight']}",
                         f"blockIO.weightDevice[{i}].leafWeight")
    for key, name in _THROTTLE_FILES.items():
        for i, dev in enumerate(common.items(blkio.get(key))):
            common.write(path, name, f"{dev['major']}:{dev['minor']} {dev['rate']}",
                         f"blockIO.{key}[{i}]")


def parse_entries(text: str) -> list[dict[str, Any]]:
    """'8:0 Read 4096' lines -> [{"major": 8, "minor": 0, "op": "Read", "value": 4096}]."""
    entries: list[dict[str, Any]] = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 3 or ":" not in parts[0]:
            continue
        major, minor = parts[0].split(":")
        entries.append({"major": int(major), "minor": int(minor), "op": parts[1],
                        "value": int(parts[2])})
    return entries


def _read_entries(path: str, name: str) -> list[dict[str, Any]]:
    try:
        return parse_entries(common.read(path, name))
    except OSError:
        return []


def stats(path: str, out: dict[str, Any]) -> None:
    # the throttle files count all I/O, whatever the scheduler
    out["blkio"] = {
        "ioServiceBytesRecursive": _read_entries(
            path, "blkio.throttle.io_service_bytes_recursive"),
        "ioServicedRecursive": _read_entries(path, "blkio.throttle.io_serviced_recursive"),
    }
