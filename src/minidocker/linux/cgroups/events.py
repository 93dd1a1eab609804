"""runc's `events` output for a container cgroup: {"type": "stats", "id", "data"} lines and
{"type": "oom", "id"} when the OOM killer strikes. OOM kills are counted by the cgroup's
oom_kill counter (memory.events on v2, memory.oom_control on v1), which also catches kills
that happened while nobody watched; a notifier fd (notify.py) wakes the loop at once."""

from __future__ import annotations

import select
import time

from minidocker.linux.cgroups.base import CgroupManager
from minidocker.linux.cgroups.common import CgroupError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any


def stats_event(container_id: str, manager: CgroupManager) -> dict[str, Any]:
    return {"type": "stats", "id": container_id, "data": manager.stats()}


def watch(container_id: str, manager: CgroupManager, interval: float = 5.0, *,
          poll: float = 1.0, stop: Callable[[], bool] = lambda: False
          ) -> Iterator[dict[str, Any]]:
    """Events until `stop()` or the cgroup is gone: stats every `interval` seconds, an
    "oom" event for each new OOM kill. Without a notifier (no memory controller) the
    counter is read every `poll` seconds; with one, `poll` only bounds how late `stop()`
    is noticed."""
    from minidocker.linux.cgroups.notify import OOMNotifier

    try:
        notifier: OOMNotifier | None = OOMNotifier(manager) if manager.exists() else None
    except CgroupError:
        notifier = None
    try:
        seen = manager.oom_kill_count()
        next_stats = time.monotonic()
        # the OOM notification can come before the kill is counted: after a wake-up,
        # look at the counter again every 10 ms for a while
        recheck_until = 0.0
        while not stop() and manager.exists():
            count = manager.oom_kill_count()
            for _ in range(count - seen):
                yield {"type": "oom", "id": container_id}
            seen = max(seen, count)
            now = time.monotonic()
            if now >= next_stats:
                yield stats_event(container_id, manager)
                next_stats = now + interval
            wait = max(0.0, min(poll, next_stats - time.monotonic()))
            if time.monotonic() < recheck_until:
                wait = min(wait, 0.01)
            if notifier is None:
                time.sleep(wait)
            elif select.select([notifier], [], [], wait)[0]:
                notifier.drain()
                recheck_until = time.monotonic() + 2.0
    finally:
        if notifier is not None:
            notifier.close()
