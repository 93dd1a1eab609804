"""ps from the container index is what the records say (engine/index.py, the listing of
service.containers, the column-at-a-time rendering of cli/commands/ps.py): for every
output format and filter, the same bytes as summaries made from each record and
rendered row by row through the template engine, whether the index is whole, a journal
alone, compacted, deleted, damaged, or behind records made or removed without it. The
clock is fixed: the times in a status must not drift between two listings."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from minidocker.cli.commands.ps import PS_TABLE, TITLES
from minidocker.cli.formats import Format
from minidocker.cli.main import main
from minidocker.cli.views import ContainerRow
from minidocker.engine import index, views
from minidocker.engine.index import Index
from minidocker.engine.records import Record, Records
from minidocker.engine.service import Collect, Context, containers

NOW = 1_800_000_000.0

# formats the column-at-a-time renderer takes, and some it leaves to the template engine
FORMATS = [
    None, "table", "{{.Names}}", "{{.ID}} {{.Status}} {{.State}} 100%",
    "table {{.ID}}\t{{.Names}}\t{{.Labels}}\t{{.Ports}}", "table {{.Names}}: {{.Command}}",
    "{{.Names}}\t{{.RunningFor}}\t{{.CreatedAt}}\t{{.Mounts}}\t{{.Networks}}",
    "{{.LocalVolumes}} {{.Image}}", '{{.Label "tier"}}', "json", "{{json .Names}}",
    "table {{.Image}}\t{{.Command}}",
]
FILTERS: list[dict[str, list[str]]] = [
    {}, {"status": ["exited"]}, {"status": ["created", "dead"]}, {"exited": ["3"]},
    {"name": ["^c1"]}, {"label": ["tier=web"]}, {"label": ["tier"]},
    {"ancestor": ["busybox"]}, {"expose": ["80"]}, {"publish": ["8080"]},
    {"volume": ["data"]}, {"network": ["none"]}, {"health": ["healthy"]}, {"id": ["a"]},
]


def _time(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + ".123456789Z"


def _record(root: str, i: int) -> Record:
    """A record of its own kind: statuses, commands (long, quoted, with a tab, wide
    characters), labels, ports, mounts, a health check, times a few minutes to years
    before NOW."""
    cid, name = Records(root).allocate(f"c{i}")
    record = Record(root, cid)
    status = ("exited", "created", "dead", "exited")[i % 4]
    ago = 60.0 * (i * 7 % 500) + i
    record.save_state({
        "Status": status, "ExitCode": i % 5, "Pid": 0, "PidStart": 0,
        "StartedAt": _time(NOW - ago + 5) if status != "created" else "0001-01-01T00:00:00Z",
        "FinishedAt": _time(NOW - ago + 9) if status == "exited" else "0001-01-01T00:00:00Z",
        **({"Health": {"Status": "healthy", "Log": []}} if i % 6 == 0 else {}),
        **({"Error": "oops\tthere"} if i % 9 == 0 else {})})
    args = [["-c", f"echo {i}; sleep {i}"], ["30"], ['say "hi"\tthere'], ["Grüße", "日本語"]
            ][i % 4]
    cfg: dict[str, Any] = {"Image": "busybox" if i % 3 else "registry.local/app:1.0",
                           "Labels": {"tier": "web" if i % 2 else "db", "n": str(i)}}
    if i % 5 == 0:
        cfg["ExposedPorts"] = {"80/tcp": {}, "53/udp": {}}
    if i % 6 == 0:
        cfg["Healthcheck"] = {"Test": ["CMD", "true"]}
    record.save_config({
        "Id": cid, "Name": "/" + name, "Created": _time(NOW - ago), "Path": "sh",
        "Args": args, "Image": "sha256:" + f"{i:02d}" * 32, "Config": cfg,
        "HostConfig": {"NetworkMode": "none" if i % 2 else "bridge",
                       **({"PortBindings": ["127.0.0.1:8080:80/tcp"]} if i % 7 == 0
                          else {})},
        "Mounts": [{"Type": "volume", "Name": "data", "Source": "/v", "Destination": "/d"}]
        if i % 4 == 1 else []})
    return record


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(time, "time", lambda: NOW)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    root = str(tmp_path / "root")
    for i in range(40):
        _record(root, i)
    return root


def _from_records(root: str, filters: dict[str, list[str]]) -> list[dict[str, Any]]:
    """What ps lists, made from each record (no index): filtered, newest first."""
    pairs = containers.check_filters(filters)
    out = []
    for record in Records(root).all():
        if views.matches(record, record.state, pairs):
            out.append(views.summary(record, record.state, NOW))
    out.sort(key=lambda s: index.created(index.row_of(s["Id"], Record(root, s["Id"]).config,
                                                      Record(root, s["Id"]).state)),
             reverse=True)
    return out


def _slow(spec: str | None, summaries: list[dict[str, Any]], no_trunc: bool) -> str:
    """ps's output rendered row by row through the template engine and the tabwriter."""
    fmt = Format(spec or "table", default_table=PS_TABLE)
    rows = [ContainerRow(s, no_trunc, NOW) for s in summaries]
    shown: list[Any] = [row.as_dict() for row in rows] if spec == "json" else rows
    lines = [fmt.template.execute(row) + "\n" for row in shown]
    if not fmt.is_table:
        return "".join(lines)
    from minidocker.cli.output import tabwrite
    return tabwrite(fmt.header(TITLES) + "\n" + "".join(lines))


def _ps(root: str, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    assert main(["--root", root, "ps", *args]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    return out


def _check(root: str, capsys: pytest.CaptureFixture[str]) -> None:
    everything = _from_records(root, {})
    assert containers.ls(Context(root, sink=Collect()), all=True) == everything
    for spec in FORMATS:
        for no_trunc in (False, True):
            args = ["-a", *(["--format", spec] if spec else []),
                    *(["--no-trunc"] if no_trunc else [])]
            assert _ps(root, capsys, *args) == _slow(spec, everything, no_trunc), args
    for filters in FILTERS:
        expected = _from_records(root, filters)
        args = [f"--filter={k}={v}" for k, vs in filters.items() for v in vs]
        assert _ps(root, capsys, "-a", *args) == _slow(None, expected, False), filters
        assert _ps(root, capsys, "-aq", *args) == "".join(s["Id"][:12] + "\n"
                                                          for s in expected)
    assert _ps(root, capsys, "-n", "3") == _slow(None, everything[:3], False)
    assert _ps(root, capsys, "-q") == ""  # nothing runs
    assert main(["--root", root, "ps", "-a", "--format", "{{.Foo}}"]) == 1
    assert "can't evaluate field Foo in type ContainerRow" in capsys.readouterr().err


def _damage(root: str, how: Callable[[Path], None]) -> None:
    how(Path(root) / "containers" / ".index")


@pytest.mark.parametrize("damage", [
    "as written", "compacted", "deleted", "garbage", "cut", "old header", "bad field",
])
def test_ps_from_the_index_is_ps_from_the_records(root: str, damage: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    idx = Index(root)
    path = Path(root) / "containers" / ".index"
    if damage == "compacted":
        idx.rows()
        idx.compact()
        assert path.read_bytes().count(b"\n") == 41  # the header and 40 R lines
    elif damage == "deleted":
        path.unlink()
    elif damage == "garbage":
        idx.rows()
        with open(path, "ab") as f:
            f.write(b"\x00\xff\xfe garbage\n")
    elif damage == "cut":
        idx.rows()
        path.write_bytes(path.read_bytes()[:-30])
    elif damage == "old header":
        idx.rows()
        path.write_bytes(b"H\t2\n" + path.read_bytes().split(b"\n", 1)[1])
    elif damage == "bad field":  # a line of the right shape with a number that is not one
        idx.rows()
        data = path.read_bytes().split(b"\n")
        fields = data[1].split(b"\t")
        fields[index.R_EXIT] = b"three"
        data[1] = b"\t".join(fields)
        path.write_bytes(b"\n".join(data))
    _check(root, capsys)


def test_ps_behind_records_made_changed_or_removed_without_the_index(
        root: str, capsys: pytest.CaptureFixture[str]) -> None:
    idx = Index(root)
    idx.rows()
    idx.compact()  # a snapshot; then a journal over it
    records = Records(root).all()
    records[0].update(ExitCode=42, Status="exited", StartedAt=_time(NOW - 100),
                      FinishedAt=_time(NOW - 50))
    records[1].save_config({**records[1].config, "Name": "/renamed"})
    Records(root).take_name("renamed", records[1].id)
    shutil.rmtree(records[2].dir)  # removed by hand: no D line
    # a record made by something that does not keep the index (an older minidocker)
    cid = "f" * 64
    made = Path(root) / "containers" / cid
    made.mkdir()
    config = json.loads((Path(records[3].dir) / "config.json").read_text())
    # (a creation time of its own: ps's order among records made at the same moment
    # is not defined, as Docker's is not)
    (made / "config.json").write_text(json.dumps({**config, "Id": cid, "Name": "/old",
                                                  "Created": _time(NOW - 31_000)}))
    shutil.copy(Path(records[3].dir) / "state.json", made / "state.json")
    # and a writer killed between its P line and its S line: the record has the word
    state = json.loads((Path(records[4].dir) / "state.json").read_text())
    index.pending(root, records[4].id)
    (Path(records[4].dir) / "state.json").write_text(json.dumps({
        **state, "Status": "exited", "ExitCode": 99, "StartedAt": _time(NOW - 20),
        "FinishedAt": _time(NOW - 10)}))
    _check(root, capsys)
    assert "renamed" in _ps(root, capsys, "-a", "--format", "{{.Names}}").split()
    assert _ps(root, capsys, "-a", "-f", f"id={records[4].id}", "--format", "{{.Status}}") \
        == "Exited (99) 9 seconds ago\n"  # (its time ends in .123456789)
    assert records[2].id[:12] not in _ps(root, capsys, "-aq")
    assert _ps(root, capsys, "-a", "-f", "name=old", "--format", "{{.ID}}") == cid[:12] + "\n"


def test_an_index_that_missed_a_line_is_not_trusted(
        root: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A full disk: the P line and the S line could not be appended, state.json was
    rewritten in place. The writer removes the index; ps reads the records again."""
    idx = Index(root)
    idx.rows()
    record = Records(root).all()[5]
    real_write = os.write

    def full(fd: int, data: bytes) -> int:
        if os.readlink(f"/proc/self/fd/{fd}").endswith("/.index"):
            raise OSError(28, "No space left on device")
        return real_write(fd, data)
    monkeypatch.setattr(os, "write", full)
    record.update(Status="exited", ExitCode=77, StartedAt=_time(NOW - 30),
                  FinishedAt=_time(NOW - 20))
    monkeypatch.setattr(os, "write", real_write)
    assert not (Path(root) / "containers" / ".index").exists()
    assert "Exited (77)" in _ps(root, capsys, "-a", "-f", f"id={record.id}")
    _check(root, capsys)
