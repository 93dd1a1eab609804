"""v2 freezer: cgroup.freeze, and "frozen 1" in cgroup.events once every task stopped."""

from __future__ import annotations

from minidocker.linux.cgroups import common


def is_frozen(path: str) -> bool:
    """Every task stopped (not only asked to)."""
    return common.read_keyed(path, "cgroup.events").get("frozen") == 1


def is_freezing(path: str) -> bool:
    """Asked to freeze (the container is paused, even if a task is still stopping)."""
    return common.read_int(path, "cgroup.freeze") == 1


def freeze(path: str, timeout: float = 10.0) -> None:
    common.write(path, "cgroup.freeze", "1")
    try:
        common.wait_until(lambda: is_frozen(path), timeout, f"cgroup {path} to freeze")
    except common.CgroupError:
        common.write(path, "cgroup.freeze", "0")
        raise


def thaw(path: str) -> None:
    common.write(path, "cgroup.freeze", "0")
