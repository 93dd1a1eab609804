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


def on_exit(root: str, cid: str, status: int, monitor: tuple[int, int] | None = None
            ) -> tuple[int, tuple[int, int] | None]:
    """Record how the container ended, apply --restart and --rm. Returns (exit code,
    (pid, master) of the restarted container or None). `monitor`: the pid and start time
    of the supervisor that watches the container, which lets go of it when it is done
    (let_go); without it, the monitor is us, and lets go here when the container is not
    restarted (MonitorStart 0: `rm -f` waits for that)."""
    try:
        code, restarted = _on_exit(root, cid, status, monitor)
    except NotFound:  # an rm -f removed it meanwhile (one that raced its start)
        return exit_code_of(status), None
    if restarted is None and monitor is None:  # the supervisor lets go itself, later
        let_go(Record(root, cid), monitor)
    return code, restarted


def let_go(record: Record, monitor: tuple[int, int] | None, force: bool = False) -> None:
    """No monitor (MonitorStart 0), unless the container was started again meanwhile (a `start`: its
    monitor is another, or, the supervisor's, the same process watching a new init);
    `force`: whatever its status (nothing of ours watches it any more)."""
    import os
    pid = monitor[0] if monitor else os.getpid()
    try:
        with record.lock():
            state = record.reload().state
            if int(state.get("MonitorPid") or 0) == pid and \
                    int(state.get("MonitorStart") or 0) and \
                    (force or state.get("Status") not in RUNNING_STATES):
                # the pid stays (a process that may watch others): no start time, no
                # monitor (liveness.monitor_alive)
                state.update(MonitorStart=0, MonitorShared=False)
                record.save_state(state)
    except (NotFound, FileNotFoundError, MinidockerError):
        pass  # removed (--rm, or rm -f meanwhile)


def _on_exit(root: str, cid: str, status: int, monitor: tuple[int, int] | None
             ) -> tuple[int, tuple[int, int] | None]:
    record = Record(root, cid)
    code = exit_code_of(status)
    if minidocker.TRACE:
        minidocker.TRACE.step("process", "container exited", exit_code=code)
    try:
        record.state  # noqa: B018
    except (NotFound, MinidockerError):
        return code, None
    restart = _wants_restart(record, code)
    watcher = None
    if restart and monitor is not None:
        # the supervisor's exit worker (us) backs off: the record's monitor until the
        # new init is watched (it dies with the supervisor; rm -f kills it, stop ends it)
        import os

        from minidocker.engine.liveness import proc_stat
        me = proc_stat(os.getpid())
        watcher = dict(MonitorPid=os.getpid(), MonitorStart=me[1] if me else 0,
                       MonitorShared=False)
    _cleanup_after_exit(record, code, restarting=restart, watcher=watcher)
    if restart:
        count = int(record.reload().state.get("RestartCount") or 0)
        until = time.monotonic() + min(0.1 * (2 ** count), 2.0)
        while time.monotonic() < until:  # a stop or rm -f meanwhile ends the back-off
            time.sleep(min(0.05, max(0.0, until - time.monotonic())))
            try:
                state = record.reload().state
            except (NotFound, MinidockerError):
                return code, None
            if state.get("ManualStop") or state.get("Status") == "removing":
                break
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
                return code, spawn_init(record, -1, monitor)
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


def _cleanup_after_exit(record: Record, code: int, restarting: bool,
                        watcher: dict[str, Any] | None = None) -> dict[str, Any]:
    """The container ended: runtime state, network and cgroup go, and the record says
    how it ended (and, restarting, `watcher`: who backs off). Returns that state (kept
    in memory if a full disk refuses it: the next command that looks works it out
    again)."""
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
            if restarting and watcher:
                changes.update(watcher)
        state.update(changes)
        try:
            record.save_state(state)
        except OSError:
            pass  # a full disk (and no room in place): the facts tell it again
    if minidocker.TRACE:
        minidocker.TRACE.step("engine", "state: exited", exit_code=code, oom_killed=oom)
    return state
