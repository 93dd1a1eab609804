"""Bad linux.resources: one clear error naming the key, and nothing created."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from minidocker.errors import MinidockerError
from minidocker.linux.cgroups.v1 import V1Manager
from minidocker.linux.cgroups.v2 import V2Manager

BAD = [
    ({"memroy": {}}, "unknown key 'memroy'"),
    ({"memory": {"limt": 1}}, "memory: unknown key 'limt'"),
    ({"memory": {"limit": -5}}, "memory.limit: must not be negative"),
    ({"memory": {"limit": "1g"}}, "memory.limit: must be an integer"),
    ({"memory": {"limit": 100, "swap": 50}}, "memory.swap: must be at least memory.limit"),
    ({"memory": {"swappiness": 101}}, "memory.swappiness: must be at most 100"),
    ({"memory": {"disableOOMKiller": 1}}, "memory.disableOOMKiller: must be true or false"),
    ({"cpu": {"shares": -1}}, "cpu.shares: must not be negative"),
    ({"cpu": {"quota": 500}}, "cpu.quota: must be at least 1000"),
    ({"cpu": {"period": 2_000_000}}, "cpu.period: must be at most 1000000"),
    ({"cpu": {"cpus": "0-"}}, "cpu.cpus: malformed list"),
    ({"cpu": {"cpus": "3-1"}}, "cpu.cpus: malformed range"),
    ({"cpu": {"mems": "a"}}, "cpu.mems: malformed list"),
    ({"pids": {"limit": -2}}, "pids.limit: must not be negative"),
    ({"pids": {"limit": True}}, "pids.limit: must be an integer"),
    ({"blockIO": {"weight": 5}}, "blockIO.weight: must be at least 10"),
    ({"blockIO": {"throttleReadBpsDevice": [{"major": 8, "rate": 1}]}},
     "throttleReadBpsDevice[0]: 'minor' is required"),
    ({"blockIO": {"throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": -1}]}},
     "throttleReadBpsDevice[0].rate: must not be negative"),
    ({"hugepageLimits": [{"pageSize": "2M", "limit": 1}]}, "pageSize: malformed page size"),
    ({"devices": [{"allow": True, "access": "rwx"}]}, "devices[0].access"),
    ({"devices": [{"allow": True, "type": "p"}]}, "devices[0].type"),
    ({"devices": [{"access": "r"}]}, "devices[0].allow: required"),
    ({"devices": [{"allow": False, "major": -3}]}, "devices[0].major"),
    ({"unified": {"cgroup.procs": "1"}}, "unified: invalid key 'cgroup.procs'"),
    ({"unified": {"../x": "1"}}, "unified: invalid key"),
    ({"unified": {"memory.high": 5}}, "unified.memory.high: value must be a string"),
    ({"network": {"priorities": [{"name": "eth0", "priority": -1}]}},
     "priorities[0].priority: must not be negative"),
]


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_dir())


@pytest.mark.parametrize("resources,message", BAD, ids=[m for _, m in BAD])
def test_bad_values_are_refused_before_anything_is_created(
        open_v1: Callable[..., V1Manager], open_v2: Callable[..., V2Manager],
        v1_root: Path, v2_root: Path, resources: dict[str, Any], message: str) -> None:
    for open_, root in ((open_v1, v1_root), (open_v2, v2_root)):
        before = _tree(root)
        mgr = open_()
        with pytest.raises(MinidockerError) as err:
            mgr.validate(resources)
        assert message in str(err.value)
        assert "\n" not in str(err.value)
        assert _tree(root) == before


def test_apply_validates_everything_before_writing(open_v1: Callable[..., V1Manager]) -> None:
    mgr = open_v1()
    mgr.create()
    limit_file = os.path.join(mgr.dirs["memory"], "memory.limit_in_bytes")
    before = Path(limit_file).read_text()
    with pytest.raises(MinidockerError, match="pids.limit"):
        mgr.apply({"memory": {"limit": 1 << 20}, "pids": {"limit": -7}})
    assert Path(limit_file).read_text() == before


def test_valid_resources_pass(open_v1: Callable[..., V1Manager],
                              open_v2: Callable[..., V2Manager]) -> None:
    resources = {
        "memory": {"limit": 1 << 30, "swap": 2 << 30, "reservation": 1 << 29},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0-1", "mems": "0"},
        "pids": {"limit": 100},
        "blockIO": {"weight": 500,
                    "throttleWriteBpsDevice": [{"major": 8, "minor": 0, "rate": 1 << 20}]},
        "devices": [{"allow": False, "access": "rwm"},
                    {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"}],
    }
    open_v1().validate(resources)
    open_v2().validate(resources)


DOCKERD_BLOCKIO = {"weight": 0, "leafWeight": 0,
                   "weightDevice": [{"major": 8, "minor": 0, "weight": 0, "leafWeight": 0}]}


def test_a_weight_of_zero_is_unset(open_v1: Callable[..., V1Manager],
                                   open_v2: Callable[..., V2Manager]) -> None:
    """dockerd sends blockIO {"weight": 0} with every create and update: runc treats 0 as
    unset (and so writes nothing, needing no blkio controller)."""
    from minidocker.linux.cgroups import common
    assert common.blkio_needed({"blockIO": DOCKERD_BLOCKIO}) == []
    for open_ in (open_v1, open_v2):
        mgr = open_()
        mgr.validate({"blockIO": DOCKERD_BLOCKIO})
        mgr.create()
        mgr.apply({"blockIO": DOCKERD_BLOCKIO})
        mgr.destroy()
