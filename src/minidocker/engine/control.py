"""stop, kill, pause, unpause, remove of containers, and the adoption of a running
container whose monitor died.
"""

from __future__ import annotations

import fcntl
import os
import time

from minidocker.engine import events, index
from minidocker.engine.liveness import (
    RUNNING_STATES,
    alive,
    live_state,
    monitor_alive,
    runtime_of,
)
from minidocker.engine.records import (
    TOMBSTONE,
    CorruptRecord,
    IncompleteRecord,
    Lock,
    Record,
    Records,
    remove_tree,
)
from minidocker.engine.start import network_detach, unmount_rootfs
from minidocker.errors import Conflict, MinidockerError, NotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from minidocker.engine.records import Record


def stop_signal(record: Record) -> int:
    from minidocker.runtime.operations import parse_signal
    return parse_signal(record.config["Config"].get("StopSignal") or "SIGTERM")


def wait_stopped(record: Record, timeout: float | None) -> bool:
    """Wait until the record no longer runs (monitor recorded it). True if it stopped."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        try:
            state = live_state(record.reload(), reconcile_dead=True, carry_on=False)
        except NotFound:
            return True
        if state.get("Status") not in RUNNING_STATES:
            return True
        if deadline is not None and time.monotonic() >= deadline:
            return False
        time.sleep(0.01)


def stop(record: Record, timeout: int | None = None, sig: int | None = None) -> bool:
    """Stop the container; False if it was not running (then nothing is done but that
    one found dead with its monitor is not restarted by its policy afterwards)."""
    recorded = record.state.get("Status")
    state = live_state(record, carry_on=False)
    if state.get("Status") not in RUNNING_STATES:
        if recorded in RUNNING_STATES:
            record.update(ManualStop=True)
        return False
    record.update(ManualStop=True)
    if timeout is None:
        timeout = int(record.config["Config"].get("StopTimeout", 10))
    runtime = runtime_of(record)
    if state.get("Status") == "paused":
        try:
            runtime.resume(record.id)
        except MinidockerError:
            pass
        record.update(Status="running", Paused=False)
    if timeout != 0:
        try:
            events.emit(record, "kill", signal=sig or stop_signal(record))
            runtime.kill(record.id, sig or stop_signal(record))
        except MinidockerError:
            pass
        if timeout < 0:
            timeout = 10**9
        if wait_stopped(record, timeout):
            events.emit(record, "stop")
            return True
    try:
        events.emit(record, "kill", signal=9)
        runtime.kill(record.id, 9, all_processes=True)
    except MinidockerError:
        pass
    if not wait_stopped(record, 30):
        raise MinidockerError(f"container {record.id[:12]} did not stop after SIGKILL")
    events.emit(record, "stop")
    return True


def kill(record: Record, sig: int) -> None:
    state = live_state(record, carry_on=False)
    if state.get("Status") not in ("running", "paused"):
        raise Conflict(f"cannot kill container: {record.id[:12]}: container "
                       f"{record.id} is not running")
    if sig in (9, 15):
        record.update(ManualStop=True)
    runtime_of(record).kill(record.id, sig)
    events.emit(record, "kill", signal=sig)


def remove(record: Record, force: bool = False, volumes: bool = False) -> None:
    try:
        try:
            _read(record)
        except IncompleteRecord:
            # a create under way holds the record's lock until the record is whole: wait
            # for it rather than remove as broken what it is making (and will start)
            with record.lock():
                pass
            _read(record)
    except (CorruptRecord, IncompleteRecord):
        if not force:
            raise
        remove_broken(record)
        return
    # held for the whole removal: a "removing" record whose remover died (kill -9) is
    # removed again by the next rm, one whose remover runs is left to it
    remover = Lock(record.path("remove.lock"))
    remover.fd = os.open(remover.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(remover.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        remover.__exit__()
        raise Conflict(f"removal of container {record.name} is already in progress")
    try:
        _remove(record, force, volumes)
    finally:
        remover.__exit__()


def _read(record: Record) -> None:
    record.reload().config  # noqa: B018 - read (and checked) before anything is done
    live_state(record, carry_on=False)  # reconciles a dead monitor's container first


def _remove(record: Record, force: bool, volumes: bool) -> None:
    # the mark under the start lock too: a start under way (its rootfs mounted, its
    # monitor creating the container) ends first, and then the removal kills what it
    # started; a start after the mark refuses a container marked for removal. Not held
    # for the kill: the container's exit takes it.
    with Lock(record.path("start.lock")), record.lock():
        state = record.reload().state
        status = state.get("Status")
        if status == "removing":  # its remover died: what it left is removed now
            status = "running" if alive(int(state.get("Pid") or 0),
                                        int(state.get("PidStart") or 0)) else "exited"
        # a monitor backing off before it starts the container again (no process runs)
        restarting = status == "restarting" and monitor_alive(state)
        if status in RUNNING_STATES and not restarting and not alive(
                int(state.get("Pid") or 0), int(state.get("PidStart") or 0)):
            status = "exited"
        if status in RUNNING_STATES and not force:
            raise Conflict(f"cannot remove container \"{record.name}\": container is "
                               f"{status}: stop the container before removing or force "
                               "remove")
        state["Status"] = "removing"
        try:
            record.save_state(state)
        except OSError:
            pass  # a full disk: the removal goes on without its mark (it needs no space)
    if status in RUNNING_STATES:
        runtime = runtime_of(record)
        try:
            runtime.resume(record.id) if status == "paused" else None
        except MinidockerError:
            pass
        if restarting and not state.get("MonitorShared"):
            try:  # nothing to wait for: its back-off would only delay the removal
                os.kill(int(state["MonitorPid"]), 9)
            except OSError:
                pass  # (the supervisor's exit worker sees "removing" and gives up)
        try:
            runtime.kill(record.id, 9, all_processes=True)
        except MinidockerError:
            pass
        deadline = time.monotonic() + 15
        while _watched(record) and time.monotonic() < deadline:
            time.sleep(0.01)  # its monitor records the exit and lets go of it
        if _watched(record) and not state.get("MonitorShared"):
            try:  # a stuck monitor must not keep the container's files
                os.kill(int(state["MonitorPid"]), 9)
            except OSError:
                pass
        try:
            runtime.delete(record.id)
        except MinidockerError:
            pass
    # also when it is not running: a start whose monitor was killed may have left its
    # endpoint or lease (a no-op for a container of no network, or one that left them)
    network_detach(record)
    remove_files(record, volumes)


def _watched(record: Record) -> bool:
    """Whether a monitor still holds the container: its own until it exits, the root's
    supervisor until the exit is handled (exits.on_exit clears MonitorPid then)."""
    try:
        return monitor_alive(record.reload().state)
    except MinidockerError:
        return False


def remove_files(record: Record, volumes: bool) -> None:
    """Everything of a stopped container: runtime state, mount, lease, volumes, record."""
    try:
        runtime_of(record).delete(record.id)
    except MinidockerError:
        pass
    unmount_rootfs(record)
    if str(record.config.get("Image", "")).startswith("sha256:"):  # a store image: a lease
        try:
            from minidocker.image import snapshot
            from minidocker.image.store import Store
            snapshot.release(Store(record.root), record.id)
        except Exception:
            pass
    mounts = record.config.get("Mounts") or []
    if volumes:
        _remove_anonymous(record.root, mounts)
    names = [record.name, *(str(record.config.get(k) or "").lstrip("/")
                           for k in ("NewName", "OldName"))]  # a rename cut short
    events.emit(record, "destroy")
    index.removed(record.root, record.id)  # first: a removal killed half-way is read anew
    _remove_record_dir(record, [n for n in names if n])


def _remove_record_dir(record: Record, names: list[str]) -> None:
    """The record disappears at once (renamed to a tombstone that Records.ids() does not
    list), its names are released, then its files go: a removal killed half-way never
    leaves half a record, and the listing that finds its tombstone finishes it, names
    included (Records.ids)."""
    tomb = os.path.join(os.path.dirname(record.dir), TOMBSTONE + record.id)
    try:
        os.rename(record.dir, tomb)
    except OSError:
        tomb = record.dir
    records = Records(record.root)
    released = [name for name in names if records.release_name(name, record.id)]
    if not released:  # a damaged config.json naming another: the names that point at it
        for name in records.names_of(record.id):
            records.release_name(name, record.id)
    remove_tree(tomb)


def remove_broken(record: Record) -> None:
    """`rm -f` of a record that cannot be read (corrupt, or left half-made by a create or
    remove that died): whatever runs in its cgroup is killed, its monitor too, its runtime
    state and cgroups deleted, its mounts undone, its network endpoints, image lease and
    names released, its files removed. Only the id is trusted."""
    try:
        state = record.state
        monitor = (int(state.get("MonitorPid") or 0), int(state.get("MonitorStart") or 0))
        if state.get("MonitorShared"):
            monitor = (0, 0)  # the root's supervisor, which watches others too
    except MinidockerError:
        monitor = (0, 0)
    for pid in _processes_naming(record) + ([monitor[0]] if alive(*monitor) else []):
        try:
            os.kill(pid, 9)
        except OSError:
            pass
    for runtime in runtimes_of(record.root):
        try:
            runtime.delete(record.id)
        except (MinidockerError, OSError):
            pass
    _kill_cgroups(record.id)
    with open("/proc/self/mountinfo") as f:
        mounts = [line.split()[4] for line in f if line.split()[4].startswith(record.dir + "/")]
    from minidocker.linux import libc
    for target in sorted(mounts, key=len, reverse=True):
        try:
            libc.umount2(target, libc.MNT_DETACH)
        except OSError:
            pass
    if os.path.isdir(os.path.join(record.root, "network")):
        from minidocker import network
        try:
            network.disconnect_all(record.root, record.id)
        except Exception:  # noqa: BLE001 - best effort, as for any removal
            pass
    try:
        from minidocker.image import snapshot
        from minidocker.image.store import Store
        snapshot.release(Store(record.root), record.id)
    except Exception:  # noqa: BLE001
        pass
    events.emit(record, "destroy")
    index.removed(record.root, record.id)
    _remove_record_dir(record, Records(record.root).names_of(record.id))


def _processes_naming(record: Record) -> list[int]:
    """Processes whose command line names the record (its monitor, an adopter)."""
    found = []
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if record.id.encode() in argv and record.root.encode() in argv:
            found.append(int(entry))
    return found


def runtimes_of(root: str) -> list[Any]:
    """Every runtime that may hold state of a container of `root`: ours, and each
    runtime binary that has a state directory there (runtime-<name>)."""
    from minidocker.engine import runtimes
    found: list[Any] = [runtimes.get("", root)]
    for entry in os.listdir(root) if os.path.isdir(root) else []:
        if entry.startswith("runtime-"):
            try:
                found.append(runtimes.get(entry.removeprefix("runtime-"), root))
            except MinidockerError:
                pass
    return found


def _kill_cgroups(cid: str) -> None:
    """What is left in the container's cgroups (the engine's cgroupsPath, /minidocker/ID,
    in every hierarchy) is killed, thawed first, and the cgroups removed."""
    base = "/sys/fs/cgroup"
    paths = [os.path.join(base, "minidocker", cid)] + [
        os.path.join(base, c, "minidocker", cid) for c in os.listdir(base)]
    paths = [p for p in paths if os.path.isdir(p)]
    for path in paths:
        for name, value in (("freezer.state", "THAWED"), ("cgroup.freeze", "0")):
            try:
                with open(os.path.join(path, name), "w") as f:
                    f.write(value)
            except OSError:
                pass
    for _ in range(50):
        pids: set[int] = set()
        for path in paths:
            try:
                with open(os.path.join(path, "cgroup.procs")) as f:
                    pids.update(int(p) for p in f.read().split())
            except (OSError, ValueError):
                pass
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        time.sleep(0.02)
    for path in paths:
        for sub, _, _ in sorted(os.walk(path), key=lambda w: len(w[0]), reverse=True):
            try:
                os.rmdir(sub)
            except OSError:
                pass


def _remove_anonymous(root: str, mounts: list[dict[str, Any]]) -> None:
    from minidocker.engine import volumes as vol
    for m in mounts:
        if m.get("Type") == "volume" and m.get("Anonymous") and m.get("Name"):
            try:
                vol.remove(root, m["Name"], force=True)
            except MinidockerError:
                pass


def pause(record: Record) -> None:
    state = live_state(record)
    if state.get("Status") == "paused":
        raise Conflict(f"container {record.id} is already paused")
    if state.get("Status") != "running":
        raise Conflict(f"container {record.id} is not running")
    runtime_of(record).pause(record.id)
    record.update(Status="paused", Paused=True)
    events.emit(record, "pause")


def unpause(record: Record) -> None:
    state = live_state(record)
    if state.get("Status") != "paused":
        raise Conflict(f"container {record.id} is not paused")
    runtime_of(record).resume(record.id)
    record.update(Status="running", Paused=False)
    events.emit(record, "unpause")


def adopt(record: Record) -> None:
    """Have the root's supervisor watch a running container whose monitor died (kill -9,
    OOM killer, a reboot of the supervisor): it reopens the stdout/stderr FIFOs (the
    container's output waited in them) and watches the init through a pidfd; the exit
    status is read from the zombie, or from the pidfd once another process reaped it."""
    from minidocker.engine import supervisor
    from minidocker.engine.records import Lock
    if record.config["Config"].get("Tty"):
        return  # the pty master died with the old monitor: nothing to take over
    try:
        lock = Lock(record.path("start.lock"))
        lock.__enter__()
    except (MinidockerError, OSError):
        return
    try:
        state = record.reload().state
        pid = int(state.get("Pid") or 0)
        if monitor_alive(state) or not alive(pid, int(state.get("PidStart") or 0)):
            return
        supervisor.adopt(record.root, record.id, pid)
    finally:
        lock.__exit__()
