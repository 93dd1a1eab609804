"""Lifecycle operations on an existing container: start, kill, delete, pids, pause.

Each is a separate runtime call of a client (containerd's shim makes four or more per
container), so this module imports only what every one of them needs: hooks, the cgroup
managers and the rootfs code come in when a container has hooks, a cgroup to act on, or
mounts to undo; pidfds come from the os module, not ctypes (2 ms of imports).
"""

from __future__ import annotations

import _signal as signal  # the signal module's IntEnums import enum: 3 ms
import errno
import os
import time

import minidocker
from minidocker.errors import Conflict, MinidockerError, NotFound, UsageError
from minidocker.runtime.cgroup import from_state
from minidocker.runtime.state import Container, Status, proc_stat, process_matches

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def start(container: Container) -> None:
    lock = container.lock()
    try:
        status = container.status()
        if not status.can_start():
            raise Conflict(f"cannot start container {container.id}: it is {status}")
        state = container.state
        if not state.config.get("process"):
            raise MinidockerError(f"cannot start container {container.id}: config.json "
                                  "sets no process (start needs one)")
        try:
            fd = os.open(container.fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError:
            raise Conflict(f"cannot start container {container.id}: it was started already")
        try:
            # the init holds the fifo open for writing only while it waits for us
            os.set_blocking(fd, True)
            data = _read_fifo(fd, state.pid, state.pid_start)
        finally:
            os.close(fd)
        if not data:
            raise Conflict(f"cannot start container {container.id}: its init exited")
        os.unlink(container.fifo)
        if minidocker.TRACE:
            minidocker.TRACE.step("sync", "exec.fifo read: the init goes on to exec",
                                  init=state.pid)
        poststart = (state.config.get("hooks") or {}).get("poststart")
        if poststart:
            from minidocker.runtime import hooks
            # the state as of this start: the process runs (it may have exited by now)
            doc = {**container.oci_state(), "status": "running", "pid": state.pid}
            hooks.run_hooks(poststart, doc, "poststart", warn=_warn)
    finally:
        os.close(lock)


def _read_fifo(fd: int, pid: int, pid_start: int) -> bytes:
    """Read the init's byte; gives up when the init dies before it writes."""
    import select
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    pidfd = -1
    try:
        pidfd = os.pidfd_open(pid)
        poller.register(pidfd, select.POLLIN)
    except OSError:
        pass
    try:
        while True:
            events = poller.poll(1000)
            for efd, _ in events:
                if efd == fd:
                    try:
                        return os.read(fd, 1)
                    except BlockingIOError:
                        continue
                if efd == pidfd:
                    return b""
            if not events and not process_matches(pid, pid_start):
                return b""
    finally:
        if pidfd >= 0:
            os.close(pidfd)


SIGNALS = {name: number for name, number in vars(signal).items()
           if name.startswith("SIG") and not name.startswith("SIG_") and isinstance(number, int)}


def parse_signal(text: str) -> int:
    value = text.strip().upper()
    if value.isdigit():
        n = int(value)
        if 0 < n < signal.NSIG:
            return n
        raise UsageError(f"invalid signal {text!r}")
    if not value.startswith("SIG"):
        value = "SIG" + value
    if value.startswith("SIGRTMIN+") or value.startswith("SIGRTMAX-"):
        base, _, off = value[3:].partition("+" if "+" in value else "-")
        if off.isdigit():
            n = (signal.SIGRTMIN + int(off)) if base == "RTMIN" else (
                signal.SIGRTMAX - int(off))
            if signal.SIGRTMIN <= n <= signal.SIGRTMAX:
                return int(n)
    if value in SIGNALS:
        return SIGNALS[value]
    raise UsageError(f"invalid signal {text!r}")


def kill(container: Container, sig: int, all_processes: bool = False) -> None:
    status = container.status()
    state = container.state
    if all_processes:
        # as runc: whatever the init's status, every process left in the cgroup. The runc
        # shim sends `kill --all ID 9` after the init of a container sharing its pod's
        # PID namespace exited, and retries until it succeeds: an error would hold the
        # container's exit back forever
        for pid in pids_of(container):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        return
    if not status.can_kill():
        raise Conflict(f"cannot kill container {container.id}: it is {status}")
    try:
        pidfd = os.pidfd_open(state.pid)
    except OSError:
        raise Conflict(f"cannot kill container {container.id}: it is stopped")
    try:
        # the pidfd pins the process: check it is still ours before signalling
        if not process_matches(state.pid, state.pid_start):
            raise Conflict(f"cannot kill container {container.id}: it is stopped")
        signal.pidfd_send_signal(pidfd, sig)
    finally:
        os.close(pidfd)


def pids_of(container: Container) -> list[int]:
    """Host pids of every process of the container."""
    state = container.state
    manager = from_state(state.cgroup)
    if manager is not None:
        try:
            return sorted(manager.pids())
        except OSError:
            pass
    return _pids_by_pid_namespace(state.pid, state.pid_start)


def _pids_by_pid_namespace(pid: int, start: int) -> list[int]:
    if not pid or not process_matches(pid, start):
        return []
    try:
        target = os.stat(f"/proc/{pid}/ns/pid")
    except OSError:
        return []
    if os.stat("/proc/self/ns/pid").st_ino == target.st_ino:
        return [pid]
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                st = os.stat(f"/proc/{entry}/ns/pid")
            except OSError:
                continue
            if (st.st_dev, st.st_ino) == (target.st_dev, target.st_ino):
                out.append(int(entry))
    return sorted(out)


def delete(container: Container, force: bool = False) -> None:
    lock = container.lock()
    try:
        status = container.status()
        try:
            state = container.state
        except Conflict:
            if status == Status.CREATING:
                raise Conflict(f"cannot delete container {container.id}: "
                               "it is being created")
            _clean_crashed_create(container)
            return
        if status in (Status.RUNNING, Status.PAUSED) and not force:
            raise Conflict(f"cannot delete container {container.id} that is not stopped: "
                           f"{status}", hint="stop it first, or use delete --force")
        manager = from_state(state.cgroup)
        if status != Status.STOPPED:
            _kill_everything(container, manager)
        elif manager is not None:
            # the init is gone but processes of a shared pid namespace may be left
            try:
                if manager.pids():
                    _kill_everything(container, manager)
            except OSError:
                pass
        if manager is not None:
            try:
                manager.destroy()
            except OSError as e:
                if e.errno not in (errno.ENOENT,):
                    raise MinidockerError(f"remove cgroup of {container.id}: "
                                          f"{e.strerror}")
            if minidocker.TRACE:
                minidocker.TRACE.step("cgroup", "removed", killed=status != Status.STOPPED)
        kinds = {ns.get("type") for ns in
                 (state.config.get("linux") or {}).get("namespaces") or []}
        if "mount" not in kinds:  # its mounts were made in the host's mount namespace
            from minidocker.runtime import rootfs
            for message in rootfs.unmount_from_host(state.rootfs, state.config):
                _warn(message)
        doc = {"ociVersion": state.config.get("ociVersion", ""), "id": container.id,
               "status": "stopped", "pid": state.pid, "bundle": state.bundle,
               "annotations": state.config.get("annotations") or {}}
        container.remove_dir()
        if minidocker.TRACE:
            minidocker.TRACE.step("runtime", "state removed", path=container.dir)
        poststop = (state.config.get("hooks") or {}).get("poststop")
        if poststop:
            from minidocker.runtime import hooks
            hooks.run_hooks(poststop, doc, "poststop", warn=_warn)
    finally:
        os.close(lock)


def _clean_crashed_create(container: Container) -> None:
    """A create that died half-way left its state directory and maybe a cgroup (whose
    state it wrote to cgroup.json before making it) with processes in it."""
    from minidocker import jsonfast
    try:
        with open(os.path.join(container.dir, "cgroup.json")) as f:
            manager = from_state(jsonfast.loads(f.read()))
    except (OSError, ValueError):
        manager = None
    if manager is not None:
        deadline = time.monotonic() + 10
        try:
            # every hierarchy, not one: the init of a create cut short may have joined
            # some of them only
            while _pids_anywhere(manager) and time.monotonic() < deadline:
                manager.kill_all(signal.SIGKILL)
                for pid in _pids_anywhere(manager):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                time.sleep(0.005)
            manager.destroy()
        except OSError as e:
            raise MinidockerError(f"remove cgroup of {container.id}: {e.strerror}")
    container.remove_dir()


def _pids_anywhere(manager: Any) -> set[int]:
    """The processes in any of the container's cgroup directories (and those below)."""
    from minidocker.linux.cgroups import common
    found: set[int] = set()
    for top in set(manager.host_paths().values()):
        for dirpath, _, _ in os.walk(top):
            found.update(common.read_pids(dirpath))
    return found


def _kill_everything(container: Container, manager: Any) -> None:
    state = container.state
    if manager is not None:
        try:
            manager.thaw()
        except Exception:
            pass
        try:
            manager.kill_all(signal.SIGKILL)
        except Exception:
            pass
    if process_matches(state.pid, state.pid_start):
        try:
            os.kill(state.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        st = proc_stat(state.pid)
        alive = st is not None and st[0] not in ("Z", "X") and st[1] == state.pid_start
        left = manager.pids() if manager is not None else []
        if not alive and not left:
            return
        if manager is not None and left:
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        time.sleep(0.005)
    raise MinidockerError(f"container {container.id}: processes did not die after SIGKILL")


def pause(container: Container) -> None:
    status = container.status()
    if status != Status.RUNNING:
        raise Conflict(f"cannot pause container {container.id}: it is {status}")
    manager = _manager_or_fail(container)
    manager.freeze()


def resume(container: Container) -> None:
    status = container.status()
    if status != Status.PAUSED:
        raise Conflict(f"cannot resume container {container.id}: it is {status}")
    manager = _manager_or_fail(container)
    manager.thaw()


def _manager_or_fail(container: Container) -> Any:
    manager = from_state(container.state.cgroup)
    if manager is None:
        raise MinidockerError(f"container {container.id} has no cgroup (rootless)")
    return manager


def load(root: str, cid: str) -> Container:
    container = Container(root, cid)
    if not container.exists():
        raise NotFound(f"container {cid} does not exist")
    return container


def _warn(message: str) -> None:
    import sys
    sys.stderr.write(f"minidocker-runtime: warning: {message}\n")
