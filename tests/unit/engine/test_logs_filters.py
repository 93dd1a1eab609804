"""The json-file log writer and reader, attach frames, and ps filters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from minidocker.engine import logs, monitor
from minidocker.engine.records import Record, Records
from minidocker.engine.views import matches
from minidocker.errors import UsageError


def test_log_writer_splits_lines_and_escapes(tmp_path: Path) -> None:
    path = tmp_path / "c-json.log"
    w = monitor.LogWriter(str(path))
    w.write(monitor.STDOUT, b"one\ntw")
    w.write(monitor.STDERR, b"err \"quoted\" \xff\n")
    w.write(monitor.STDOUT, b"o\n")
    w.write(monitor.STDOUT, b"tail")
    w.flush()
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(e["log"], e["stream"]) for e in entries] == [
        ("one\n", "stdout"), ('err "quoted" \ufffd\n', "stderr"), ("two\n", "stdout"),
        ("tail", "stdout")]
    assert all(e["time"].endswith("Z") and len(e["time"]) == 30 for e in entries)


def test_long_lines_are_cut_like_docker(tmp_path: Path) -> None:
    path = tmp_path / "c-json.log"
    w = monitor.LogWriter(str(path))
    w.write(monitor.STDOUT, b"x" * (monitor.LOG_LINE_MAX * 2 + 5) + b"\n")
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    assert [len(e["log"]) for e in entries] == [monitor.LOG_LINE_MAX] * 2 + [6]


def test_reader_skips_a_partial_last_line(tmp_path: Path) -> None:
    path = tmp_path / "log"
    path.write_text('{"log":"a\\n","stream":"stdout","time":"x"}\n{"log":"b')
    entries, offset = logs.entries(str(path))
    assert [e["log"] for e in entries] == ["a\n"]
    assert offset == len(path.read_text().splitlines()[0]) + 1


def test_since_forms() -> None:
    import time
    assert abs(logs.parse_since("10m") - (time.time() - 600)) < 5
    assert logs.parse_since("1700000000") == 1700000000
    assert logs.parse_since("2024-01-02T03:04:05Z") == 1704164645
    with pytest.raises(UsageError):
        logs.parse_since("yesterday")


def test_frames() -> None:
    f = monitor.frame(monitor.STDERR, b"abc")
    assert f == b"\x02\x00\x00\x00\x03abc"


def _record(tmp_path: Path, name: str, labels: dict[str, str]) -> Record:
    records = Records(str(tmp_path))
    cid, _ = records.allocate(name)
    record = Record(str(tmp_path), cid)
    record.save_config({"Name": "/" + name, "Config": {"Labels": labels, "Image": "img"},
                        "HostConfig": {"NetworkMode": "none"}, "Mounts": []})
    return record


def test_ps_filters(tmp_path: Path) -> None:
    web = _record(tmp_path, "web", {"tier": "front"})
    running = {"Status": "running", "ExitCode": 0}
    exited = {"Status": "exited", "ExitCode": 3}
    assert matches(web, running, [("status", "running")])
    assert not matches(web, exited, [("status", "running")])
    assert matches(web, exited, [("status", "running"), ("status", "exited")])  # OR
    assert not matches(web, exited, [("status", "exited"), ("name", "db")])  # AND
    assert matches(web, running, [("name", "^we")])
    assert matches(web, running, [("label", "tier")])
    assert matches(web, running, [("label", "tier=front")])
    assert not matches(web, running, [("label", "tier=back")])
    assert matches(web, exited, [("exited", "3")])
    assert matches(web, running, [("id", web.id[:5])])
    with pytest.raises(UsageError):
        matches(web, running, [("bogus", "x")])
