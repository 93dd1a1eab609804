"""runc's `events` output for a container cgroup: {"type": "stats", "id", "data"} lines and
{"type": "oom", "id"} when the OOM killer strikes. OOM kills are seen by polling the
cgroup's oom_kill counter (memory.events on v2, memory.oom_control on v1), which also
catches kills that happened while nobody watched."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from minidocker.linux.cgroups.base import CgroupManager


def stats_event(container_id: str, manager: CgroupManager) -> dict[str, Any]:
    return {"type": "stats", "id": container_id, "data": manager.stats()}


def watch(container_id: str, manager: CgroupManager, interval: float = 5.0, *,
          poll: float = 0.1, stop: Callable[[], bool] = lambda: False
          ) -> Iterator[dict[str, Any]]:
    """Events until `stop()` or the cgroup is gone: stats every `interval` seconds, an
    "oom" event for each new OOM kill (noticed within `poll` seconds)."""
    seen = manager.oom_kill_count()
    next_stats = time.monotonic()
    while not stop() and manager.exists():
        count = manager.oom_kill_count()
        for _ in range(count - seen):
            yield {"type": "oom", "id": container_id}
        seen = max(seen, count)
        now = time.monotonic()
        if now >= next_stats:
            yield stats_event(container_id, manager)
            next_stats = now + interval
        time.sleep(min(poll, max(0.0, next_stats - time.monotonic())) or poll)
