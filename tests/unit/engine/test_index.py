"""The container index (engine/index.py): what ps reads instead of every record, kept by
the records' own writes, rebuilt when missing or corrupt, never trusted for a record it
is unsure of."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path
from typing import Any

from minidocker.engine import index
from minidocker.engine.index import Index
from minidocker.engine.records import Record, Records, now
from minidocker.engine.views import summary, summary_of


def config(cid: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"Id": cid, "Name": "/" + name, "Created": now(), "Path": "sleep",
            "Args": ["30"], "Image": "sha256:" + "ab" * 32,
            "Config": {"Image": "busybox", "Labels": extra.pop("labels", {})},
            "HostConfig": {"NetworkMode": "bridge"}, "Mounts": [], **extra}


def make(root: str, name: str, status: str = "exited", **state: Any) -> Record:
    cid, name = Records(root).allocate(name)
    record = Record(root, cid)
    record.save_state({"Status": status, "ExitCode": 0, "StartedAt": now(),
                       "FinishedAt": now(), "Pid": 0, "PidStart": 0, **state})
    record.save_config(config(cid, name))
    return record


def test_records_written_are_in_the_index(tmp_path: Path) -> None:
    root = str(tmp_path)
    a = make(root, "a")
    b = make(root, "b", labels={"x": "1"})
    b.update(ExitCode=3)
    entries, unknown = Index(root).load()
    assert unknown == [] and set(entries) == {a.id, b.id}
    assert entries[b.id].state["ExitCode"] == 3
    assert entries[a.id].name == "a"


def test_a_summary_from_the_index_is_the_summary_from_the_record(tmp_path: Path) -> None:
    root = str(tmp_path)
    record = make(root, "web", status="running", Pid=1, PidStart=1, Networks={
        "bridge": {"IPAddress": "10.0.0.2", "Ports": [
            {"HostIp": "0.0.0.0", "HostPort": 8080, "ContainerPort": 80, "Proto": "tcp"}]}})
    cfg = dict(record.config)
    cfg["Config"] = {**cfg["Config"], "Labels": {"a": "b"}, "ExposedPorts": {"53/udp": {}},
                     "Healthcheck": {"Test": ["CMD", "true"]}}
    cfg["Mounts"] = [{"Type": "volume", "Name": "v", "Source": "/x", "Destination": "/d"}]
    record.save_config(cfg)
    record.update(Health={"Status": "healthy", "Log": [{"ExitCode": 0}]})
    entry = Index(root).load()[0][record.id]
    from_index = summary_of(entry, 1e10)
    assert from_index == summary(record.reload(), record.state, 1e10)
    assert from_index["Ports"][0]["PublicPort"] == 8080
    assert from_index["Status"].endswith("(healthy)")
    assert from_index["NetworkSettings"]["Networks"]["bridge"]["IPAddress"] == "10.0.0.2"
    assert "Log" not in json.dumps(entry.s)  # the health log stays in state.json


def test_a_deleted_index_is_rebuilt_from_the_records(tmp_path: Path) -> None:
    root = str(tmp_path)
    ids = {make(root, f"c{i}").id for i in range(5)}
    path = tmp_path / "containers" / ".index"
    path.unlink()
    entries, unknown = Index(root).load()
    assert set(entries) == ids and unknown == []
    assert path.read_bytes().startswith(index.HEADER)


def test_a_corrupt_index_is_rebuilt(tmp_path: Path) -> None:
    root = str(tmp_path)
    ids = {make(root, f"c{i}").id for i in range(3)}
    path = tmp_path / "containers" / ".index"
    for garbage in (b"\x00\xffnot ours\n", b"S\tx\n", b"C\t" + b"a" * 64,
                    b"X\t" + b"b" * 64 + b"\n"):
        with open(path, "ab") as f:
            f.write(garbage)
        entries, unknown = Index(root).load()
        assert set(entries) == ids and unknown == []
        Index(root)._parse(path.read_bytes())  # noqa: SLF001 - readable again


def test_lines_survive_what_commands_and_paths_may_hold() -> None:
    cfg = config("c" * 64, "odd")
    cfg["Path"], cfg["Args"] = "sh", ["-c", 'echo "a\tb"\nexit 1', "\\"]
    cfg["Config"]["Image"] = '"./my\timages/x'
    line = index.config_line("c" * 64, cfg)
    raw = index.encode(line)
    assert raw.count(b"\n") == 1 and raw.count(b"\t") == index.C_FIELDS - 1
    assert index.decode(raw[:-1]) == line
    assert line[index.C_COMMAND] == 'sh -c echo "a\tb"\nexit 1 \\'
    state = {"Status": "exited", "ExitCode": 137, "Health": {"Status": "unhealthy", "Log": [
        {"Output": "x\ty"}]}, "Error": "a\tb", "RestartCount": 2}
    line = index.state_line("c" * 64, state)
    assert index.decode(index.encode(line)[:-1]) == line
    assert line[-1] == {"Error": "a\tb", "RestartCount": 2}


def test_an_index_made_by_appends_alone_is_rebuilt(tmp_path: Path) -> None:
    """A journal removed while records exist starts again from an append: it has no
    header, so its next reader rebuilds it rather than trusting the one line."""
    root = str(tmp_path)
    old = make(root, "old")
    (tmp_path / "containers" / ".index").unlink()
    new = make(root, "new")
    entries, unknown = Index(root).load()
    assert set(entries) == {old.id, new.id} and unknown == []


def test_a_pending_write_sends_the_reader_to_the_record(tmp_path: Path) -> None:
    """A writer killed between its P line and its new S line: the record has the word."""
    root = str(tmp_path)
    record = make(root, "x")
    Index(root).load()  # the first reader gives the journal its header
    index.pending(root, record.id)
    data = json.loads((Path(record.dir) / "state.json").read_text())
    data["ExitCode"] = 7  # the write the killed process made
    (Path(record.dir) / "state.json").write_text(json.dumps(data))
    idx = Index(root)
    entries, unknown = idx.load()
    assert unknown == [record.id] and record.id not in entries
    idx.repair(Record(root, record.id))
    entries, unknown = idx.load()
    assert unknown == [] and entries[record.id].state["ExitCode"] == 7


def test_records_the_index_does_not_know_or_that_are_gone(tmp_path: Path) -> None:
    root = str(tmp_path)
    kept = make(root, "kept")
    gone = make(root, "gone")
    import shutil
    shutil.rmtree(gone.dir)  # removed by hand
    os.mkdir(tmp_path / "containers" / ("f" * 64))  # made by something that wrote no line
    entries, unknown = Index(root).load()
    assert set(entries) == {kept.id} and unknown == ["f" * 64]


def test_removal_is_said_before_the_files_go(tmp_path: Path) -> None:
    root = str(tmp_path)
    record = make(root, "x")
    Index(root).load()
    index.removed(root, record.id)  # remove_files: then the tree goes; killed before that:
    entries, unknown = Index(root).load()
    assert record.id not in entries and unknown == [record.id]  # read from the record


def test_a_long_journal_is_compacted(tmp_path: Path) -> None:
    root = str(tmp_path)
    record = make(root, "busy")
    for i in range(index.SLACK + 10):
        record.update(ExitCode=i % 256)
    path = tmp_path / "containers" / ".index"
    before = len(path.read_bytes().splitlines())
    entries, _ = Index(root).load()
    after = path.read_bytes().splitlines()
    assert before > index.SLACK and len(after) == 2  # the header, one R line
    assert Index(root).load()[0][record.id].state["ExitCode"] == entries[record.id].state[
        "ExitCode"] == (index.SLACK + 9) % 256


def _writer(root: str, cid: str, n: int) -> None:
    record = Record(root, cid)
    for i in range(n):
        record.update(ExitCode=i)


def test_concurrent_writers_and_compactions_agree_with_the_records(tmp_path: Path) -> None:
    root = str(tmp_path)
    records = [make(root, f"w{i}") for i in range(4)]
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(root, r.id, 300)) for r in records]
    for p in procs:
        p.start()
    idx = Index(root)
    while any(p.is_alive() for p in procs):
        idx.load()
        idx.compact()
    for p in procs:
        p.join()
        assert p.exitcode == 0
    entries, unknown = idx.load()
    assert unknown == []
    for r in records:
        assert entries[r.id].state["ExitCode"] == r.reload().state["ExitCode"] == 299
