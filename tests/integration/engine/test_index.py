"""The container index that ps reads (engine/index.py): rebuilt when deleted or corrupted,
right under concurrent create and remove, and never trusted for a container's life."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

from tests.integration.engine.conftest import Engine

FORMAT = ["--format", "{{.Names}} {{.State}} {{.Status}}"]


def _listing(engine: Engine) -> list[str]:
    """name, state and status without its times ("Exited (3)", "Up", "Created")."""
    return sorted(line.split(")")[0] + ")" if "(" in line else " ".join(line.split()[:3])
                  for line in engine.ok("ps", "-a", *FORMAT).splitlines())


def _index(engine: Engine) -> Path:
    return engine.root / "containers" / ".index"


def _three(engine: Engine) -> list[str]:
    engine.ok("run", "-d", "--name", "up", engine.image, "sleep", "60")
    engine.run("run", "--name", "done", engine.image, "sh", "-c", "exit 3")
    engine.ok("create", "--name", "new", engine.image, "true")
    listing = _listing(engine)
    assert [line.split()[:2] for line in listing] == [["done", "exited"], ["new", "created"],
                                                      ["up", "running"]]
    return listing


def test_ps_rebuilds_a_deleted_or_corrupted_index(engine: Engine) -> None:
    expected = _three(engine)
    index = _index(engine)
    index.unlink()
    assert _listing(engine) == expected
    from minidocker.engine.index import HEADER
    assert index.read_bytes().startswith(HEADER)
    good = index.read_bytes()
    up = engine.inspect("up")["Id"]
    for damage in (b"\x00\xff\xfe garbage\n",  # not a line of ours
                   good[:-7],  # cut inside a line (a full disk)
                   b"S\t" + up.encode() + b"\trunning\n",  # an S line without its fields
                   b"Q\t" + up.encode() + b"\n"):  # a kind we do not write
        index.write_bytes(good + damage if damage != good[:-7] else damage)
        assert _listing(engine) == expected, damage
        assert _listing(engine) == expected  # and again, from the rebuilt one
    assert engine.ok("ps", "-q") == up[:12] + "\n"


def test_a_writer_killed_between_its_two_lines(engine: Engine) -> None:
    """P before state.json is replaced, S after: killed in between, the record is read."""
    _three(engine)
    cid = engine.inspect("done")["Id"]
    state_path = engine.root / "containers" / cid / "state.json"
    state = json.loads(state_path.read_text())
    with open(_index(engine), "ab") as f:
        f.write(b"P\t" + cid.encode() + b"\n")  # what the killed writer had said
    state["ExitCode"] = 42
    state_path.write_text(json.dumps(state))  # and what it wrote, no S line after it
    assert "Exited (42)" in engine.ok("ps", "-a", "-f", "name=done", *FORMAT)


def test_ps_never_shows_a_dead_container_as_running(engine: Engine) -> None:
    engine.ok("run", "-d", "--name", "a", engine.image, "sleep", "60")  # the supervisor's
    attached = subprocess.Popen(engine.cmd("run", "--name", "b", engine.image, "sleep", "60"),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    engine.wait_for(lambda: engine.run("inspect", "b").returncode == 0 and
                    engine.inspect("b")["State"]["Status"] == "running")  # its own monitor
    engine.ok("ps")  # the index has both as running
    from minidocker.engine.index import R_ID, R_STATUS, Index
    rows = {row[R_ID]: row for row in Index(str(engine.root)).rows()[0]}
    for name in ("a", "b"):
        assert rows[engine.inspect(name)["Id"]][R_STATUS] == "running"
    state_a = engine.inspect("a")["State"]
    os.kill(state_a["Pid"], signal.SIGKILL)  # its monitor records the exit, in its time
    state_b = json.loads((engine.root / "containers" / engine.inspect("b")["Id"] /
                          "state.json").read_text())
    os.kill(state_b["MonitorPid"], signal.SIGKILL)  # nobody will record this one
    os.kill(state_b["Pid"], signal.SIGKILL)
    time.sleep(0.1)
    assert engine.ok("ps", "-q") == ""
    assert _listing(engine) == ["a exited Exited (137)", "b exited Exited (137)"]
    attached.wait(30)  # it lost its monitor


def test_ps_never_shows_a_container_as_up_once_its_supervisor_and_init_are_killed(
        engine: Engine) -> None:
    """kill -9 of the root's supervisor, then of the containers' inits: nobody records
    their exits, the index still says running; ps reads the kernel's facts."""
    for name in ("x", "y"):
        engine.ok("run", "-d", "--name", name, engine.image, "sleep", "60")
    engine.ok("create", "--name", "z", engine.image, "true")
    assert sorted(engine.ok("ps", "--format", "{{.Names}} {{.State}}").split("\n")) == \
        ["", "x running", "y running"]
    states = [json.loads((engine.root / "containers" / engine.inspect(n)["Id"] /
                          "state.json").read_text()) for n in ("x", "y")]
    assert states[0]["MonitorShared"] and states[0]["MonitorPid"] == states[1]["MonitorPid"]
    os.kill(states[0]["MonitorPid"], signal.SIGKILL)
    for state in states:
        os.kill(state["Pid"], signal.SIGKILL)
    time.sleep(0.1)
    for args in (["ps", "-q"], ["ps", "--format", "{{.Names}}"], ["ps", "-aq", "-f",
                                                                   "status=running"]):
        assert engine.ok(*args) == "", args
    listing = engine.ok("ps", "-a", "--format", "{{.Names}} {{.State}} {{.Status}}")
    assert "Up" not in listing and "running" not in listing
    assert sorted(line.split(" (")[0] for line in listing.splitlines()) == \
        ["x exited Exited", "y exited Exited", "z created Created"]


def test_the_index_is_right_under_concurrent_create_and_remove(engine: Engine) -> None:
    first = [engine.ok("create", "--name", f"old{i}", engine.image, "true").strip()
             for i in range(12)]
    engine.ok("run", "-d", "--name", "busy", engine.image, "sleep", "60")
    made: list[str] = []
    errors: list[str] = []
    seen: list[list[str]] = []
    done = threading.Event()

    def create(i: int) -> None:
        proc = engine.run("create", "--name", f"new{i}", engine.image, "true")
        (made.append(proc.stdout.strip()) if proc.returncode == 0 else errors.append(
            proc.stderr))

    def remove(cid: str) -> None:
        proc = engine.run("rm", cid)
        if proc.returncode != 0:
            errors.append(proc.stderr)

    def run_and_remove(i: int) -> None:
        proc = engine.run("run", "-d", "--name", f"short{i}", engine.image, "sleep", "30")
        if proc.returncode != 0:
            errors.append(proc.stderr)
        proc = engine.run("rm", "-f", f"short{i}")
        if proc.returncode != 0:
            errors.append(proc.stderr)

    def watch() -> None:
        while not done.is_set():
            seen.append(engine.ok("ps", "-aq", "--no-trunc").split())

    watcher = threading.Thread(target=watch)
    watcher.start()
    workers = [threading.Thread(target=create, args=(i,)) for i in range(12)] + \
        [threading.Thread(target=remove, args=(cid,)) for cid in first] + \
        [threading.Thread(target=run_and_remove, args=(i,)) for i in range(4)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    done.set()
    watcher.join()
    assert errors == []
    busy = engine.inspect("busy")["Id"]
    for listing in seen:  # nothing listed twice, nothing that never was
        assert len(listing) == len(set(listing))
        assert busy in listing
    final = engine.ok("ps", "-aq", "--no-trunc").split()
    assert sorted(final) == sorted([*made, busy])
    assert engine.ok("ps", "-q", "--no-trunc").split() == [busy]
    # and the journal alone agrees with the records (no repair was needed to say so)
    from minidocker.engine.index import Index
    entries, unknown = Index(str(engine.root)).load()
    assert unknown == [] and sorted(entries) == sorted(final)
    for cid, entry in entries.items():
        state = json.loads((engine.root / "containers" / cid / "state.json").read_text())
        assert entry.state["Status"] == state["Status"]
