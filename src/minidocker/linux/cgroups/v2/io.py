"""v2 io controller: io.weight / io.bfq.weight, per-device weights, io.max throttles;
statistics from io.stat in the blkio shape runc reports."""

from __future__ import annotations

from minidocker.linux.cgroups import common

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

NAME = "io"
_MAX_FIELDS = {"throttleReadBpsDevice": "rbps", "throttleWriteBpsDevice": "wbps",
               "throttleReadIOPSDevice": "riops", "throttleWriteIOPSDevice": "wiops"}


def needed(res: dict[str, Any]) -> list[str]:
    return common.blkio_needed(res)


def unsupported(res: dict[str, Any]) -> str | None:
    blkio = res.get("blockIO") or {}
    if blkio.get("leafWeight") or any(d.get("leafWeight")
                                      for d in common.items(blkio.get("weightDevice"))):
        return "blockIO.leafWeight: cgroup v2 has no leaf weights"
    return None


def bfq_weight(weight: int) -> int:
    return weight  # OCI's blkio weights [10, 1000] are BFQ's [1, 1000] range already


def io_weight(weight: int) -> int:
    """blkio weight [10, 1000] -> io.weight [1, 10000] (runc's conversion)."""
    return 1 + (weight - 10) * 9999 // 990


def _weight_file(path: str, key: str) -> str:
    """io.bfq.weight (BFQ) or io.weight (blk-iocost); neither without either."""
    for candidate in ("io.bfq.weight", "io.weight"):
        if common.exists(path, candidate):
            return candidate
    raise common.CgroupError(f"{key}: cannot apply: this kernel offers no I/O weights "
                             "(neither io.bfq.weight nor io.weight: no BFQ I/O scheduler "
                             "or io cost model)")


def apply(path: str, res: dict[str, Any]) -> None:
    blkio = res.get("blockIO")
    if not blkio:
        return
    if blkio.get("weight"):
        if _weight_file(path, "blockIO.weight") == "io.bfq.weight":
            common.write(path, "io.bfq.weight", bfq_weight(blkio["weight"]), "blockIO.weight")
        else:
            common.write(path, "io.weight", io_weight(blkio["weight"]), "blockIO.weight")
    for i, dev in enumerate(common.items(blkio.get("weightDevice"))):
        if dev.get("weight"):
            numbers = f"{dev['major']}:{dev['minor']}"
            if _weight_file(path, f"blockIO.weightDevice[{i}]") == "io.bfq.weight":
                common.write(path, "io.bfq.weight", f"{numbers} {dev['weight']}",
                             f"blockIO.weightDevice[{i}]")
            else:
                common.write(path, "io.weight", f"{numbers} {io_weight(dev['weight'])}",
                             f"blockIO.weightDevice[{i}]")
    for key, field in _MAX_FIELDS.items():
        for i, dev in enumerate(common.items(blkio.get(key))):
            rate = dev["rate"] or "max"
            common.write(path, "io.max", f"{dev['major']}:{dev['minor']} {field}={rate}",
                         f"blockIO.{key}[{i}]")


def parse_io_stat(text: str) -> dict[str, list[dict[str, Any]]]:
    by_bytes: list[dict[str, Any]] = []
    by_ios: list[dict[str, Any]] = []
    for line in text.splitlines():
        parts = line.split()
        if not parts or ":" not in parts[0]:
            continue
        major, minor = (int(x) for x in parts[0].split(":"))
        kv = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
        for target, fields in ((by_bytes, ("rbytes", "wbytes")), (by_ios, ("rios", "wios"))):
            for field, op in zip(fields, ("Read", "Write"), strict=True):
                if field in kv:
                    target.append({"major": major, "minor": minor, "op": op,
                                   "value": int(kv[field])})
    return {"ioServiceBytesRecursive": by_bytes, "ioServicedRecursive": by_ios}


def stats(path: str, out: dict[str, Any]) -> None:
    try:
        out["blkio"] = parse_io_stat(common.read(path, "io.stat"))
    except OSError:
        out["blkio"] = {"ioServiceBytesRecursive": [], "ioServicedRecursive": []}
