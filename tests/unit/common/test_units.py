"""units: Docker's RFC 3339 timestamps read back (the one parser of the engine, the image
store and the CLI), and du as Docker counts sizes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from minidocker.fs import du
from minidocker.units import epoch, parse_time


def test_parse_time_reads_what_the_engine_and_registries_write() -> None:
    assert parse_time("1970-01-01T00:00:10.500000000Z") == 10.5
    assert parse_time("1970-01-01T00:00:10Z") == 10.0
    assert parse_time("1970-01-01T01:00:10+01:00") == 10.0  # an offset: an image's created
    assert parse_time("1969-12-31T23:00:10.25-01:00") == 10.25
    assert parse_time("2024-02-29T12:00:00Z") == 1709208000.0
    assert parse_time("0001-01-01T00:00:00Z") == parse_time("") == 0.0
    for bad in ("yesterday", "2024-02-29 12", "2024-02-29T12:00:00.x", "2024/02/29T12:00:00Z"):
        with pytest.raises(ValueError):
            parse_time(bad)


def test_epoch_is_none_for_what_has_no_time() -> None:
    assert epoch("") is None and epoch("not a time") is None
    assert epoch("1970-01-01T00:00:01Z") == 1.0


def test_du_counts_apparent_sizes_and_hard_links_once(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a").write_bytes(b"x" * 100)
    os.link(tmp_path / "d" / "a", tmp_path / "d" / "b")
    (tmp_path / "c").write_bytes(b"y" * 10)
    os.symlink("/etc/passwd", tmp_path / "link")  # a link counts as itself, not followed
    assert du(str(tmp_path)) == 110 + len("/etc/passwd")
    assert du(str(tmp_path / "c")) == 10
    assert du(str(tmp_path / "missing")) == 0
