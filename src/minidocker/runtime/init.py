"""Stage 2 of create: the container's init process, from fork to execve.

Runs as PID 1 of the container's pid namespace (when it has one), in its new mount
namespace: builds the rootfs, asks the parent to run createRuntime hooks, pivots, drops
privileges, reports READY, then blocks on the exec fifo until `start`.
"""

from __future__ import annotations

import errno
import os
import stat

import minidocker
from minidocker.errors import MinidockerError
from minidocker.linux import libc
from minidocker.runtime import process, sync
from minidocker.runtime.rootfs import Rootfs, open_devnull, open_procfs, proc_write
from minidocker.runtime.rootfs import plan as rootfs_plan
from minidocker.runtime.spec import namespaces as spec_namespaces

TYPE_CHECKING = False
if TYPE_CHECKING:
    import socket
    from typing import Any


class InitConfig:
    """Everything the init needs, prepared by the parent before it forks."""

    def __init__(self, *, id: str, spec: dict[str, Any], rootfs: str, bundle: str,
                 fifo_fd: int, sock: socket.socket, console_sock: socket.socket | None,
                 no_pivot: bool, preserve_fds: int, prepared: process.Prepared,
                 new_namespaces: set[str], cgroup_mount: Any, new_keyring: bool = True,
                 cgroup_info: dict[str, Any] | None = None,
                 affinity: set[int] | None = None, bind_trees: dict[int, int] | None = None):
        self.id = id
        self.spec = spec
        self.rootfs = rootfs
        self.bundle = bundle
        self.fifo_fd = fifo_fd
        self.sock = sock
        self.console_sock = console_sock
        self.no_pivot = no_pivot
        self.preserve_fds = preserve_fds
        self.prepared = prepared
        self.new_namespaces = new_namespaces
        self.cgroup_mount = cgroup_mount
        self.new_keyring = new_keyring
        self.cgroup_info = {} if cgroup_info is None else cgroup_info  # CGROUPS_DONE's
        self.affinity = affinity  # the runtime's CPU mask, to put back (linux/affinity.py)
        self.bind_trees = bind_trees or {}  # rootfs.open_bind_sources(), with a user ns
        self.procfd = -1
        self.exec_path = ""
        self.env: dict[str, str] = {}
        self.host_pid = 0
        self.listener_sock: Any = None
        self.listener_fd: int | None = None


def run(cfg: InitConfig) -> None:
    """Never returns: execs the container process or reports an error and exits."""
    try:
        _setup(cfg)
    except BaseException as e:  # noqa: BLE001 - everything goes to the parent
        sync.report_and_exit(cfg.sock, e)
    # only reached after READY: errors now go to the container's stderr
    try:
        _wait_for_start_and_exec(cfg)
    except BaseException as e:  # noqa: BLE001
        code = getattr(e, "exit_code", 127)
        try:
            os.write(2, f"minidocker-runtime: {e}\n".encode())
        except OSError:
            pass
        os._exit(code if isinstance(code, int) else 127)


def _setup(cfg: InitConfig) -> None:
    spec = cfg.spec
    linux = spec.get("linux") or {}
    proc = spec.get("process") or {}
    if _init_hooks(spec):
        # now, while the runtime's files can be read: after pivot_root no module can be
        # (the hooks below then find it in sys.modules)
        from minidocker.runtime import hooks  # noqa: F401
    os.setsid()  # a session and process group of its own, as runc: nothing of the caller's
    procfd = open_procfs()
    cfg.procfd = procfd
    cfg.host_pid = int(os.readlink("self", dir_fd=procfd))  # hooks and agents want it
    seccomp = cfg.prepared.seccomp or {}
    if seccomp.get("listenerPath") and getattr(cfg.prepared.seccomp_filter, "notify", False):
        cfg.listener_sock = _connect_listener(seccomp["listenerPath"])
    # in a user namespace, a new one or the runtime's own (rootless): no device nodes,
    # locked mount flags, sysfs only with a network namespace of that user namespace
    from minidocker.linux import userns as userns_mod
    userns = "user" in cfg.new_namespaces or bool(linux.get("uidMappings")) or \
        not userns_mod.in_initial()
    rootfs = Rootfs(cfg.rootfs, userns=userns, cgroup_mount=cfg.cgroup_mount)

    if cfg.new_keyring:
        _join_keyring(cfg.id)
        if minidocker.TRACE:
            minidocker.TRACE.step("security", "session keyring joined", name=f"_ses.{cfg.id}")
    # a mount namespace given by path is the container's too: prepare it (as runc)
    mount_ns = "mount" in spec_namespaces(spec)
    mounts = rootfs_plan(spec, mount_ns=mount_ns, no_pivot=cfg.no_pivot)
    in_cgroup = False
    for step in mounts.mounts:
        if step.kind == "mount" and step.arg.get("type") == "cgroup" and not in_cgroup:
            in_cgroup = _enter_cgroup(cfg)
        step.execute(rootfs, tree=cfg.bind_trees.pop(step.index, None))
    if not in_cgroup:
        _enter_cgroup(cfg)
    for step in mounts.devices:
        step.execute(rootfs)
    if proc.get("terminal") and cfg.console_sock is not None:
        _setup_console(rootfs, cfg.console_sock)
        if minidocker.TRACE:
            minidocker.TRACE.step("device", "console", path="/dev/console")
    if proc.get("cwd", "/").strip("/"):
        try:  # a missing cwd is made (0755, the container's root's), as runc and crun do
            os.close(rootfs.mkdir_all(proc["cwd"]))
        except OSError:
            pass  # the chdir below says why

    if cfg.cgroup_info.get("hooks", True):  # the parent has prestart/createRuntime hooks
        sync.send(cfg.sock, sync.HOOKS)
        sync.recv(cfg.sock, sync.HOOKS_DONE)
        if minidocker.TRACE:
            minidocker.TRACE.step("sync", "HOOKS_DONE received: prestart, createRuntime ran")
    state = {"ociVersion": spec["ociVersion"], "id": cfg.id, "status": "created",  # step 5
             "pid": cfg.host_pid, "bundle": cfg.bundle,
             "annotations": spec.get("annotations") or {}}
    if _init_hooks(spec):
        from minidocker.runtime import hooks
        hooks.run_hooks((spec.get("hooks") or {}).get("createContainer"), state,
                        "createContainer")

    for key, value in (linux.get("sysctl") or {}).items():
        _sysctl(procfd, key, str(value))
    if proc.get("oomScoreAdj") is not None:
        proc_write(procfd, "self/oom_score_adj", str(proc["oomScoreAdj"]))
        if minidocker.TRACE:
            minidocker.TRACE.step("process", "oom_score_adj", value=proc["oomScoreAdj"])

    devnull = open_devnull()
    try:
        for step in mounts.paths:  # masked, then read-only paths
            step.execute(rootfs, devnull=devnull)
    finally:
        os.close(devnull)

    mounts.switch.execute(rootfs)  # pivot_root, or chroot without a mount namespace
    if mount_ns and linux.get("rootfsPropagation"):  # the container's root mount, now "/"
        Rootfs.set_root_propagation(linux["rootfsPropagation"])
    if (spec.get("root") or {}).get("readonly"):
        Rootfs.remount_root_readonly()
        if minidocker.TRACE:
            minidocker.TRACE.step("mount", "remount / read-only")
    if spec.get("hostname"):
        if "uts" not in spec_namespaces(spec):
            raise MinidockerError("hostname is set but the container has no uts namespace")
        libc.sethostname(spec["hostname"])
        if minidocker.TRACE:
            minidocker.TRACE.step("uts", "sethostname", hostname=spec["hostname"])
    if spec.get("domainname"):
        if "uts" not in spec_namespaces(spec):
            raise MinidockerError("domainname is set but the container has no uts namespace")
        libc.setdomainname(spec["domainname"])
        if minidocker.TRACE:
            minidocker.TRACE.step("uts", "setdomainname", domainname=spec["domainname"])

    _release_inherited(cfg)
    if not proc:  # no process (OPTIONAL at create): ready; `start` refuses to start it
        if minidocker.TRACE:
            minidocker.TRACE.step("sync", "READY sent (no process)")
        sync.send(cfg.sock, sync.READY)
        cfg.sock.close()
        return
    env = process.environ(proc)
    cfg.exec_path = process.lookup(proc["args"][0], env, proc.get("cwd") or "/")
    cfg.env = env
    if minidocker.TRACE:
        minidocker.TRACE.step("process", "program found", path=cfg.exec_path)
    process.set_rlimits(proc)
    if proc.get("apparmorProfile") or proc.get("selinuxLabel"):
        # before the seccomp filter, which may deny the openat2 of the /proc write (as exec)
        from minidocker.runtime import lsm
        lsm.apply(proc, procfd)
        if minidocker.TRACE:
            minidocker.TRACE.step("security", "LSM label set for exec",
                                  apparmor=proc.get("apparmorProfile"),
                                  selinux=proc.get("selinuxLabel"))
    process.reset_signals()
    if cfg.prepared.seccomp_filter is not None and not proc.get("noNewPrivileges"):
        # without no_new_privs, loading a filter needs CAP_SYS_ADMIN: do it while we have it
        cfg.listener_fd = process.load_seccomp(cfg.prepared)
        cfg.prepared.seccomp_filter = None
    process.drop_privileges(proc)
    process.chdir(proc.get("cwd") or "/")
    if minidocker.TRACE:
        minidocker.TRACE.step("process", "chdir", cwd=proc.get("cwd") or "/")
        minidocker.TRACE.mark("sync", "READY: the init blocks on exec.fifo until start")

    sync.send(cfg.sock, sync.READY)
    cfg.sock.close()


def _release_inherited(cfg: InitConfig) -> None:
    """Before the wait for `start` (and before a seccomp filter that might deny it), let
    go of what the runtime's process had open close-on-exec (process.release_inherited);
    what the init still uses stays."""
    keep = {cfg.procfd, cfg.fifo_fd, cfg.sock.fileno()}
    if cfg.listener_sock is not None:
        keep.add(cfg.listener_sock.fileno())
    if minidocker.TRACE:
        keep.update((minidocker.TRACE.fd, minidocker.TRACE.procfd))
    process.release_inherited(2 + cfg.preserve_fds, keep, cfg.procfd)
    if minidocker.TRACE:
        minidocker.TRACE.step("process", "close-on-exec fds of the runtime let go")


def _init_hooks(spec: dict[str, Any]) -> bool:
    """Whether the init runs hooks itself (createContainer, startContainer): only then it
    imports the hooks module (~0.3 ms of the init's time before it can join its cgroup)."""
    spec_hooks = spec.get("hooks") or {}
    return bool(spec_hooks.get("createContainer") or spec_hooks.get("startContainer"))


def _wait_for_start_and_exec(cfg: InitConfig) -> None:
    procfd = cfg.procfd
    # Reopen the fifo through the verified host procfs: blocks until `start` reads it.
    fd = os.open(f"self/fd/{cfg.fifo_fd}", os.O_WRONLY | os.O_CLOEXEC, dir_fd=procfd)
    os.write(fd, b"0")
    os.close(fd)
    os.close(cfg.fifo_fd)
    if minidocker.TRACE:
        minidocker.TRACE.step("sync", "start: exec.fifo read by `start`")
    spec = cfg.spec
    proc = spec.get("process") or {}
    state = {"ociVersion": spec["ociVersion"], "id": cfg.id, "status": "running",
             "pid": cfg.host_pid, "bundle": cfg.bundle,
             "annotations": spec.get("annotations") or {}}
    if _init_hooks(spec):
        from minidocker.runtime import hooks
        hooks.run_hooks((spec.get("hooks") or {}).get("startContainer"), state,
                        "startContainer")
    process.close_fds(2 + cfg.preserve_fds, procfd)
    os.close(procfd)
    if minidocker.TRACE:
        minidocker.TRACE.step("process", "fds above 2 close-on-exec",
                              preserved=cfg.preserve_fds)
    listener = process.load_seccomp(cfg.prepared)
    if listener is None:
        listener = cfg.listener_fd
    if listener is not None:
        _send_listener(cfg, listener, state)
    process.execve(cfg.exec_path, proc, cfg.env)


def _send_listener(cfg: InitConfig, listener: int, state: dict[str, Any]) -> None:
    from minidocker.linux import seccomp as seccomp_mod
    seccomp = cfg.prepared.seccomp or {}
    seccomp_mod.send_listener(listener, seccomp["listenerPath"], state,
                              seccomp.get("listenerMetadata", ""), connected=cfg.listener_sock)
    os.close(listener)


def _connect_listener(path: str) -> Any:
    """Connect to the seccomp agent now: after pivot_root its path is out of reach."""
    import socket
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        sock.connect(path)
    except OSError as e:
        sock.close()
        raise MinidockerError(f"seccomp listenerPath {path}: {e.strerror}")
    return sock


def _setup_console(rootfs: Rootfs, sock: socket.socket) -> None:
    from minidocker.runtime import console
    devpts = rootfs.open("/dev/pts", os.O_PATH | os.O_DIRECTORY,
                         libc.RESOLVE_IN_ROOT | libc.RESOLVE_NO_SYMLINKS)
    try:
        master, peer = console.open_pty(devpts)
    finally:
        os.close(devpts)
    try:
        target = rootfs.make_target("/dev/console", False)
        try:
            st = os.fstat(target)
            if not (stat.S_ISREG(st.st_mode) or stat.S_ISCHR(st.st_mode)):
                raise MinidockerError("/dev/console is not a file")
            libc.mount(f"/proc/self/fd/{peer}", f"/proc/self/fd/{target}", None,
                       libc.MS_BIND, what="/dev/console")
        finally:
            os.close(target)
        console.send_master(sock, master)
    finally:
        os.close(master)
        sock.close()
    console.become_controlling(peer)
    os.close(peer)


def _enter_cgroup(cfg: InitConfig) -> bool:
    """Wait until the parent has made our cgroup (and put us in the hierarchies we can't
    join ourselves), join the rest through the fds it sent, make our cgroup namespace."""
    msg, fds = sync.recv_fds(cfg.sock, sync.CGROUPS_DONE)
    from minidocker.linux import affinity
    affinity.restore(cfg.affinity)  # the parent pinned stage 1 elsewhere right after fork
    try:
        for fd in fds:  # cgroup v1 `tasks`: "0" moves this (single) thread
            try:
                os.write(fd, b"0")
            except OSError as e:
                raise MinidockerError(f"cannot join the container's cgroup: {e.strerror}")
    finally:
        for fd in fds:
            os.close(fd)
    cfg.cgroup_info.update(msg)
    if minidocker.TRACE:
        minidocker.TRACE.step("cgroup", "joined: CGROUPS_DONE received", tasks_fds=len(fds))
    if "cgroup" in cfg.new_namespaces:
        libc.unshare(libc.CLONE_NEWCGROUP)
        if minidocker.TRACE:
            minidocker.TRACE.unshare(libc.CLONE_NEWCGROUP)
    return True


def _join_keyring(cid: str) -> None:
    """A session keyring of the container's own, so keys never leak between containers."""
    try:
        serial = libc.join_session_keyring(f"_ses.{cid}")
        # possessor: all; user: view, read, write, search, link (as runc)
        libc.keyctl_setperm(serial, 0x3F1F0000)
    except OSError as e:
        if e.errno not in (errno.ENOSYS, errno.EACCES, errno.EPERM, errno.EDQUOT):
            raise MinidockerError(f"cannot join a session keyring: {e.strerror}")


def _sysctl(procfd: int, key: str, value: str) -> None:
    rel = key.strip("/") if "/" in key else key.replace(".", "/")  # net/ipv4/conf/eth0.1/..
    if ".." in rel.split("/") or rel.startswith("/"):
        raise MinidockerError(f"invalid sysctl {key!r}")
    try:
        proc_write(procfd, f"sys/{rel}", value)
    except FileNotFoundError:
        raise MinidockerError(f"sysctl {key}: no such key")
    except OSError as e:
        raise MinidockerError(f"sysctl {key}={value}: {e.strerror}")
    if minidocker.TRACE:
        minidocker.TRACE.step("kernel", "sysctl", key=key, value=value,
                              path=f"/proc/sys/{rel}")
