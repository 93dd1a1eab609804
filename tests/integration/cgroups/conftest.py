"""Fixtures for cgroup tests on the real hierarchy of this host (v1 hybrid here, pure v2 in
the test VM): every cgroup is made under a unique /minidocker-test-<random> parent, and
removed with it, also when the test fails. No other cgroup is ever touched."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from minidocker.linux import cgroups
from minidocker.linux.cgroups.base import CgroupManager

MODE = cgroups.detect() if os.path.isdir(cgroups.DEFAULT_ROOT) else "none"

v1_only = pytest.mark.skipif(MODE == "unified", reason="cgroup v1 host only")
v2_only = pytest.mark.skipif(MODE != "unified",
                             reason="needs a pure cgroup v2 host (runs in the test VM)")


@pytest.fixture
def parent() -> str:
    return f"/minidocker-test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def make_cgroup(parent: str) -> Iterator[Callable[..., CgroupManager]]:
    made: list[CgroupManager] = []

    def make(name: str = "c", resources: dict[str, Any] | None = None) -> CgroupManager:
        mgr = cgroups.open_manager(f"{parent}/{name}", name)
        mgr.validate(resources)
        mgr.create()
        made.append(mgr)
        mgr.apply(resources)
        return mgr

    try:
        yield make
    finally:
        for mgr in made:
            if mgr.exists():
                mgr.kill_all()
                cgroups.common.wait_until(lambda m=mgr: not m.pids(), 10, "the tasks to exit")
            mgr.destroy()
        leftovers = [d for m in made for d in m.host_paths().values() if os.path.exists(d)]
        assert not leftovers, f"cgroups left behind: {leftovers}"


def spawn(mgr: CgroupManager, code: str, **kw: Any) -> subprocess.Popen[str]:
    """A Python process that joins the cgroup before it runs `code`."""
    return subprocess.Popen([sys.executable, "-c", code], text=True,
                            preexec_fn=lambda: mgr.add_process(os.getpid()), **kw)
