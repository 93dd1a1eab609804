"""Facts about processes from /proc, trusted over any record (alive and the same
process, by its start time; how it ended), and a record's status made true to those
facts: a container whose init is gone is never reported running (after a reboot, or a
killed monitor); the command that notices a dead monitor finishes its job
(finish_without_monitor) or has a new one adopt the container.
"""

from __future__ import annotations

import os
import time

from minidocker.engine import runtimes
from minidocker.engine.records import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from minidocker.engine.records import Record


# ---- facts about processes, from /proc (the engine's other modules import these) -------


def proc_stat(pid: int) -> tuple[str, int, int] | None:
    """(state letter, start time, exit code field) of a process, or None if it is gone."""
    if not pid:
        return None
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2:].split()
    exit_code = int(fields[49]) if len(fields) > 49 else 0
    return fields[0].decode(), int(fields[19]), exit_code


def alive(pid: int, start: int) -> bool:
    st = proc_stat(pid)
    return st is not None and st[0] not in ("Z", "X") and st[1] == start


def monitor_alive(state: dict[str, Any]) -> bool:
    return alive(int(state.get("MonitorPid") or 0), int(state.get("MonitorStart") or 0))


def exit_code_of(status: int) -> int:
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    return 255


# ---- a record's status from those facts -----------------------------------------------


RUNNING_STATES = ("running", "paused", "restarting")


def live_state(record: Record, reconcile_dead: bool = True, adopt_orphans: bool = True,
               carry_on: bool = True) -> dict[str, Any]:
    """The record's state with Status made true to the facts: a container whose init is
    gone is never reported running (after a reboot, or a killed monitor). With
    `carry_on` (any command but those about to start, stop or remove it), a dead
    monitor's restart policy is applied: the container is started again."""
    state = record.state
    status = state.get("Status")
    if status not in RUNNING_STATES and status != "removing":
        return state
    if status == "restarting" and monitor_alive(state):
        return state
    if alive(int(state.get("Pid") or 0), int(state.get("PidStart") or 0)):
        if status != "removing" and adopt_orphans and not monitor_alive(state):
            from minidocker.engine.control import adopt
            adopt(record)  # its monitor died: a new one takes over its output and exit
        return state
    if status != "removing" and monitor_alive(state):
        repaired = _init_from_runtime(record)
        if repaired is not None:
            return repaired
    # the init is gone: the monitor records that in a moment; if it is dead, we do
    deadline = time.monotonic() + 2.0
    while monitor_alive(state) and time.monotonic() < deadline:
        time.sleep(0.01)
        state = record.reload().state
        if state.get("Status") not in RUNNING_STATES:
            return state
    if not reconcile_dead or state.get("Status") == "removing" or monitor_alive(state):
        return state  # a live monitor is the one to record the exit, however slow it is
    return finish_without_monitor(record, carry_on)


def _init_from_runtime(record: Record) -> dict[str, Any] | None:
    """The record's init is gone but its monitor lives: either the init has just exited
    (the monitor records it in a moment), or the record names the wrong process (its Pid
    or PidStart damaged) while the runtime's init runs on. In that case the runtime's
    facts are written back and the state returned; otherwise None."""
    init = runtime_of(record).init(record.id)
    if init is None:
        return None
    with record.lock():
        state = record.reload().state
        named = (int(state.get("Pid") or 0), int(state.get("PidStart") or 0))
        if state.get("Status") in ("running", "paused") and named != init and \
                not alive(*named) and alive(*init):
            state = dict(state, Pid=init[0], PidStart=init[1])
            record.save_state(state)
        return state


def finish_without_monitor(record: Record, carry_on: bool = True) -> dict[str, Any]:
    """What the monitor would have done at exit, for a container whose monitor died:
    record how it ended — unless the monitor had (it died while `restarting`: the exit
    code it recorded stays) — then --rm, or with `carry_on` the restart policy."""
    from minidocker.engine.exits import _cleanup_after_exit, _wants_restart
    with record.lock():
        state = record.reload().state
        if state.get("Status") not in RUNNING_STATES:
            return state
        recorded = state.get("Status") == "restarting"
        if recorded:
            code = int(state.get("ExitCode") or 0)
        else:
            pid = int(state.get("Pid") or 0)
            st = proc_stat(pid)
            if st is not None and st[1] == int(state.get("PidStart") or 0) and st[0] == "Z":
                status = st[2]  # still a zombie of whoever adopted it: its wait status
            else:
                status = 255 << 8
            code = exit_code_of(status)
    if recorded:  # the monitor died in its back-off, or while it started the init again
        _undo_restart(record)
        state = record.reload().state
    else:
        state = _cleanup_after_exit(record, code, restarting=False)
    if record.config.get("HostConfig", {}).get("AutoRemove"):
        from minidocker.engine.control import remove_files
        remove_files(record, volumes=True)
        return state
    if carry_on and _wants_restart(record, code):
        _restart(record)
        state = record.reload().state
    return state


def _undo_restart(record: Record) -> None:
    """What a restart cut short may have made (the runtime's container, endpoints) goes;
    the record says exited, its exit code, time and OOM flag as the monitor wrote them."""
    from minidocker.engine.start import network_detach
    from minidocker.errors import MinidockerError
    try:
        runtime_of(record).delete(record.id)
    except MinidockerError:
        pass
    network_detach(record)
    with record.lock():
        state = record.reload().state
        if state.get("Status") == "restarting":
            state.update(Status="exited", Restarting=False, Running=False, Pid=0)
            record.save_state(state)


def _restart(record: Record) -> None:
    """The restart policy, carried on by the command that found the monitor dead."""
    from minidocker.engine.start import start
    from minidocker.errors import MinidockerError, NotModified
    with record.lock():
        state = record.reload().state
        if state.get("Status") != "exited" or state.get("ManualStop"):
            return
        state["RestartCount"] = int(state.get("RestartCount") or 0) + 1
        record.save_state(state)
    try:
        start(record, attach=False)
    except NotModified:
        pass  # another command restarted it first
    except MinidockerError as e:
        try:
            record.update(Error=str(e))
        except (MinidockerError, OSError):
            pass


def runtime_of(record: Record) -> runtimes.InProcess | runtimes.Binary:
    return runtimes.get(record.config.get("HostConfig", {}).get("Runtime") or "", record.root)
