"""Records: allocation, unique names, lookup by name / id / unique prefix, atomic state."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

from minidocker.engine import names
from minidocker.engine.records import Record, Records, check_name
from minidocker.errors import Conflict, NotFound, UsageError
from minidocker.units import parse_time


def test_allocate_gives_64_hex_ids_and_names(tmp_path: Path) -> None:
    records = Records(str(tmp_path))
    cid, name = records.allocate("web")
    assert len(cid) == 64 and all(c in "0123456789abcdef" for c in cid)
    assert name == "web"
    assert os.path.isdir(tmp_path / "containers" / cid)
    assert os.readlink(tmp_path / "containers" / ".names" / "web") == cid


def test_names_are_unique(tmp_path: Path) -> None:
    records = Records(str(tmp_path))
    records.allocate("web")
    with pytest.raises(Conflict, match="already in use"):
        records.allocate("web")
    assert len(records.ids()) == 1  # the losing directory was removed


def test_concurrent_allocation_of_one_name_has_one_winner(tmp_path: Path) -> None:
    records = Records(str(tmp_path))
    results: list[str] = []

    def take() -> None:
        try:
            records.allocate("race")
            results.append("won")
        except Conflict:
            results.append("lost")

    threads = [threading.Thread(target=take) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("won") == 1
    assert len(records.ids()) == 1


def test_a_name_left_by_a_removed_record_is_reclaimed(tmp_path: Path) -> None:
    records = Records(str(tmp_path))
    cid, _ = records.allocate("ghost")
    os.rmdir(tmp_path / "containers" / cid)
    cid2, name = records.allocate("ghost")
    assert (name, records.find("ghost").id) == ("ghost", cid2)


def test_generated_names(tmp_path: Path) -> None:
    records = Records(str(tmp_path))
    taken = {records.allocate(None)[1] for _ in range(200)}
    assert len(taken) == 200
    for name in taken:
        adjective, _, noun = name.partition("_")
        assert adjective in names.ADJECTIVES
        assert noun.rstrip("0123456789") in names.SURNAMES


def test_find_by_name_id_and_prefix(tmp_path: Path) -> None:
    records = Records(str(tmp_path))
    a, _ = records.allocate("alpha")
    b, _ = records.allocate("beta")
    assert records.find("alpha").id == a
    assert records.find("/alpha").id == a
    assert records.find(a).id == a
    assert records.find(b[:10]).id == b
    common = os.path.commonprefix([a, b])
    if common:
        with pytest.raises(Conflict, match="multiple"):
            records.find(common)
    with pytest.raises(NotFound):
        records.find("nobody")
    with pytest.raises(NotFound):
        records.find("f" * 65)


def test_a_name_wins_over_an_id_prefix(tmp_path: Path) -> None:
    records = Records(str(tmp_path))
    a, _ = records.allocate(None)
    b, _ = records.allocate(a[:6])  # a container named like the other's id prefix
    assert records.find(a[:6]).id == b


@pytest.mark.parametrize("bad", ["", "-x", "a b", "a/b", "ä"])
def test_invalid_names(bad: str) -> None:
    with pytest.raises(UsageError):
        check_name(bad)


def test_state_update_is_atomic_read_modify_write(tmp_path: Path) -> None:
    records = Records(str(tmp_path))
    cid, _ = records.allocate("s")
    record = Record(str(tmp_path), cid)
    record.save_state({"Status": "created", "Count": 0})

    def bump() -> None:
        for _ in range(20):
            r = Record(str(tmp_path), cid)
            with r.lock():
                state = dict(r.reload().state)
                state["Count"] += 1
                r.save_state(state)

    threads = [threading.Thread(target=bump) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert record.reload().state["Count"] == 100
    assert not [n for n in os.listdir(record.dir) if ".tmp" in n]
    assert record.update(Status="running")["Count"] == 100


def test_parse_time() -> None:
    assert parse_time("1970-01-01T00:00:10.500000000Z") == 10.5
    assert parse_time("0001-01-01T00:00:00Z") == 0.0


def test_the_read_cache_sees_every_rewrite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    """records.READ_CACHE (the API server's): a config replaced by save_config is read
    again; one that did not change is not reopened; a removed one is NotFound; state.json
    is always read."""
    from minidocker.engine import records
    monkeypatch.setattr(records, "READ_CACHE", {})
    rec = records.Record(str(tmp_path), "c" * 64)
    os.makedirs(rec.dir)
    rec.save_config({"Name": "/first"})
    rec.save_state({"Status": "created"})
    assert records.Record(str(tmp_path), rec.id).config == {"Name": "/first"}
    opened: list[str] = []
    real_open = open

    def counting_open(path: Any, *args: Any, **kw: Any) -> Any:
        opened.append(str(path))
        return real_open(path, *args, **kw)

    monkeypatch.setattr("builtins.open", counting_open)
    assert records.Record(str(tmp_path), rec.id).config == {"Name": "/first"}
    assert opened == []  # from the cache
    assert records.Record(str(tmp_path), rec.id).state == {"Status": "created"}
    assert opened == [rec.path("state.json")]  # never cached
    rec.save_config({"Name": "/again"})  # same size: a new inode all the same
    assert records.Record(str(tmp_path), rec.id).config == {"Name": "/again"}
    os.unlink(rec.path("config.json"))
    with pytest.raises(NotFound):
        _ = records.Record(str(tmp_path), rec.id).config


def _record(tmp_path: Path) -> Record:
    from minidocker.engine.create import new_state
    records = Records(str(tmp_path))
    cid, name = records.allocate("web")
    record = Record(str(tmp_path), cid)
    record.save_state(new_state())
    record.save_config({"Id": cid, "Name": "/web", "Created": "2026-01-01T00:00:00Z",
                        "Path": "sh", "Args": [], "Image": "x", "Lowers": [], "Mounts": [],
                        "Config": {"Labels": {}, "Tty": False}, "HostConfig": {}})
    return record


@pytest.mark.parametrize("name, change, why", [
    ("state.json", {"Pid": "abc"}, "Pid is 'abc', not a number"),
    ("state.json", {"ExitCode": True}, "ExitCode is True, not a number"),
    ("state.json", {"Pid": -1}, "Pid is -1, not a pid or count"),
    ("state.json", {"MonitorPid": -5}, "MonitorPid is -5, not a pid or count"),
    ("state.json", {"Status": "zombie"}, "Status is 'zombie'"),
    ("state.json", {"StartedAt": "yesterday"}, "StartedAt is 'yesterday', not a time"),
    ("state.json", {"Networks": []}, "Networks is [], not an object or null"),
    ("config.json", {"Config": "x"}, "Config is 'x', not an object"),
    ("config.json", {"Id": "f" * 64}, "not the record's"),
    ("config.json", {"Mounts": ["/data"]}, "Mounts holds something other than objects"),
    ("config.json", {"HostConfig": {"RestartPolicy": "always"}},
     "HostConfig.RestartPolicy is 'always'"),
])
def test_a_field_of_the_wrong_type_makes_the_record_corrupt(
        tmp_path: Path, name: str, change: dict[str, object], why: str) -> None:
    import json

    from minidocker.engine.records import CorruptRecord
    record = _record(tmp_path)
    path = Path(record.path(name))
    doc = json.loads(path.read_text())
    doc.update(change)
    path.write_text(json.dumps(doc))
    import re
    with pytest.raises(CorruptRecord, match=re.escape(why)) as info:
        _ = record.reload().state if name == "state.json" else record.reload().config
    assert f"container {record.id[:12]}: {name} is corrupt" in str(info.value)
    assert info.value.hint == f"remove it: minidocker rm -f {record.id[:12]}"


@pytest.mark.parametrize("content", [b"", b"{", b"[]", b"\xff\xfe"])
def test_an_unreadable_record_is_corrupt(tmp_path: Path, content: bytes) -> None:
    from minidocker.engine.records import CorruptRecord
    record = _record(tmp_path)
    Path(record.path("state.json")).write_bytes(content)
    with pytest.raises(CorruptRecord):
        _ = record.reload().state


def test_a_missing_file_is_an_incomplete_record_and_a_missing_dir_not_found(
        tmp_path: Path) -> None:
    from minidocker.engine.records import IncompleteRecord
    record = _record(tmp_path)
    os.unlink(record.path("config.json"))
    with pytest.raises(IncompleteRecord, match="incomplete: no config.json"):
        _ = record.reload().config
    import shutil
    shutil.rmtree(record.dir)
    with pytest.raises(NotFound) as info:
        _ = record.reload().config
    assert not isinstance(info.value, IncompleteRecord)


def test_a_failed_state_write_keeps_the_old_file_and_leaves_no_temp_file(
        tmp_path: Path) -> None:
    from tests.unit.common.failing_writes import fails_for_lack_of_space
    record = _record(tmp_path)
    before = Path(record.path("state.json")).read_bytes()
    big = "x" * 8192  # more than the file's blocks hold: no rewrite in place either
    assert fails_for_lack_of_space(lambda: record.update(Error=big), limit=len(before))
    assert Path(record.path("state.json")).read_bytes() == before
    assert sorted(os.listdir(record.dir)) == ["config.json", "lock", "state.json"]


def test_tombstones_of_dead_removals_and_dangling_names_are_swept(tmp_path: Path) -> None:
    from minidocker.engine.records import TOMBSTONE
    record = _record(tmp_path)
    records = Records(str(tmp_path))
    os.rename(record.dir, tmp_path / "containers" / (TOMBSTONE + record.id))  # died here
    assert records.ids() == []  # the listing finishes the removal: files and name
    assert not (tmp_path / "containers" / (TOMBSTONE + record.id)).exists()
    assert os.listdir(tmp_path / "containers" / ".names") == []
    os.symlink("f" * 64, tmp_path / "containers" / ".names" / "dangling")
    assert records.sweep_names() == ["dangling"]
    assert os.listdir(tmp_path / "containers" / ".names") == []
