"""Status is recomputed from live facts: the pid, its start time, and the exec fifo."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from minidocker.errors import Conflict, NotFound
from minidocker.runtime.state import Container, State, list_containers, proc_stat


@pytest.fixture
def sleeper():
    proc = subprocess.Popen(["sleep", "100"])
    yield proc
    proc.kill()
    proc.wait()


def save(root: Path, cid: str, pid: int, start: int) -> Container:
    c = Container(str(root), cid)
    os.makedirs(c.dir)
    c.save(State(id=cid, bundle="/b", rootfs="/b/rootfs", pid=pid, pid_start=start,
                 config={"ociVersion": "1.2.0", "annotations": {"a": "b"}}))
    return c


def test_running_created_stopped(tmp_path: Path, sleeper) -> None:
    start = proc_stat(sleeper.pid)[1]
    c = save(tmp_path, "c1", sleeper.pid, start)
    assert Container(str(tmp_path), "c1").status() == "running"
    os.mkfifo(c.fifo)
    assert Container(str(tmp_path), "c1").status() == "created"
    doc = Container(str(tmp_path), "c1").oci_state()
    assert doc == {"ociVersion": "1.2.0", "id": "c1", "status": "created",
                   "pid": sleeper.pid, "bundle": "/b", "annotations": {"a": "b"}}
    sleeper.kill()
    sleeper.wait()
    stopped = Container(str(tmp_path), "c1")
    assert stopped.status() == "stopped" and stopped.oci_state()["pid"] == 0


def test_reused_pid_is_not_ours(tmp_path: Path, sleeper) -> None:
    start = proc_stat(sleeper.pid)[1]
    save(tmp_path, "c2", sleeper.pid, start + 1)  # same pid, another start time
    assert Container(str(tmp_path), "c2").status() == "stopped"


def test_creating_and_crashed_create(tmp_path: Path, sleeper) -> None:
    c = Container(str(tmp_path), "c3")
    os.makedirs(c.dir)
    (Path(c.dir) / "creating").write_text(f"{sleeper.pid} {proc_stat(sleeper.pid)[1]}")
    assert c.status() == "creating"
    with pytest.raises(Conflict, match="still being created"):
        _ = c.state
    sleeper.kill()
    sleeper.wait()
    assert c.status() == "stopped"  # the creator died: delete may clean it up


def test_unknown_and_corrupt(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="c4 does not exist"):
        _ = Container(str(tmp_path), "c4").state
    c = Container(str(tmp_path), "c5")
    os.makedirs(c.dir)
    Path(c.state_file).write_text("{broken")
    with pytest.raises(Conflict, match="state file is corrupt"):
        _ = c.state


def test_state_file_is_written_atomically(tmp_path: Path) -> None:
    c = save(tmp_path, "c6", 1, 1)
    assert json.loads(Path(c.state_file).read_text())["id"] == "c6"
    assert [p.name for p in Path(c.dir).iterdir()] == ["state.json"]
    assert oct(Path(c.state_file).stat().st_mode & 0o777) == "0o600"
    assert [x.id for x in list_containers(str(tmp_path))] == ["c6"]
    assert list_containers(str(tmp_path / "none")) == []


def test_a_state_write_that_fails_leaves_no_temp_file(tmp_path: Path) -> None:
    """write_atomic on a full disk (a file size limit here) raises and removes its temp
    file, keeping the old content."""
    from minidocker.runtime.state import write_atomic
    from tests.unit.common.failing_writes import fails_for_lack_of_space
    path = tmp_path / "state.json"
    path.write_bytes(b"old")
    assert fails_for_lack_of_space(lambda: write_atomic(str(path), b"x" * 4096))
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]
    assert path.read_bytes() == b"old"
