"""Records that cannot be trusted — a field of the wrong type, a file that is not JSON, a
file missing (a create or removal killed half-way) — are reported by `ps`, which still
lists the others, and are removed by `rm -f` with everything of the container: its
processes, cgroups, mounts, network endpoint, name and files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.integration.engine.conftest import Engine, mounts_under


def _cgroups(cid: str) -> list[str]:
    return [p for p in (f"/sys/fs/cgroup/{c}/minidocker/{cid}"
                        for c in os.listdir("/sys/fs/cgroup")) if os.path.isdir(p)]


def _break(path: Path, how: str) -> None:
    if how == "wrong type":
        doc = json.loads(path.read_text())
        if path.name == "state.json":
            doc["Pid"] = "abc"
        else:
            doc["HostConfig"] = ["not", "an", "object"]
        path.write_text(json.dumps(doc))
    elif how == "not json":
        path.write_bytes(b"\x00garbage{")
    else:
        path.unlink()


@pytest.mark.parametrize("file", ["state.json", "config.json"])
@pytest.mark.parametrize("how", ["wrong type", "not json", "missing"])
def test_a_broken_record_is_reported_skipped_and_removable(engine: Engine, file: str,
                                                           how: str) -> None:
    good = engine.ok("run", "-d", "--name", "good", engine.image, "sleep", "600").strip()
    bad = engine.ok("run", "-d", "--name", "bad", "-p", "127.0.0.1::80", engine.image,
                    "sleep", "600").strip()
    record = engine.root / "containers" / bad
    pid = engine.inspect(bad)["State"]["Pid"]
    assert _cgroups(bad) and mounts_under(record)
    _break(record / file, how)
    os.utime(record, (0, 0))  # an old record: not a create running right now
    ps = engine.run("ps", "-a", "--format", "{{.Names}}")
    assert ps.returncode == 0 and ps.stdout.split() == ["good"], ps
    warning = ps.stderr.strip().splitlines()
    assert len(warning) == 1 and bad[:12] in warning[0] and "rm -f" in warning[0], ps.stderr
    assert "Traceback" not in ps.stderr
    assert engine.inspect("good")["State"]["Running"]
    inspect = engine.run("inspect", bad[:12])
    assert inspect.returncode != 0 and "Traceback" not in inspect.stderr
    assert bad[:12] in inspect.stderr.splitlines()[0]
    plain = engine.run("rm", bad[:12])  # not without -f
    assert plain.returncode != 0 and "rm -f" in plain.stderr and record.exists()
    assert engine.run("rm", "-f", bad[:12]).returncode == 0
    assert not record.exists()
    assert not os.path.exists(f"/proc/{pid}") or \
        Path(f"/proc/{pid}/stat").read_text().split()[2] in ("Z", "X")
    assert _cgroups(bad) == [] and mounts_under(record) == []
    assert not (engine.root / "containers" / ".names" / "bad").exists()
    from minidocker.network.store import Store
    assert bad not in {cid for eps in Store(str(engine.root)).endpoints().values()
                       for cid in eps}
    import subprocess
    rules = subprocess.run(["nft", "list", "table", "ip", engine.net_tag],
                           capture_output=True, text=True).stdout
    assert bad not in rules  # its published port's rule went with it
    assert engine.ok("ps", "-a", "--format", "{{.Names}}").split() == ["good"]
    engine.ok("rm", "-f", good)


@pytest.mark.parametrize("field", ["Pid", "PidStart"])
def test_a_record_naming_the_wrong_init_takes_the_runtimes_facts(engine: Engine,
                                                                  field: str) -> None:
    """A running container whose state.json names a process that is not its init (a Pid
    or PidStart of the right type but wrong, e.g. a pid no process has) while its monitor
    and init live: inspect and ps show it running with its real init, the record is put
    right, and stop ends it with its exit code."""
    import subprocess
    cid = engine.ok("run", "-d", engine.image, "sleep", "600").strip()
    record = engine.root / "containers" / cid
    real = engine.inspect(cid)["State"]["Pid"]
    dead = subprocess.Popen(["true"])
    dead.wait()
    doc = json.loads((record / "state.json").read_text())
    doc[field] = dead.pid if field == "Pid" else doc["PidStart"] + 12345
    (record / "state.json").write_text(json.dumps(doc))
    state = engine.inspect(cid)["State"]
    assert state["Status"] == "running" and state["Pid"] == real
    assert engine.ok("ps", "-q", "--no-trunc").split() == [cid]
    assert json.loads((record / "state.json").read_text())["Pid"] == real
    engine.ok("stop", "-t", "1", cid)
    assert engine.inspect(cid)["State"]["ExitCode"] == 137
    assert not os.path.exists(f"/proc/{real}") or \
        Path(f"/proc/{real}/stat").read_text().split()[2] in ("Z", "X")
    engine.ok("rm", cid)


def test_a_removal_that_died_is_done_by_the_next_rm(engine: Engine) -> None:
    """rm -f killed after it marked the record `removing` (the container still runs):
    the next rm -f removes it; while a remover is alive, another one is told so."""
    import fcntl
    cid = engine.ok("run", "-d", "--name", "t", engine.image, "sleep", "600").strip()
    record = engine.root / "containers" / cid
    state = json.loads((record / "state.json").read_text())
    state["Status"] = "removing"
    (record / "state.json").write_text(json.dumps(state))
    fd = os.open(record / "remove.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # a remover at work
        busy = engine.run("rm", "-f", "t")
        assert busy.returncode == 1 and "already in progress" in busy.stderr
    finally:
        os.close(fd)
    assert engine.run("rm", "-f", "t").returncode == 0
    assert not record.exists() and _cgroups(cid) == []
    assert not os.path.exists(f"/proc/{state['Pid']}") or \
        Path(f"/proc/{state['Pid']}/stat").read_text().split()[2] in ("Z", "X")


def test_names_of_a_rename_cut_short_go_with_the_container(engine: Engine) -> None:
    """rename killed after it took the new name, before the record says so: rm releases
    both; prune releases names whose record is gone."""
    cid = engine.ok("create", "--name", "old", engine.image, "true").strip()
    record = engine.root / "containers" / cid
    config = json.loads((record / "config.json").read_text())
    config["NewName"] = "/new"  # rename's first step, then it died after the symlink
    (record / "config.json").write_text(json.dumps(config))
    os.symlink(cid, engine.root / "containers" / ".names" / "new")
    engine.ok("rm", "old")
    assert os.listdir(engine.root / "containers" / ".names") == []
    os.symlink("f" * 64, engine.root / "containers" / ".names" / "dangling")
    engine.ok("container", "prune", "-f")
    assert os.listdir(engine.root / "containers" / ".names") == []


def test_rm_releases_the_name_of_a_record_whose_config_names_another(
        engine: Engine) -> None:
    """config.json damaged into naming another (valid) name: rm -f releases the name
    that points at the container, not only the one its config says (the fault suite's
    damaged records found it left)."""
    cid = engine.ok("create", "--name", "real", engine.image, "true").strip()
    path = engine.root / "containers" / cid / "config.json"
    config = json.loads(path.read_text())
    config["Name"] = "/other"
    path.write_text(json.dumps(config))
    engine.ok("rm", "-f", cid)
    assert os.listdir(engine.root / "containers" / ".names") == []


def test_a_record_being_deleted_when_its_remover_died_is_finished_by_ps(
        engine: Engine) -> None:
    from minidocker.engine.records import TOMBSTONE
    cid = engine.ok("create", "--name", "t", engine.image, "true").strip()
    tomb = engine.root / "containers" / (TOMBSTONE + cid)
    os.rename(engine.root / "containers" / cid, tomb)  # what rm does just before it died
    assert engine.ok("ps", "-a", "-q") == ""
    assert not tomb.exists()
    assert os.listdir(engine.root / "containers" / ".names") == []  # its name went too
