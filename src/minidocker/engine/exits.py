"""The exit policy, applied by the monitor when the container ends: record how it ended
(exit code, OOM kill, time), then --restart (with backoff) or --rm; and what dockerd does
when it starts, for a daemonless engine (start_after_boot).
"""

from __future__ import annotations

import time

import minidocker
from minidocker.engine import events
from minidocker.engine.control import remove_files
from minidocker.engine.liveness import RUNNING_STATES, exit_code_of, live_state, runtime_of
from minidocker.engine.records import Record, Records, now
from minidocker.engine.start import mount_rootfs, network_detach, spawn_init, start, unmount_rootfs
from minidocker.errors import MinidockerError, NotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from minidocker.engine.records import Record


def on_exit(root: str, cid: str, status: int) -> tuple[int, tuple[int, int] | None]:
    """Record how the container ended, apply --restart and --rm. Returns (exit code,
    (pid, master) of the restarted container or None)."""
    record = Record(root, cid)
    code = exit_code_of(status)
    if minidocker.TRACE:
        minidocker.TRACE.step("process", "container exited", exit_code=code)
    try:
        record.state  # noqa: B018
    except (NotFound, MinidockerError):
        return code, None
    restart = _wants_restart(record, code)
    _cleanup_after_exit(record, code, restarting=restart)
    if restart:
        count = int(record.reload().state.get("RestartCount") or 0)
        time.sleep(min(0.1 * (2 ** count), 2.0))
        try:
            with record.lock():
                state = record.reload().state
                if state.get("ManualStop") or state.get("Status") == "removing":
                    restart = False  # stopped or removed while we waited to restart
                    if state.get("Status") != "removing":
                        state.update(Status="exited", Restarting=False)
                        record.save_state(state)
                else:
                    state["RestartCount"] = count + 1
                    record.save_state(state)
            if restart:
                mount_rootfs(record)
                return code, spawn_init(record, -1)
        except (NotFound, FileNotFoundError):
            return code, None
        except MinidockerError as e:
            record.update(Status="exited", Restarting=False, Error=str(e))
    if not restart:
        from minidocker.engine.records import Lock
        try:
            # under the start lock: a `start` (restart) right after the exit was recorded
            # may have mounted the rootfs again for its new init already
            with Lock(record.path("start.lock")):
                state = record.reload().state
                if state.get("Status") == "removing" or state.get("Status") in RUNNING_STATES:
                    return code, None
                unmount_rootfs(record)
        except NotFound:
            return code, None
        if record.config["HostConfig"].get("AutoRemove"):
            remove_files(record, volumes=True)
        if minidocker.TRACE:
            minidocker.TRACE.step("engine", "rootfs unmounted" + (
                ", record removed (--rm)" if record.config["HostConfig"].get("AutoRemove")
                else ""))
    return code, None


def start_after_boot(root: str) -> list[tuple[str, Exception | None]]:
    """What dockerd does when it starts, for a daemonless engine (`system boot`, run once
    at boot): start the containers that are not running (a reboot ended them, with their
    monitors) whose restart policy is `always`, or `unless-stopped` and not stopped by
    hand. [(id, None when started, else the error)]."""
    done: list[tuple[str, Exception | None]] = []
    for record in Records(root).all():
        try:
            state = live_state(record, carry_on=False)
            policy = (record.config["HostConfig"].get("RestartPolicy") or {}).get("Name")
        except (MinidockerError, KeyError):
            continue
        if state.get("Status") != "exited" or not (
                policy == "always" or policy == "unless-stopped" and
                not state.get("ManualStop")):
            continue
        try:
            start(record, attach=False)
            done.append((record.id, None))
        except MinidockerError as e:
            done.append((record.id, e))
    return done


def _wants_restart(record: Record, code: int) -> bool:
    state = record.state
    if state.get("ManualStop") or state.get("Status") == "removing":
        return False
    policy = record.config["HostConfig"].get("RestartPolicy") or {}
    name = policy.get("Name") or "no"
    if name in ("always", "unless-stopped"):
        return True
    if name == "on-failure" and code != 0:
        limit = int(policy.get("MaximumRetryCount") or 0)
        return limit == 0 or int(state.get("RestartCount") or 0) < limit
    return False


def _cleanup_after_exit(record: Record, code: int, restarting: bool) -> dict[str, Any]:
    """The container ended: runtime state, network and cgroup go, and the record says
    how it ended. Returns that state (kept in memory if a full disk refuses it: the
    next command that looks works it out again)."""
    runtime = runtime_of(record)
    oom = False
    try:
        manager = runtime.cgroup(record.id)
        if manager is not None:
            oom = manager.oom_kill_count() > 0
    except Exception:
        oom = False
    try:
        runtime.delete(record.id)
    except MinidockerError:
        pass
    network_detach(record)
    # the events first: a `stop` waiting for the state says `stop` after our `die`
    if oom:
        events.emit(record, "oom")
    events.emit(record, "die", exitCode=code)
    with record.lock():
        state = record.reload().state
        changes: dict[str, Any] = dict(Running=False, Paused=False, Pid=0, ExitCode=code,
                                       OOMKilled=oom, FinishedAt=now())
        if state.get("Status") != "removing":
            changes["Status"] = "restarting" if restarting else "exited"
            changes["Restarting"] = restarting
        state.update(changes)
        try:
            record.save_state(state)
        except OSError:
            pass  # a full disk (and no room in place): the facts tell it again
    if minidocker.TRACE:
        minidocker.TRACE.step("engine", "state: exited", exit_code=code, oom_killed=oom)
    return state
