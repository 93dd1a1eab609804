"""A monitor killed at a bad moment: the exit code it recorded survives, and the restart
policy it was applying is carried on by the next command that notices (ps, inspect...)."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from tests.integration.engine.conftest import Engine


def raw_state(engine: Engine, cid: str) -> dict[str, object]:
    """state.json as written, without a command that would reconcile it."""
    doc: dict[str, object] = json.loads(
        (engine.root / "containers" / cid / "state.json").read_text())
    return doc


def gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] in ("Z", "X")
    except OSError:
        return True


def wait_raw(engine: Engine, cid: str, predicate: object, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        state = raw_state(engine, cid)
        if predicate(state):  # type: ignore[operator]
            return state
        assert time.monotonic() < deadline, state
        time.sleep(0.002)


def test_a_monitor_killed_while_restarting_keeps_the_exit_code_and_the_policy(
        engine: Engine) -> None:
    cid = engine.ok("run", "-d", "--network", "none", "--restart", "always", engine.image,
                    "sh", "-c", "sleep 0.1; exit 3").strip()
    # a few restarts: its back-off is long enough now to be caught in it
    wait_raw(engine, cid, lambda s: int(s["RestartCount"]) >= 3)
    state = wait_raw(engine, cid, lambda s: s["Status"] == "restarting")
    os.kill(int(state["MonitorPid"]), 9)
    count = int(state["RestartCount"])
    doc = engine.inspect(cid)["State"]  # notices the dead monitor, starts it again
    # the code recorded stays until the container runs again (then 0, as Docker shows)
    assert (doc["Status"], doc["ExitCode"]) in (("running", 0), ("restarting", 3),
                                                 ("exited", 3)), doc
    engine.wait_for(lambda: engine.inspect(cid)["RestartCount"] > count, timeout=30)
    die = engine.ok("events", "--since", "0", "--until", "0s", "--filter", "event=die",
                    "--format", "{{.Actor.Attributes.exitCode}}").split()
    assert die and set(die) == {"3"}, die  # never 255
    engine.ok("rm", "-f", cid)


def killed_with_its_monitor(engine: Engine) -> tuple[str, dict[str, object]]:
    """A --restart always container whose monitor, then init, were killed (as a reboot
    ends them): (id, the state it was recorded in, untouched since)."""
    cid = engine.ok("run", "-d", "--network", "none", "--restart", "always", engine.image,
                    "sleep", "600").strip()
    state = raw_state(engine, cid)
    os.kill(int(state["MonitorPid"]), 9)
    os.kill(int(state["Pid"]), 9)
    engine.wait_for(lambda: gone(int(state["Pid"])) and gone(int(state["MonitorPid"])))
    return cid, state


def test_a_container_whose_monitor_and_init_were_killed_is_restarted_by_the_next_command(
        engine: Engine) -> None:
    cid, state = killed_with_its_monitor(engine)
    ps = engine.ok("ps", "--no-trunc", "--format", "{{.ID}} {{.State}}")
    assert ps.split() == [cid, "running"], ps
    doc = engine.inspect(cid)
    assert doc["RestartCount"] == 1 and doc["State"]["Pid"] != state["Pid"]
    new = raw_state(engine, cid)
    assert not gone(int(new["MonitorPid"])) and not gone(int(new["Pid"]))
    engine.ok("rm", "-f", cid)


def test_stop_ends_the_policy_of_a_container_found_dead_with_its_monitor(
        engine: Engine) -> None:
    cid, _ = killed_with_its_monitor(engine)
    engine.ok("stop", cid)
    assert engine.status(cid) == "exited"
    assert engine.ok("ps", "-aq", "--no-trunc").split() == [cid]
    assert engine.status(cid) == "exited" and engine.inspect(cid)["RestartCount"] == 0
    engine.ok("rm", cid)


def test_rm_of_a_restarting_container_leaves_no_monitor_behind(engine: Engine) -> None:
    """A monitor backing off between two restarts is removed with its container (it
    lingered until its back-off ended); `rm` without -f refuses, as Docker's."""
    cid = engine.ok("run", "-d", "--network", "none", "--restart", "always", engine.image,
                    "sh", "-c", "exit 3").strip()
    wait_raw(engine, cid, lambda s: int(s["RestartCount"]) >= 4)  # back-off 1.6 s
    # held in its back-off's sleep (it holds no lock there): a loaded machine may take
    # longer than the back-off to run `rm`, and a container started again and gone at
    # once is exited to it (this test failed so). The process that backs off is the
    # record's monitor then: the container's own, or the root's supervisor's exit worker
    # (a new one at each exit: the state is read again until it names one that sleeps)
    deadline = time.monotonic() + 10
    while True:
        state = raw_state(engine, cid)
        monitor = int(state["MonitorPid"])
        try:
            syscall = Path(f"/proc/{monitor}/syscall").read_text().split()[0]
        except OSError:
            syscall = ""
        if state["Status"] == "restarting" and syscall in ("35", "230"):  # (clock_)nanosleep
            break
        assert time.monotonic() < deadline, "the monitor does not sleep"
        time.sleep(0.001)
    os.kill(monitor, signal.SIGSTOP)
    try:
        plain = engine.run("rm", cid)
        assert plain.returncode == 1 and "container is restarting" in plain.stderr
        engine.ok("rm", "-f", cid)
    finally:
        try:
            os.kill(monitor, signal.SIGCONT)
        except ProcessLookupError:
            pass
    assert gone(monitor)


def test_rm_releases_the_lease_of_a_start_whose_monitor_was_killed(engine: Engine) -> None:
    """A monitor killed inside the network connect of a start, between the address's
    lease and the endpoint's record, leaves a lease that rm -f of the container (status
    created, or exited) must release (the fault suite found it left)."""
    from minidocker.network.store import Store

    engine.ok("network", "inspect", "bridge")  # the default network's record
    store = Store(str(engine.root))
    subnet = store.networks()["bridge"].subnet
    for setup in (["create"], ["run", "-d"]):
        cid = engine.ok(*setup, engine.image, "true").strip()
        engine.wait_for(lambda cid=cid: engine.status(cid) in ("created", "exited"))
        store.ipam.allocate(subnet, cid)  # what the killed connect had done
        engine.ok("rm", "-f", cid)
        assert cid not in store.ipam.leases(subnet).values()


def test_a_start_whose_monitor_died_after_create_leaves_no_container_behind(
        engine: Engine, tmp_path: Path) -> None:
    """The monitor (or the supervisor's worker) killed between the runtime's create and
    start: `start` says so in one line, and the created container does not stay behind,
    its init waiting for a start nobody will give, in the cgroup of a container the
    record says exited (a runtime that kills its caller right after create)."""
    from tests.conftest import tool
    wrapper = tmp_path / "dies-after-create"
    wrapper.write_text("#!/bin/sh\n"
                       "case \" $* \" in *\" create \"*) creating=1 ;; esac\n"
                       f"{tool('minidocker-runtime')} \"$@\"; code=$?\n"
                       "[ -n \"$creating\" ] && kill -9 $PPID\n"
                       "exit $code\n")
    wrapper.chmod(0o755)
    cid = engine.ok("create", "--runtime", str(wrapper), "--network", "none", engine.image,
                    "sleep", "600").strip()
    proc = engine.run("start", cid)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1 and "monitor died" in lines[0], proc
    assert engine.inspect(cid)["State"]["Status"] in ("created", "exited")
    for hierarchy in ("pids", "memory", "freezer"):
        assert not (Path("/sys/fs/cgroup") / hierarchy / "minidocker" / cid).exists()
    runtime_root = engine.root / "runtime-dies-after-create"
    assert not runtime_root.exists() or cid not in os.listdir(runtime_root)
    engine.ok("rm", "-f", cid)
