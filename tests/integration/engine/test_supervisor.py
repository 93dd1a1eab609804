"""The root's supervisor (engine/supervisor.py): one process watches every detached
container of a root, is the parent of their inits, loses nothing when it is killed, and
goes away when it has nothing left to watch."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from tests.integration.engine.conftest import Engine


def _state(engine: Engine, ref: str) -> dict:
    cid = engine.inspect(ref)["Id"]
    return json.loads((engine.root / "containers" / cid / "state.json").read_text())


def _ppid(pid: int) -> int:
    data = Path(f"/proc/{pid}/stat").read_bytes()
    return int(data[data.rindex(b")") + 2:].split()[1])


def _alive(pid: int) -> bool:
    try:
        data = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return data[data.rindex(b")") + 2:].split()[0] not in (b"Z", b"X")


def test_one_supervisor_watches_every_detached_container(engine: Engine) -> None:
    for name in ("a", "b", "c"):
        engine.ok("run", "-d", "--name", name, engine.image, "sh", "-c",
                  f"trap 'exit 143' TERM; echo hello from {name}; while true; do sleep 0.1; done")
    states = [_state(engine, name) for name in ("a", "b", "c")]
    supervisor = states[0]["MonitorPid"]
    assert {s["MonitorPid"] for s in states} == {supervisor}
    assert all(s["MonitorShared"] for s in states)
    assert all(_ppid(s["Pid"]) == supervisor for s in states)  # it reaps them: exit codes
    cmdline = Path(f"/proc/{supervisor}/cmdline").read_bytes()
    assert b"minidocker.engine.supervisor" in cmdline and str(engine.root).encode() in cmdline
    engine.wait_for(lambda: engine.ok("logs", "b") == "hello from b\n")
    engine.ok("stop", "-t", "1", "a")
    assert engine.inspect("a")["State"]["ExitCode"] == 143
    engine.ok("kill", "b")
    assert engine.inspect("b")["State"]["ExitCode"] == 137
    assert _alive(supervisor)  # c still needs it
    engine.ok("rm", "-f", "a", "b", "c")
    engine.wait_for(lambda: not _alive(supervisor), timeout=15)  # nothing left to watch
    assert not (engine.root / "supervisor.sock").exists()


def test_attach_stdin_and_exit_code_through_the_supervisor(engine: Engine) -> None:
    cid = engine.ok("create", "-i", "--name", "cat", engine.image, "sh", "-c",
                    "read line; echo got $line; exit 7").strip()
    proc = engine.run("start", "-ai", cid, input=b"ping\n")
    assert proc.stdout == "got ping\n" and proc.returncode == 7
    state = _state(engine, "cat")
    assert state["ExitCode"] == 7 and state["MonitorStart"] == 0  # and let go of it


def test_a_killed_supervisor_loses_no_container_output_or_exit_code(engine: Engine) -> None:
    engine.ok("run", "-d", "--name", "talk", engine.image, "sh", "-c",
              "trap 'exit 3' TERM; while true; do echo tick; sleep 0.2; done")
    engine.ok("run", "-d", "--name", "quiet", engine.image, "sleep", "60")
    old = _state(engine, "talk")["MonitorPid"]
    engine.wait_for(lambda: "tick" in engine.ok("logs", "talk"))
    os.kill(old, signal.SIGKILL)
    time.sleep(1.0)  # five ticks wait in the FIFO meanwhile
    assert engine.ok("ps", "-q", "--no-trunc").split().__len__() == 2  # adopts both
    new = _state(engine, "talk")["MonitorPid"]
    assert new != old and _state(engine, "quiet")["MonitorPid"] == new
    engine.wait_for(lambda: engine.ok("logs", "talk").count("tick") >= 8)
    engine.ok("stop", "-t", "5", "talk")  # not its child: the status from its zombie/pidfd
    assert engine.inspect("talk")["State"]["ExitCode"] == 3
    engine.ok("rm", "-f", "quiet")


def test_a_supervisor_running_other_code_retires(engine: Engine) -> None:
    """A caller from another checkout (or after an upgrade) gets a supervisor running its
    own code; the old one keeps its containers until they end, then exits."""
    engine.ok("run", "-d", "--name", "old", engine.image, "sleep", "60")
    old = _state(engine, "old")["MonitorPid"]
    from minidocker.engine import supervisor
    real = supervisor.code_identity
    try:
        supervisor.code_identity = lambda: "another interpreter:another checkout"
        assert supervisor._connect_once(str(engine.root)) is None  # noqa: SLF001
    finally:
        supervisor.code_identity = real
    engine.ok("run", "-d", "--name", "new", engine.image, "sleep", "60")
    new = _state(engine, "new")["MonitorPid"]
    assert new != old and _alive(old)
    engine.ok("stop", "-t", "0", "old")
    assert engine.inspect("old")["State"]["ExitCode"] == 137
    engine.wait_for(lambda: not _alive(old), timeout=15)
    assert _alive(new)
    engine.ok("rm", "-f", "old", "new")


def test_restart_policy_and_rm_under_the_supervisor(engine: Engine) -> None:
    cid = engine.ok("run", "-d", "--restart", "on-failure:2", engine.image, "sh", "-c",
                    "echo run; exit 3").strip()
    engine.wait_for(lambda: engine.inspect(cid)["State"]["Status"] == "exited"
                    and engine.inspect(cid)["RestartCount"] == 2, timeout=30)
    assert engine.ok("logs", cid) == "run\nrun\nrun\n"
    gone = engine.ok("run", "-d", "--rm", engine.image, "true").strip()
    engine.wait_for(lambda: engine.run("inspect", gone).returncode != 0)


def test_a_detached_container_gets_the_callers_limits_and_signals(engine: Engine) -> None:
    """The supervisor raises its own open-file limit (five fds a container) and may have
    been started by a caller that ignores or blocks signals: a container gets none of
    that, but the limits of the command that started it."""
    import resource
    import subprocess
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    soft = min(1024, hard - 1)

    def caller() -> None:  # a background script's, with a lower soft limit
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGQUIT, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})

    script = "ulimit -n; grep -E '^Sig(Ign|Blk)' /proc/self/status; sleep 60"
    for name in ("first", "second"):  # the first starts the supervisor
        subprocess.run(engine.cmd("run", "-d", "--name", name, engine.image, "sh", "-c",
                                  script), check=True, capture_output=True,
                       preexec_fn=caller)
    for name in ("first", "second"):
        engine.wait_for(lambda name=name: "SigIgn" in engine.ok("logs", name))
        lines = engine.ok("logs", name).split("\n")
        assert lines[0] == str(soft)
        assert lines[1].split() == ["SigBlk:", "0000000000000000"]
        assert lines[2].split() == ["SigIgn:", "0000000000000000"]
    engine.ok("rm", "-f", "first", "second")
