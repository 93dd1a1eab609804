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
