"""State files are replaced atomically; a write that fails (a full disk) keeps the old
document and leaves no temp file."""

from __future__ import annotations

import os
from pathlib import Path

from minidocker.network.statefile import dead_temp_files, read_json, write_json
from tests.unit.common.failing_writes import fails_for_lack_of_space


def test_a_failed_write_keeps_the_old_file_and_removes_its_temp_file(tmp_path: Path) -> None:
    path = str(tmp_path / "networks.json")
    write_json(path, {"a": 1})
    assert fails_for_lack_of_space(lambda: write_json(path, {"a": 2, "padding": "x" * 100}),
                                   limit=20)
    assert read_json(path, None) == {"a": 1}
    assert os.listdir(tmp_path) == ["networks.json"]


def test_temp_files_of_dead_writers_are_found(tmp_path: Path) -> None:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    (tmp_path / f"ipam.json.{pid}.tmp").write_text("{")
    (tmp_path / f"ipam.json.{os.getpid()}.tmp").write_text("{")  # alive: being written
    (tmp_path / "ipam.json").write_text("{}")
    assert dead_temp_files(str(tmp_path)) == [str(tmp_path / f"ipam.json.{pid}.tmp")]


def test_a_killed_writer_not_yet_reaped_is_dead(tmp_path: Path) -> None:
    """A writer killed by kill -9 stays a zombie until its parent (often PID 1, which reaps
    slowly) waits for it: its temp file is dead all the same."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover
        os._exit(0)
    try:
        while Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
            os.sched_yield()
        (tmp_path / f"ipam.json.{pid}.tmp").write_text("{")
        assert dead_temp_files(str(tmp_path)) == [str(tmp_path / f"ipam.json.{pid}.tmp")]
    finally:
        os.waitpid(pid, 0)
