"""`update` flags as OCI resources, and the `events` stream (stats and OOM)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from minidocker.errors import InvalidConfig
from minidocker.linux.cgroups import events, update
from minidocker.linux.cgroups.v1 import V1Manager
from minidocker.linux.cgroups.v2 import V2Manager


def test_flags_become_resources() -> None:
    res = update.resources_from_flags({"memory": "64m", "memory-swap": "-1",
                                       "cpu-quota": "20000", "cpuset-cpus": "0-1",
                                       "pids-limit": "100", "blkio-weight": "300",
                                       "memory-reservation": "1G"})
    assert res == {"memory": {"limit": 64 << 20, "swap": -1, "reservation": 1 << 30},
                   "cpu": {"quota": 20000, "cpus": "0-1"}, "pids": {"limit": 100},
                   "blockIO": {"weight": 300}}


@pytest.mark.parametrize("flags,message", [
    ({"memory": "lots"}, "--memory: invalid size"),
    ({"pids-limit": "x"}, "--pids-limit: not an integer"),
    ({"cpu-sharez": "1"}, "--cpu-sharez: not an update flag"),
])
def test_bad_flags(flags: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidConfig, match=message):
        update.resources_from_flags(flags)


def test_merge_keeps_what_the_update_does_not_change() -> None:
    current = {"memory": {"limit": 1, "swap": 2}, "pids": {"limit": 3},
               "devices": [{"allow": False}]}
    merged = update.merge(current, {"memory": {"limit": 5}, "devices": []})
    assert merged == {"memory": {"limit": 5, "swap": 2}, "pids": {"limit": 3}, "devices": []}
    assert current["memory"] == {"limit": 1, "swap": 2}


def test_raising_the_v1_limit_above_memory_and_swap_needs_swap_too(
        open_v1: Callable[..., V1Manager]) -> None:
    mgr = open_v1()
    mgr.create()
    mgr.apply({"memory": {"limit": 64 << 20, "swap": 64 << 20}})
    with pytest.raises(InvalidConfig, match="change memory.swap with it"):
        mgr.apply({"memory": {"limit": 128 << 20}})
    mgr.apply({"memory": {"limit": 32 << 20}})


def test_events_report_stats_and_each_new_oom_kill(open_v2: Callable[..., V2Manager]) -> None:
    mgr = open_v2()
    mgr.create()
    mem_events = Path(mgr.dir) / "memory.events"
    seen: list[dict[str, object]] = []
    stream = events.watch("c1", mgr, interval=3600, poll=0.001)
    seen.append(next(stream))  # stats at once
    mem_events.write_text("oom 3\noom_kill 3\n")  # two more kills than at the start
    seen.append(next(stream))
    seen.append(next(stream))
    assert seen[0]["type"] == "stats" and seen[0]["id"] == "c1"
    assert "memory" in seen[0]["data"]  # type: ignore[operator]
    assert seen[1:] == [{"type": "oom", "id": "c1"}] * 2


def test_events_end_when_the_cgroup_is_gone(open_v2: Callable[..., V2Manager]) -> None:
    mgr = open_v2()
    assert list(events.watch("c1", mgr, interval=0)) == []


def test_v1_limits_without_swap_when_swap_is_unlimited(open_v1: Callable[..., V1Manager]
                                                       ) -> None:
    mgr = open_v1()
    mgr.create()
    mgr.apply({"memory": {"limit": 64 << 20}})
    mgr.apply({"memory": {"limit": -1}})
    assert (Path(mgr.dirs["memory"]) / "memory.limit_in_bytes").read_text() == "-1"
