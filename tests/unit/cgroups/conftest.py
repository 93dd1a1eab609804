"""Fixtures: fake v1 and v2 hierarchies in a tmp dir, and managers opened on them.

`fake_kernel` makes a mkdir under a fake hierarchy grow the control files a kernel shows
in a new cgroup, and rmdir take them away (or fail while the cgroup is busy); it fakes the
kernel, not the code under test."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from minidocker.linux import cgroups
from minidocker.linux.cgroups.v1 import V1Manager
from minidocker.linux.cgroups.v2 import V2Manager
from tests.unit.cgroups import fakes

OWN_CGROUP = "12:memory:/engine/mem\n3:cpu,cpuacct:/engine\n0::/engine.scope\n"


@pytest.fixture
def v1_root(tmp_path: Path) -> Path:
    return fakes.make_v1(tmp_path / "v1")


@pytest.fixture
def v2_root(tmp_path: Path) -> Path:
    return fakes.make_v2(tmp_path / "v2")


@pytest.fixture
def fake_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    real_mkdir = os.mkdir

    def mkdir(path: Any, mode: int = 0o777, **kw: Any) -> None:
        real_mkdir(path, mode, **kw)
        rel = Path(path).relative_to(tmp_path) if str(path).startswith(str(tmp_path)) \
            else None
        if rel is None or len(rel.parts) < 2:
            return
        if rel.parts[0] == "v2":
            fakes.populate_v2(path)
        elif rel.parts[0] == "v1" and len(rel.parts) >= 3:
            fakes.populate_v1(path, rel.parts[1])

    real_rmdir = os.rmdir

    def rmdir(path: Any, **kw: Any) -> None:
        """cgroupfs: control files go with the directory; busy with children or tasks."""
        p = Path(path)
        if str(p).startswith(str(tmp_path)) and p.is_dir():
            entries = list(p.iterdir())
            procs = p / "cgroup.procs"
            if any(e.is_dir() for e in entries) or (procs.exists() and procs.read_text()):
                raise OSError(errno.EBUSY, os.strerror(errno.EBUSY), str(path))
            for e in entries:
                e.unlink()
        real_rmdir(path, **kw)

    monkeypatch.setattr(os, "mkdir", mkdir)
    monkeypatch.setattr(os, "rmdir", rmdir)
    yield


@pytest.fixture
def open_v1(v1_root: Path, fake_kernel: None) -> Callable[..., V1Manager]:
    def open_(path: str | None = None, cid: str = "c1", **kw: Any) -> V1Manager:
        mgr = cgroups.open_manager(path, cid, root=str(v1_root), mode="hybrid",
                                   mountinfo="", proc_self_cgroup=OWN_CGROUP, **kw)
        assert isinstance(mgr, V1Manager)
        return mgr
    return open_


@pytest.fixture
def open_v2(v2_root: Path, fake_kernel: None) -> Callable[..., V2Manager]:
    def open_(path: str | None = None, cid: str = "c1", **kw: Any) -> V2Manager:
        mgr = cgroups.open_manager(path, cid, root=str(v2_root), mode="unified",
                                   proc_self_cgroup=OWN_CGROUP, **kw)
        assert isinstance(mgr, V2Manager)
        return mgr
    return open_
