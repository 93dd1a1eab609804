"""`update` flags (runc's names) as a partial OCI linux.resources to apply and to merge
into the container's saved config."""

from __future__ import annotations

from minidocker.errors import InvalidConfig

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}

# flag -> (resource group, key, kind)
FLAGS: dict[str, tuple[str, str, str]] = {
    "memory": ("memory", "limit", "size"),
    "memory-reservation": ("memory", "reservation", "size"),
    "memory-swap": ("memory", "swap", "size"),
    "kernel-memory": ("memory", "kernel", "size"),
    "kernel-memory-tcp": ("memory", "kernelTCP", "size"),
    "cpu-share": ("cpu", "shares", "int"),
    "cpu-quota": ("cpu", "quota", "int"),
    "cpu-period": ("cpu", "period", "int"),
    "cpu-burst": ("cpu", "burst", "int"),
    "cpu-rt-period": ("cpu", "realtimePeriod", "int"),
    "cpu-rt-runtime": ("cpu", "realtimeRuntime", "int"),
    "cpu-idle": ("cpu", "idle", "int"),
    "cpuset-cpus": ("cpu", "cpus", "str"),
    "cpuset-mems": ("cpu", "mems", "str"),
    "pids-limit": ("pids", "limit", "int"),
    "blkio-weight": ("blockIO", "weight", "int"),
}


def parse_size(text: str, flag: str) -> int:
    """"64m", "1G", "1048576", "-1" (unlimited) -> bytes."""
    import re
    match = re.fullmatch(r"\s*(-1|\d+(?:\.\d+)?)\s*([bkmgt]?)i?b?\s*", text.lower())
    if not match:
        raise InvalidConfig(f"--{flag}: invalid size {text!r} (e.g. 512m, 2g, -1)")
    if match.group(1) == "-1":
        return -1
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def resources_from_flags(flags: dict[str, str]) -> dict[str, Any]:
    """{"memory": "64m", "pids-limit": "10"} -> {"memory": {"limit": ...}, "pids": {...}}."""
    out: dict[str, Any] = {}
    for flag, text in flags.items():
        if flag not in FLAGS:
            raise InvalidConfig(f"--{flag}: not an update flag")
        group, key, kind = FLAGS[flag]
        value: Any
        if kind == "size":
            value = parse_size(text, flag)
        elif kind == "int":
            try:
                value = int(text)
            except ValueError:
                raise InvalidConfig(f"--{flag}: not an integer: {text!r}")
        else:
            value = text
        out.setdefault(group, {})[key] = value
    return out


def merge(current: dict[str, Any] | None, update: dict[str, Any]) -> dict[str, Any]:
    """The container's resources after an update (objects merged one level deep, lists and
    the devices rules replaced), to save in its config."""
    merged = dict(current or {})
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged
