"""v1 freezer controller: freezer.state FROZEN / THAWED (FREEZING while in progress)."""

from __future__ import annotations

from minidocker.linux.cgroups import common

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

NAME = "freezer"


def state(path: str) -> str:
    return common.read(path, "freezer.state")


def freeze(path: str, timeout: float = 10.0) -> None:
    # writing FROZEN again retries tasks that were busy (e.g. in a vfork) the last time
    def frozen() -> bool:
        common.write(path, "freezer.state", "FROZEN")
        return state(path) == "FROZEN"

    try:
        common.wait_until(frozen, timeout, f"cgroup {path} to freeze")
    except common.CgroupError:
        common.write(path, "freezer.state", "THAWED")
        raise


def thaw(path: str) -> None:
    common.write(path, "freezer.state", "THAWED")


def needed(res: dict[str, Any]) -> list[str]:
    return []


def apply(path: str, res: dict[str, Any]) -> None:
    pass


def stats(path: str, out: dict[str, Any]) -> None:
    pass
