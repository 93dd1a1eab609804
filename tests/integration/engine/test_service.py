"""The service layer as a library: a container's whole life (create, start, exec, logs,
stats, top, stop, remove) driven from Python with no CLI and no terminal, as the API
server and the builder drive it; from a threaded caller, whose monitors are spawned
fresh rather than forked (docs/engine.md, Fork safety)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from minidocker.engine.service import Collect, Context, containers, execs
from minidocker.engine.service.streams import STDERR, STDOUT
from minidocker.errors import NotFound, NotModified
from tests.integration.engine.conftest import Engine, mounts_under
from tests.unit.test_layers import RUN_MODULES, imported_by


def _read_all(stream: Any) -> dict[int, bytes]:
    out = {STDOUT: b"", STDERR: b""}
    while (piece := stream.read()) is not None:
        out[piece[0]] += piece[1]
    return out


def _until(predicate: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def test_a_containers_whole_life_through_the_service(engine: Engine) -> None:
    sink = Collect()
    ctx = Context(str(engine.root), sink=sink, spawn="exec")
    body = {"Image": engine.image, "Cmd": ["sh", "-c", "echo hello; echo oops >&2; "
                                                       "exec sleep 600"],
            "Labels": {"test": "life"}, "HostConfig": {"NetworkMode": "none"}}
    cid = containers.create(ctx, body, name="life")["Id"]
    assert containers.inspect(ctx, "life")["State"]["Status"] == "created"
    assert containers.start(ctx, cid) is None
    with pytest.raises(NotModified):
        containers.start(ctx, cid)
    state = containers.inspect(ctx, cid)["State"]
    assert state["Running"] and state["Pid"] > 0
    assert [c["Id"] for c in containers.ls(ctx, filters={"label": ["test=life"]})] == [cid]

    # an exec whose output comes back as a stream, its exit code recorded for inspect
    exec_id = execs.create(ctx, cid, {"Cmd": ["sh", "-c", "echo in-exec; echo e >&2; "
                                                          "exit 3"],
                                      "AttachStdout": True, "AttachStderr": True})["Id"]
    assert execs.inspect(ctx, exec_id)["Running"] is False
    stream = execs.start(ctx, exec_id)
    assert stream is not None and not isinstance(stream, int)
    with stream:
        out = _read_all(stream)
        assert stream.wait() == 3
    assert out == {STDOUT: b"in-exec\n", STDERR: b"e\n"}
    done = execs.inspect(ctx, exec_id)
    assert (done["ExitCode"], done["Running"], done["ContainerID"]) == (3, False, cid)

    # with stdin and a terminal
    exec_id = execs.create(ctx, cid, {"Cmd": ["sh", "-c", "read line; echo got $line; "
                                                          "tty"], "AttachStdin": True,
                                      "Tty": True})["Id"]
    stream = execs.start(ctx, exec_id, tty_size=(30, 100))
    assert stream is not None and not isinstance(stream, int)
    with stream:
        stream.write(b"ping\n")
        text = _read_all(stream)[STDOUT]
        assert stream.wait() == 0
    assert b"got ping" in text and b"/dev/pts/" in text

    # logs, stats, top
    _until(lambda: len(list(containers.logs(ctx, cid))) >= 2)
    entries = list(containers.logs(ctx, cid))
    assert [(e["stream"], e["log"]) for e in entries] == [("stdout", "hello\n"),
                                                         ("stderr", "oops\n")]
    assert [e["log"] for e in containers.logs(ctx, cid, stdout=False)] == ["oops\n"]
    sample = containers.stats(ctx, cid)
    assert sample["pids_stats"]["current"] >= 1 and sample["memory_stats"]["usage"] > 0
    assert sample["cpu_stats"]["cpu_usage"]["total_usage"] > 0
    top = containers.top(ctx, cid)
    assert "PID" in top["Titles"] and any("sleep" in " ".join(p) for p in top["Processes"])

    # what a path is, resolved inside the container (an absolute link stays in it)
    sh = containers.stat_path(ctx, cid, "/bin/sh")
    assert (sh["name"], sh["linkTarget"]) == ("sh", "/bin/busybox") and sh["mode"] & 1 << 27
    etc = containers.stat_path(ctx, cid, "/etc/")
    assert etc["name"] == "etc" and etc["mode"] & 1 << 31 and etc["mode"] & 0o777 == 0o755
    with pytest.raises(NotFound):
        containers.stat_path(ctx, cid, "/no/such")
    containers.resize(ctx, cid, 40, 120)  # no tty: accepted, nothing to do

    # stop, remove: nothing left
    containers.stop(ctx, cid, timeout=1)  # sleep as PID 1 ignores SIGTERM: SIGKILL after 1 s
    state = containers.inspect(ctx, cid)["State"]
    assert (state["Status"], state["ExitCode"]) == ("exited", 137)
    with pytest.raises(NotModified):
        containers.stop(ctx, cid)
    containers.remove(ctx, cid)
    with pytest.raises(NotFound):
        containers.inspect(ctx, cid)
    assert engine.container_dirs() == [] and mounts_under(engine.root) == []
    assert sink.warnings == []


def test_run_attached_from_a_threaded_caller(engine: Engine) -> None:
    """`auto` in a process with a second thread: the container's monitor is not a fork
    of this process but the root's supervisor (a fresh interpreter); the attach stream
    still sees all output, gives the container its input, and the exit code."""
    ctx = Context(str(engine.root))
    results: dict[str, Any] = {}

    def work() -> None:
        try:
            results["may_fork"] = ctx.may_fork()
            created, stream = containers.run(ctx, {
                "Image": engine.image, "OpenStdin": True, "AttachStdin": True,
                "Cmd": ["sh", "-c", "echo out; echo err >&2; read x; echo $x; exit 5"],
                "HostConfig": {"NetworkMode": "none"}}, attach=True, interactive=True)
            assert stream is not None
            monitor = containers.find(ctx, created["Id"]).state["MonitorPid"]
            with open(f"/proc/{monitor}/cmdline", "rb") as f:
                results["monitor"] = f.read()
            with stream:
                stream.write(b"in\n")
                stream.close_stdin()
                results["out"] = _read_all(stream)
                results["code"] = stream.exit_code
            results["id"] = created["Id"]
        except BaseException as e:  # noqa: BLE001 - reported below
            results["error"] = e

    worker = threading.Thread(target=work)
    worker.start()
    worker.join(60)
    assert "error" not in results, results.get("error")
    assert results["may_fork"] is False
    assert b"minidocker.engine.supervisor" in results["monitor"]
    assert b"pytest" not in results["monitor"]
    assert results["out"] == {STDOUT: b"out\nin\n", STDERR: b"err\n"}
    assert results["code"] == 5
    assert containers.inspect(ctx, results["id"])["State"]["ExitCode"] == 5
    containers.remove(ctx, results["id"])


def test_run_imports_stay_lean(engine: Engine, tmp_path: Path) -> None:
    """`run --rm` pays for every module it imports (DESIGN.md Budgets): the set stays the
    one tests/unit/test_layers.py lists."""
    modules = imported_by(["--root", str(engine.root), "run", "--rm", "--network", "none",
                           engine.image, "true"], tmp_path / "mods")
    assert "minidocker.cli.commands.run" in modules
    assert sorted(modules - RUN_MODULES) == []


def test_wait_for_removal_gives_the_exit_code_of_a_removed_container(engine: Engine) -> None:
    """wait(condition="removed") of an AutoRemove container gives the code it exited with,
    also when it was removed between two of wait's looks (through the API, `docker run
    -it --rm` of a shell that ran `exit 5` once ended with 0)."""
    from minidocker.engine.service.containers import _last_exit_code
    ctx = Context(str(engine.root), spawn="exec")
    for code in (3, 5, 7):
        cid = containers.create(ctx, {"Image": engine.image, "Cmd": ["sh", "-c", f"exit {code}"],
                                      "HostConfig": {"NetworkMode": "none",
                                                     "AutoRemove": True}})["Id"]
        got: list[Any] = []
        waiter = threading.Thread(target=lambda cid=cid, got=got: got.append(
            containers.wait(ctx, cid, condition="removed")))
        waiter.start()
        time.sleep(0.2)  # wait has found the record and polls it
        containers.start(ctx, cid)
        waiter.join(30)
        assert got == [{"StatusCode": code, "Error": None}]
        assert _last_exit_code(ctx, cid, -1) == code
        with pytest.raises(NotFound):
            containers.inspect(ctx, cid)
