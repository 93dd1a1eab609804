"""The devices controller on the real kernel: a device node that the rules do not allow
cannot be opened (nor made) by a process of the cgroup. v1: devices.allow/deny; v2 (and
the cgroup2 hierarchy of a hybrid host): the eBPF program."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from minidocker.linux.cgroups.base import CgroupManager
from minidocker.linux.cgroups.devices import ebpf
from minidocker.linux.cgroups.devices.rules import parse_rules
from tests.integration.cgroups.conftest import MODE

RULES = [
    {"allow": False, "access": "rwm"},
    {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},  # null
    {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "r"},    # zero
]

TRY = """
import json, os, sys
d = sys.argv[1]
out = {}
for name, flags in [("null", os.O_RDWR), ("zero", os.O_RDONLY), ("zero-w", os.O_WRONLY),
                    ("full", os.O_RDONLY)]:
    try:
        os.close(os.open(os.path.join(d, name.split("-")[0]), flags))
        out[name] = "ok"
    except OSError as e:
        out[name] = e.strerror
try:
    os.mknod(os.path.join(d, "new"), 0o600 | 0o020000, os.makedev(1, 7))
    out["mknod"] = "ok"
except OSError as e:
    out["mknod"] = e.strerror
print(json.dumps(out))
"""


@pytest.fixture
def nodes(tmp_path: Path) -> Path:
    for name, minor in (("null", 3), ("zero", 5), ("full", 7)):
        os.mknod(tmp_path / name, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
    return tmp_path


def _try(mgr: CgroupManager, nodes: Path) -> dict[str, Any]:
    """What a process of the cgroup can do with the nodes (each open and a mknod)."""
    proc = subprocess.run([sys.executable, "-c", TRY, str(nodes)], capture_output=True,
                          text=True, timeout=60,
                          preexec_fn=lambda: mgr.add_process(os.getpid()))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


DENIED = "Operation not permitted"


def test_a_device_not_allowed_cannot_be_opened(make_cgroup: Callable[..., CgroupManager],
                                               nodes: Path) -> None:
    mgr = make_cgroup("dev", {"devices": RULES})
    assert _try(mgr, nodes) == {"null": "ok", "zero": "ok", "zero-w": DENIED, "full": DENIED,
                                "mknod": DENIED}


def test_updated_rules_apply_to_new_opens(make_cgroup: Callable[..., CgroupManager],
                                          nodes: Path) -> None:
    mgr = make_cgroup("devupd", {"devices": RULES})
    mgr.apply({"devices": [*RULES, {"allow": True, "type": "c", "major": 1, "minor": 7,
                                    "access": "rwm"}]})
    result = _try(mgr, nodes)
    assert (result["full"], result["mknod"]) == ("ok", "ok")
    mgr.apply({"devices": [RULES[0], RULES[1]]})
    assert _try(mgr, nodes)["zero"] == DENIED


@pytest.mark.skipif(MODE == "unified", reason="cgroup v1 host only")
def test_v1_updates_leave_exactly_the_new_allowlist(make_cgroup: Callable[..., CgroupManager]
                                                    ) -> None:
    mgr = make_cgroup("devlist", {"devices": RULES})
    listing = Path(mgr.host_paths()["devices"]) / "devices.list"
    assert set(listing.read_text().split("\n")) - {""} == {"c 1:3 rwm", "c 1:5 r"}
    mgr.apply({"devices": [RULES[0], RULES[1],
                           {"allow": True, "type": "c", "major": 1, "minor": 7}]})
    assert set(listing.read_text().split("\n")) - {""} == {"c 1:3 rwm", "c 1:7 rwm"}
    mgr.apply({"devices": [{"allow": True, "access": "rwm"}]})
    assert listing.read_text().strip() == "a *:* rwm"


@pytest.mark.skipif(MODE != "hybrid", reason="needs the cgroup2 hierarchy of a hybrid host")
def test_the_ebpf_program_on_a_hybrid_hosts_cgroup2_hierarchy(
        make_cgroup: Callable[..., CgroupManager], nodes: Path) -> None:
    # no devices rules for v1 here: only the eBPF program filters
    mgr = make_cgroup("bpf")
    unified = mgr.host_paths()[""]
    ebpf.install(unified, parse_rules(RULES))
    ebpf.install(unified, parse_rules(RULES))  # replacing: still one program attached
    fd = os.open(unified, os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert len(ebpf.query(fd)) == 1
    finally:
        os.close(fd)
    assert _try(mgr, nodes) == {"null": "ok", "zero": "ok", "zero-w": DENIED, "full": DENIED,
                                "mknod": DENIED}
