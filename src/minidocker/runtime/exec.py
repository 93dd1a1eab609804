"""`exec`: run another process in a running container's namespaces and cgroup.

parent: fork ─▶ child: joins user, ipc, uts, net, pid, cgroup, time, mount namespaces,
forks ─▶ grandchild (inside the pid namespace): terminal, rlimits, seccomp, user,
capabilities, cwd, execve. The grandchild reports READY (or ERROR) before execve; the
socket is close-on-exec so a successful execve is seen as EOF after READY.
"""

from __future__ import annotations

import os

import minidocker
from minidocker.errors import Conflict, MinidockerError
from minidocker.runtime import namespaces, process, sync
from minidocker.runtime.cgroup import from_state
from minidocker.runtime.spec import validate_process
from minidocker.runtime.state import Container

TYPE_CHECKING = False
if TYPE_CHECKING:
    import socket
    from typing import Any


def exec_process(container: Container, proc: dict[str, Any], *, console_socket: str | None,
                 console_pair: socket.socket | None, preserve_fds: int) -> int:
    """Start `proc` in the container; return its host pid (not waited for)."""
    validate_process(proc)
    status = container.status()
    if not status.can_exec():
        raise Conflict(f"cannot exec in container {container.id}: it is {status}")
    state = container.state
    spec = state.config
    linux = spec.get("linux") or {}
    if proc.get("terminal") and not (console_socket or console_pair):
        raise MinidockerError("a terminal was asked for: --console-socket is required")
    # The child enters the container's mount namespace: from then on nothing can be
    # imported from the host, so load now what it may need.
    if proc.get("terminal"):
        from minidocker.runtime import console  # noqa: F401
    if proc.get("apparmorProfile") or proc.get("selinuxLabel"):
        from minidocker.runtime import lsm, rootfs  # noqa: F401
    seccomp = linux.get("seccomp")
    from minidocker.runtime import lsm
    lsm.check(proc)
    process.warn_unraisable_ambient(proc)
    prepared = process.Prepared(proc, seccomp, os.path.join(container.root, ".seccomp-cache"))

    kinds = [k for k in namespaces.JOIN_ORDER if k in state.namespaces
             and not namespaces.same_as_ours(state.pid, namespaces.KINDS[k][1])]
    wanted: dict[str, str | None] = {k: f"/proc/{state.pid}/ns/{namespaces.KINDS[k][1]}"
                                     for k in kinds}
    join_fds = namespaces.open_paths(wanted)
    sock_console = console_pair
    if sock_console is None and console_socket:
        from minidocker.runtime import console
        sock_console = console.connect(console_socket)
    manager = from_state(state.cgroup)
    parent_sock, child_sock = sync.pair()
    root_fd = -1
    try:
        if "mount" not in state.namespaces:
            # no mount namespace: the container is a chroot in ours (init.py); enter it too
            root_fd = os.open(f"/proc/{state.pid}/root",
                              os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        pid = os.fork()
        if pid == 0:
            if minidocker.TRACE:
                minidocker.TRACE.process("exec: joins the namespaces")
            parent_sock.close()
            _child(child_sock, join_fds, proc, prepared, sock_console, preserve_fds,
                   "user" in kinds, root_fd)
        if minidocker.TRACE:
            minidocker.TRACE.step("process", "fork", child=pid, joins=kinds)
        child_sock.close()
        for _, fd in join_fds:
            os.close(fd)
        if sock_console is not None and console_pair is None:
            sock_console.close()
        self_join: list[int] = []
        try:
            if manager is not None:  # v1: the child joins itself (no RCU grace period)
                self_join = manager.open_self_join()
                manager.add_process(pid, except_self_joined=True)
            if minidocker.TRACE:
                minidocker.TRACE.mark("sync", "GO: the child may join the cgroup",
                                      tasks_fds=len(self_join))
            sync.send_fds(parent_sock, sync.GO, self_join)
        finally:
            for fd in self_join:
                os.close(fd)
        msg = sync.recv(parent_sock, sync.PID)
        exec_pid = int(msg["pid"])
        os.waitpid(pid, 0)
        sync.recv(parent_sock, sync.READY)
        if minidocker.TRACE:
            minidocker.TRACE.step("sync", "READY received", pid=exec_pid)
        return exec_pid
    finally:
        parent_sock.close()
        if root_fd >= 0:
            os.close(root_fd)


def _child(sock: socket.socket, join_fds: list[tuple[str, int]], proc: dict[str, Any],
           prepared: process.Prepared, console_sock: socket.socket | None,
           preserve_fds: int, userns: bool, root_fd: int = -1) -> None:
    try:
        from minidocker.linux import libc
        libc.prctl(libc.PR_SET_DUMPABLE, 0, what="prctl(PR_SET_DUMPABLE)")  # CVE-2019-5736
        _, cgroup_fds = sync.recv_fds(sock, sync.GO)
        for fd in cgroup_fds:  # cgroup v1 `tasks`: "0" moves this (single) thread
            try:
                os.write(fd, b"0")
            finally:
                os.close(fd)
        if minidocker.TRACE:
            minidocker.TRACE.step("cgroup", "joined: GO received", tasks_fds=len(cgroup_fds))
        namespaces.join(join_fds)
        if userns:
            os.setresgid(0, 0, 0)
            os.setresuid(0, 0, 0)
        if root_fd >= 0:
            os.fchdir(root_fd)
            os.chroot(".")
            os.close(root_fd)
        gate_r, gate_w = os.pipe()  # the grandchild speaks only after PID is sent
        pid = os.fork()
        if pid == 0:
            if minidocker.TRACE:
                minidocker.TRACE.process("exec")
            os.close(gate_w)
            os.read(gate_r, 1)
            os.close(gate_r)
            _grandchild(sock, proc, prepared, console_sock, preserve_fds)
        sync.send(sock, sync.PID, pid=pid)
        os.write(gate_w, b"1")
        if minidocker.TRACE:
            minidocker.TRACE.step("process", "fork", child=pid)
            minidocker.TRACE.finish()
        os._exit(0)
    except BaseException as e:  # noqa: BLE001
        sync.report_and_exit(sock, e)


def _grandchild(sock: socket.socket, proc: dict[str, Any], prepared: process.Prepared,
                console_sock: socket.socket | None, preserve_fds: int) -> None:
    try:
        # a session and process group of its own (as runc): `kill 0` in the container
        # must not reach the caller's group on the host
        os.setsid()
        if proc.get("terminal") and console_sock is not None:
            _terminal(console_sock)
        env = process.environ(proc)
        path = process.lookup(proc["args"][0], env, proc.get("cwd") or "/")
        process.set_rlimits(proc)
        if proc.get("apparmorProfile") or proc.get("selinuxLabel"):
            from minidocker.runtime import lsm
            from minidocker.runtime.rootfs import open_procfs
            lsm.apply(proc, open_procfs())
        process.reset_signals()
        if prepared.seccomp_filter is not None and not proc.get("noNewPrivileges"):
            process.load_seccomp(prepared)
            prepared.seccomp_filter = None
        process.drop_privileges(proc)
        process.chdir(proc.get("cwd") or "/")
        process.close_fds(2 + preserve_fds)
        process.load_seccomp(prepared)
        if minidocker.TRACE:
            minidocker.TRACE.mark("sync", "READY")
        sync.send(sock, sync.READY)
        process.execve(path, proc, env)
    except BaseException as e:  # noqa: BLE001
        sync.report_and_exit(sock, e)


def _terminal(console_sock: socket.socket) -> None:
    from minidocker.linux import libc
    from minidocker.runtime import console
    devpts = libc.openat2(-100, "/dev/pts", os.O_PATH | os.O_DIRECTORY,
                          libc.RESOLVE_NO_SYMLINKS)
    try:
        master, peer = console.open_pty(devpts)
    finally:
        os.close(devpts)
    try:
        console.send_master(console_sock, master)
    finally:
        os.close(master)
        console_sock.close()
    console.become_controlling(peer)
    os.close(peer)


def process_from_args(spec: dict[str, Any], args: list[str], *, env: list[str],
                      cwd: str | None, user: str | None, caps: list[str], tty: bool,
                      no_new_privs: bool | None, apparmor: str | None = None,
                      process_label: str | None = None,
                      additional_gids: list[str] | None = None) -> dict[str, Any]:
    """An exec process from command-line flags, defaulting to the container's own."""
    import copy
    base = copy.deepcopy(spec.get("process") or {})
    base["args"] = args
    base["terminal"] = tty
    merged = {}
    for item in (base.get("env") or []) + env:
        key = item.partition("=")[0]
        merged[key] = item
    base["env"] = list(merged.values())
    if cwd:
        base["cwd"] = cwd
    if user:
        uid, _, gid = user.partition(":")
        try:
            base["user"] = {"uid": int(uid), "gid": int(gid or 0)}
        except ValueError:
            raise MinidockerError(f"invalid --user {user!r}: use UID[:GID] with numbers")
    if caps:
        sets = base.setdefault("capabilities", {})
        for key in ("bounding", "effective", "permitted", "ambient"):
            current = sets.setdefault(key, [])
            for cap in caps:
                name = cap.upper() if cap.upper().startswith("CAP_") else "CAP_" + cap.upper()
                if name not in current:
                    current.append(name)
    if no_new_privs is not None:
        base["noNewPrivileges"] = no_new_privs
    if apparmor:
        base["apparmorProfile"] = apparmor
    if process_label:
        base["selinuxLabel"] = process_label
    if additional_gids:
        try:
            base.setdefault("user", {})["additionalGids"] = [int(g) for g in additional_gids]
        except ValueError:
            raise MinidockerError(f"invalid --additional-gids {additional_gids}: numbers "
                                  "only")
    return base
