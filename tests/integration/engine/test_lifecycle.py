"""stop, kill, restart, wait, pause, restart policies, and state that stays true when the
monitor or the CLI is killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

from tests.integration.engine.conftest import Engine


def _monitor_pid(engine: Engine, cid: str) -> int:
    import json
    with open(engine.root / "containers" / cid / "state.json") as f:
        return int(json.load(f)["MonitorPid"])


def test_stop_kills_a_container_that_ignores_sigterm(engine: Engine) -> None:
    cid = engine.ok("run", "-d", engine.image, "sh", "-c",
                    "trap '' TERM; while true; do sleep 0.1; done").strip()
    start = time.monotonic()
    engine.ok("stop", "-t", "1", cid)
    elapsed = time.monotonic() - start
    assert 0.9 <= elapsed < 10
    state = engine.inspect(cid)["State"]
    assert state["Status"] == "exited"
    assert state["ExitCode"] == 137


def test_stop_uses_the_stop_signal(engine: Engine) -> None:
    cid = engine.ok("run", "-d", "--stop-signal", "USR1", engine.image, "sh", "-c",
                    "trap 'exit 9' USR1; while true; do sleep 0.1; done").strip()
    engine.ok("stop", "-t", "5", cid)
    assert engine.inspect(cid)["State"]["ExitCode"] == 9


def test_kill_with_signal_and_wait(engine: Engine) -> None:
    cid = engine.ok("run", "-d", engine.image, "sh", "-c",
                    "trap 'exit 10' USR1; while true; do sleep 0.1; done").strip()
    waiter = subprocess.Popen(engine.cmd("wait", cid), stdout=subprocess.PIPE, text=True)
    engine.ok("kill", "-s", "USR1", cid)
    out, _ = waiter.communicate(timeout=20)
    assert out.strip() == "10"
    cid2 = engine.ok("run", "-d", engine.image, "sleep", "60").strip()
    engine.ok("kill", cid2)  # SIGKILL by default
    assert engine.ok("wait", cid2).strip() == "137"
    assert engine.run("kill", cid).returncode != 0  # not running any more


def test_restart_command_and_start(engine: Engine) -> None:
    cid = engine.ok("run", "-d", engine.image, "sleep", "60").strip()
    pid1 = engine.inspect(cid)["State"]["Pid"]
    engine.ok("restart", "-t", "0", cid)
    state = engine.inspect(cid)["State"]
    assert state["Status"] == "running" and state["Pid"] != pid1
    engine.ok("stop", "-t", "0", cid)
    engine.ok("start", cid)
    assert engine.status(cid) == "running"


def test_pause_and_unpause(engine: Engine) -> None:
    cid = engine.ok("run", "-d", engine.image, "sleep", "60").strip()
    engine.ok("pause", cid)
    assert engine.status(cid) == "paused"
    assert "(Paused)" in engine.ok("ps", "--format", "{{.Status}}")
    assert engine.run("exec", cid, "true").returncode != 0
    engine.ok("unpause", cid)
    assert engine.status(cid) == "running"
    assert engine.run("exec", cid, "true").returncode == 0


def test_restart_on_failure_with_a_limit(engine: Engine) -> None:
    cid = engine.ok("run", "-d", "--restart", "on-failure:2", engine.image, "sh", "-c",
                    "echo run; exit 3").strip()
    engine.wait_for(lambda: engine.inspect(cid)["State"]["Status"] == "exited"
                    and engine.inspect(cid)["RestartCount"] == 2, timeout=20)
    assert engine.ok("logs", cid).split() == ["run", "run", "run"]
    assert engine.inspect(cid)["State"]["ExitCode"] == 3


def test_restart_always_until_stopped(engine: Engine) -> None:
    cid = engine.ok("run", "-d", "--restart", "always", engine.image, "sh", "-c",
                    "sleep 0.2").strip()
    engine.wait_for(lambda: engine.inspect(cid)["RestartCount"] >= 2, timeout=20)
    engine.ok("stop", "-t", "1", cid)
    assert engine.status(cid) == "exited"
    count = engine.inspect(cid)["RestartCount"]
    time.sleep(1)
    assert engine.status(cid) == "exited"
    assert engine.inspect(cid)["RestartCount"] == count


def test_on_failure_does_not_restart_success(engine: Engine) -> None:
    cid = engine.ok("run", "-d", "--restart", "on-failure", engine.image, "true").strip()
    engine.wait_for(lambda: engine.status(cid) == "exited")
    time.sleep(0.5)
    assert engine.inspect(cid)["RestartCount"] == 0


def test_rm_of_running_needs_force(engine: Engine) -> None:
    cid = engine.ok("run", "-d", engine.image, "sleep", "60").strip()
    result = engine.run("rm", cid)
    assert result.returncode != 0 and "force" in result.stderr
    engine.ok("rm", "-f", cid)
    assert engine.container_dirs() == []


def test_killed_monitor_the_container_keeps_running_and_is_stopped_right(
        engine: Engine) -> None:
    cid = engine.ok("run", "-d", engine.image, "sh", "-c",
                    "echo before; sleep 60").strip()
    engine.wait_for(lambda: "before" in engine.ok("logs", cid))
    os.kill(_monitor_pid(engine, cid), signal.SIGKILL)
    time.sleep(0.2)
    assert engine.status(cid) == "running"  # the container does not depend on it
    engine.ok("stop", "-t", "1", cid)
    state = engine.inspect(cid)["State"]
    assert state["Status"] == "exited" and state["Running"] is False
    assert state["ExitCode"] != 0
    engine.ok("rm", cid)
    assert engine.container_dirs() == []


def test_killed_monitor_of_an_exited_container_is_reconciled(engine: Engine) -> None:
    cid = engine.ok("run", "-d", engine.image, "sleep", "1").strip()
    os.kill(_monitor_pid(engine, cid), signal.SIGKILL)
    engine.wait_for(lambda: engine.status(cid) == "exited", timeout=15)
    assert engine.ok("ps", "-q") == ""


def test_killed_cli_leaves_the_container_running(engine: Engine) -> None:
    proc = subprocess.Popen(engine.cmd("run", "--name", "fg", engine.image, "sh", "-c",
                                       "echo up; sleep 60"),
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"up\n"
    proc.kill()
    proc.wait()
    assert engine.status("fg") == "running"
    assert engine.ok("logs", "fg") == "up\n"
    engine.ok("stop", "-t", "0", "fg")
    assert engine.status("fg") == "exited"


def test_cli_killed_at_random_moments_never_leaves_a_lie(engine: Engine) -> None:
    for delay in (0.005, 0.02, 0.04, 0.08):
        proc = subprocess.Popen(engine.cmd("run", "-d", engine.image, "sleep", "30"),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.kill()
        proc.wait()
    time.sleep(0.5)
    for line in engine.ok("ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.State}}"
                          ).splitlines():
        cid, state = line.split()
        doc = engine.inspect(cid)["State"]
        if state == "running":
            assert os.path.exists(f"/proc/{doc['Pid']}")
        else:
            assert state in ("created", "exited")


def test_output_after_a_killed_monitor_is_not_lost(engine: Engine) -> None:
    cid = engine.ok("run", "-d", engine.image, "sh", "-c",
                    "echo one; sleep 1; echo two; sleep 1; exit 6").strip()
    engine.wait_for(lambda: "one" in engine.ok("logs", cid))
    old = _monitor_pid(engine, cid)
    os.kill(old, signal.SIGKILL)
    assert engine.status(cid) == "running"  # the next command adopts the container
    assert _monitor_pid(engine, cid) != old
    code = engine.ok("wait", cid, timeout=20).strip()
    # with an init reaped by a fast PID 1 before Linux 6.15, the code is lost (255)
    assert (code == "6") if PIDFD_EXIT else (code in ("6", "255"))
    assert engine.ok("logs", cid) == "one\ntwo\n"


# Linux 6.15 keeps an exited process's wait status for the holders of a pidfd
PIDFD_EXIT = tuple(int(x) for x in os.uname().release.split("-")[0].split(".")[:2]) >= (6, 15)

FAST_REAPER = """
import ctypes, os, subprocess, sys, time
libc = ctypes.CDLL(None, use_errno=True)
assert libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
print(subprocess.run(sys.argv[1:], capture_output=True, text=True, check=True).stdout.strip(),
      flush=True)
deadline = time.monotonic() + 30
while time.monotonic() < deadline:  # reap whatever is reparented to us, the moment it ends
    try:
        pid, status = os.waitpid(-1, 0)
        print("reaped", pid, status, flush=True)
    except ChildProcessError:
        time.sleep(0.001)
"""


def test_adopted_containers_exit_code_survives_a_fast_reaper(engine: Engine) -> None:
    """The monitor dies; the container's init goes to the nearest subreaper, here one that
    reaps at once (as systemd does), so no zombie is left to read the status from. The
    adopting monitor still records the exit code, from the pidfd it held (Linux 6.15)."""
    import pytest
    if not PIDFD_EXIT:
        pytest.skip("needs Linux 6.15 (PIDFD_INFO_EXIT)")
    import sys
    reaper = subprocess.Popen(
        [sys.executable, "-c", FAST_REAPER,
         *engine.cmd("run", "-d", engine.image, "sh", "-c", "sleep 2; exit 7")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert reaper.stdout is not None
        cid = reaper.stdout.readline().strip()
        old = _monitor_pid(engine, cid)
        os.kill(old, signal.SIGKILL)  # its parent is the reaper: it reaps the monitor too
        assert engine.status(cid) == "running"  # adopted by a new monitor
        assert _monitor_pid(engine, cid) != old
        init_pid = engine.inspect(cid)["State"]["Pid"]
        assert engine.ok("wait", cid, timeout=20).strip() == "7"
    finally:
        reaper.kill()
        out = reaper.stdout.read() if reaper.stdout else ""
        reaper.wait(timeout=30)
    # the scenario really happened: the reaper, not a monitor, collected the init
    assert f"reaped {init_pid} {7 << 8}" in out, out


def test_monitor_killed_at_random_moments_never_leaves_a_lie(engine: Engine) -> None:
    import json
    for delay in (0.0, 0.01, 0.03, 0.1, 0.3):
        cid = engine.ok("run", "-d", engine.image, "sh", "-c", "sleep 0.2; exit 3").strip()
        time.sleep(delay)
        with open(engine.root / "containers" / cid / "state.json") as f:
            monitor = int(json.load(f)["MonitorPid"])
        try:
            os.kill(monitor, signal.SIGKILL)
        except ProcessLookupError:
            pass
    time.sleep(1.0)
    for line in engine.ok("ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.State}}"
                          ).splitlines():
        cid, state = line.split()
        assert state == "exited", (cid, state)
        assert engine.inspect(cid)["State"]["ExitCode"] in (3, 255)


def test_restart_policy_survives_a_killed_monitor(engine: Engine) -> None:
    cid = engine.ok("run", "-d", "--restart", "always", engine.image, "sh", "-c",
                    "sleep 1").strip()
    old = _monitor_pid(engine, cid)
    os.kill(old, signal.SIGKILL)
    assert engine.status(cid) == "running"  # adopted
    engine.wait_for(lambda: engine.inspect(cid)["RestartCount"] >= 2, timeout=20)
    err = engine.root / "containers" / cid / "monitor.err"
    assert engine.status(cid) in ("running", "restarting"), \
        (engine.inspect(cid)["State"], err.read_text() if err.exists() else "")
    engine.ok("stop", "-t", "1", cid)
    assert engine.status(cid) == "exited"


def test_system_boot_starts_what_the_restart_policy_asks(engine: Engine) -> None:
    """A reboot ends every container and its monitor, and no daemon comes back to apply
    the restart policies: `system boot` (run once at boot) does what dockerd's start
    does."""
    always = engine.ok("run", "-d", "--restart", "always", engine.image, "sleep", "60")
    unless = engine.ok("run", "-d", "--restart", "unless-stopped", engine.image,
                       "sleep", "60")
    stopped = engine.ok("run", "-d", "--restart", "unless-stopped", engine.image,
                        "sleep", "60")
    plain = engine.ok("run", "-d", engine.image, "sleep", "60")
    always, unless, stopped, plain = (c.strip() for c in (always, unless, stopped, plain))
    engine.ok("stop", "-t", "0", stopped)  # by hand: stays stopped
    inits = []
    for cid in (always, unless, plain):  # the reboot: monitor first, so nothing restarts
        inits.append(engine.inspect(cid)["State"]["Pid"])
        os.kill(_monitor_pid(engine, cid), signal.SIGKILL)
        os.kill(inits[-1], signal.SIGKILL)
    deadline = time.monotonic() + 10
    while not all(_dead(pid) for pid in inits):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    # no command has looked yet (any would carry the policies on: see
    # test_monitor_faults.py): the records still say running, with dead processes
    assert {cid: _recorded_status(engine, cid) for cid in (always, unless, plain)} == \
        dict.fromkeys((always, unless, plain), "running")
    assert set(engine.ok("system", "boot").split()) == {always, unless}
    assert engine.status(always) == "running" and engine.status(unless) == "running"
    assert engine.status(stopped) == "exited" and engine.status(plain) == "exited"
    assert engine.ok("system", "boot") == ""  # nothing left to start


def _recorded_status(engine: Engine, cid: str) -> str:
    """The status state.json holds, read without a command (which would reconcile it)."""
    state = json.loads((engine.root / "containers" / cid / "state.json").read_text())
    return str(state["Status"])


def _dead(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True
