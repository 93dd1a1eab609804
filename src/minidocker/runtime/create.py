"""`create`: the parent side and stage 1 of container creation (see sync.py for the table).

A failed create leaves nothing behind: the forked processes are killed, the cgroup is
removed and the state directory is deleted before the error is reported.
"""

from __future__ import annotations

import _signal as signal  # the signal module's IntEnums import enum: 3 ms
import errno
import os
import time

import minidocker
from minidocker import jsonfast as json
from minidocker.errors import Conflict, MinidockerError
from minidocker.linux import affinity, libc, userns
from minidocker.runtime import namespaces, sync
from minidocker.runtime.spec import check_sysctls, is_runtime_namespace, load_bundle
from minidocker.runtime.spec import namespaces as spec_namespaces
from minidocker.runtime.state import (
    Container,
    State,
    check_id,
    proc_stat,
    remove_tree,
    write_atomic,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    import socket
    from collections.abc import Callable
    from typing import Any


class CreateOptions:
    def __init__(self, bundle: str, pid_file: str | None = None,
                 console_socket: str | None = None, no_pivot: bool = False,
                 preserve_fds: int = 0, systemd_cgroup: bool = False,
                 no_new_keyring: bool = False):
        self.bundle = bundle
        self.pid_file = pid_file
        self.console_socket = console_socket
        self.no_pivot = no_pivot
        self.preserve_fds = preserve_fds
        self.systemd_cgroup = systemd_cgroup
        self.no_new_keyring = no_new_keyring
        # set by `run` in the foreground: the container's end of a console socketpair
        self.console_pair: socket.socket | None = None
        # set by `run`: called while the init finishes its setup (the parent waits then)
        self.while_waiting: Callable[[], None] | None = None


def create(root: str, cid: str, opts: CreateOptions) -> Container:
    check_id(cid)
    bundle = os.path.abspath(opts.bundle)
    spec, rootfs = load_bundle(bundle)
    if minidocker.TRACE:
        minidocker.TRACE.step("runtime", "bundle loaded", id=cid, bundle=bundle, rootfs=rootfs)
    if (spec.get("linux") or {}).get("sysctl"):
        check_sysctls(spec)
    # process is OPTIONAL at create (config.md): the container is made and waits; `start`
    # refuses it (it MUST generate an error when process is not set)
    proc = spec.get("process") or {}
    _refuse_our_mount_namespace(spec_namespaces(spec).get("mount"))
    from minidocker.runtime import lsm
    if proc:
        lsm.check(proc)
        if (proc.get("capabilities") or {}).get("ambient"):
            from minidocker.runtime.process import warn_unraisable_ambient
            warn_unraisable_ambient(proc)
    if proc.get("terminal") and not (opts.console_socket or opts.console_pair):
        raise MinidockerError("process.terminal is true: --console-socket is required")
    if not proc.get("terminal") and opts.console_socket:
        raise MinidockerError("--console-socket given but process.terminal is false")

    os.makedirs(root, mode=0o711, exist_ok=True)
    container = Container(root, cid)
    _make_state_dir(container)
    procs: list[int] = []
    managers: list[Any] = []  # the cgroup manager, once _spawn has made it
    try:
        staged: list[Any] = []  # [State, its file under a temporary name]

        def stage_state(pid: int) -> None:
            """While the init finishes its setup (the parent waits for READY): the state
            file, published once READY (its rename makes the container `created`)."""
            manager = managers[0] if managers else None
            start = proc_stat(pid)
            if start is None:
                raise MinidockerError("container init exited during setup")
            wanted = spec_namespaces(spec)
            new = [k for k, path in wanted.items() if path is None]
            state = State(id=cid, bundle=bundle, rootfs=rootfs, pid=pid,
                          pid_start=start[1], created=_now(), owner=str(os.geteuid()),
                          config=spec, cgroup=manager.to_state() if manager else None,
                          namespaces={**{k: p for k, p in wanted.items() if p},
                                      **namespaces.paths_of(pid, new)},
                          no_pivot=opts.no_pivot)
            staged[:] = [state, container.stage(state)]
            if opts.while_waiting is not None:
                opts.while_waiting()

        cgroup_cache: list[Any] = []
        pid = _spawn(container, spec, rootfs, bundle, opts, root, managers, procs,
                     stage_state, cgroup_cache)
        container.publish(*staged)
        if cgroup_cache:
            from minidocker.runtime import cgroup as cgroup_glue
            cgroup_glue.save_cgroup_mounts(root, cgroup_cache[0])
        if minidocker.TRACE:
            minidocker.TRACE.step("runtime", "state.json written", pid=pid,
                                  path=os.path.join(container.dir, "state.json"))
        if opts.pid_file:
            write_atomic(os.path.abspath(opts.pid_file), f"{pid}".encode(), 0o644,
                         durable=False)
        os.unlink(os.path.join(container.dir, "creating"))
        return container
    except BaseException:
        for pid in procs:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for manager in managers:
            _kill_cgroup(manager)
        for pid in procs:
            _reap(pid)
        for manager in managers:
            try:
                manager.destroy()
            except Exception:
                pass
        if "mount" not in spec_namespaces(spec):  # the init mounted in the host's namespace
            from minidocker.runtime.rootfs import unmount_from_host
            unmount_from_host(rootfs, spec)
        container.remove_dir()
        raise


def _make_state_dir(container: Container) -> None:
    """The state directory, made under a temporary name with `creating` (who creates it)
    and the exec fifo in it, then renamed into place with RENAME_NOREPLACE: it appears
    whole, so `state` never finds it without `creating` while its create runs, and calls
    it stopped (a directory without either is what a crashed create leaves: `delete`
    removes it). The temporary name says who makes it (`.new-<pid>-<start time>-<random>`)
    for sweep_dead_creates, which must not read a `creating` still being written."""
    me = proc_stat(os.getpid())
    creator = f"{os.getpid()} {me[1] if me else 0}"
    tmp = os.path.join(container.root,
                       f".new-{creator.replace(' ', '-')}-{os.urandom(4).hex()}")
    os.mkdir(tmp, 0o711)
    try:
        fd = os.open(os.path.join(tmp, "creating"),
                     os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, creator.encode())
        finally:
            os.close(fd)
        fifo = os.path.join(tmp, "exec.fifo")
        os.mkfifo(fifo, 0o622)
        os.chmod(fifo, 0o622)
        try:
            libc.rename_noreplace(tmp, container.dir)
        except OSError as e:
            if e.errno == errno.EEXIST:
                raise Conflict(f"container {container.id} already exists")
            if e.errno != errno.EINVAL:
                raise
            if os.path.lexists(container.dir):  # a file system without renameat2's flags
                raise Conflict(f"container {container.id} already exists")
            os.rename(tmp, container.dir)
    except BaseException:
        remove_tree(tmp)
        raise


def _spawn(container: Container, spec: dict[str, Any], rootfs: str, bundle: str,
           opts: CreateOptions, root: str, managers: list[Any], procs: list[int],
           before_ready: Callable[[int], None], cgroup_cache: list[Any]) -> int:
    """Fork stage 1, make the cgroup (into `managers`) while it makes the namespaces and
    the init starts on the rootfs, drive the protocol, return the init pid (host view).
    `before_ready(init pid)` runs while the init finishes, before its READY is read;
    `cgroup_cache` gets what to keep of the host's cgroup mounts once created."""
    linux = spec["linux"]
    wanted = spec_namespaces(spec)
    join_fds = namespaces.open_paths(wanted)
    console_sock = None
    if opts.console_pair is not None:
        console_sock = opts.console_pair
    elif opts.console_socket:
        from minidocker.runtime import console
        console_sock = console.connect(opts.console_socket)
    fifo_fd = os.open(container.fifo, os.O_PATH | os.O_CLOEXEC)
    from minidocker.runtime import cgroup as cgroup_glue
    new = {k for k, p in wanted.items() if p is None}
    # Without a user or time namespace (nor a pid namespace given by path), stage 1 is the
    # init itself: we make its new pid namespace ours for children for the fork. (A user
    # namespace must own the pid namespace, so it comes first, in stage 1; time offsets
    # must be written before the first process enters: both need the second fork.)
    # In a user namespace (rootless) we could not setns() back into our pid namespace,
    # which belongs to the host: stage 1 forks the init there too.
    single = "user" not in wanted and "time" not in wanted and \
        wanted.get("pid", "") in (None, "") and userns.in_initial()
    parent_sock, child_sock = sync.pair()
    try:
        mask = os.sched_getaffinity(0)
        pid = _fork_into_pid_namespace() if single and "pid" in new else os.fork()
        if pid == 0:  # stage 1
            if minidocker.TRACE:
                minidocker.TRACE.process("init" if single else "stage 1")
            parent_sock.close()
            _stage1(child_sock, lambda: _init_config(
                container, spec, rootfs, bundle, opts, root, fifo_fd, child_sock,
                console_sock, new, mask), wanted, join_fds, linux, fork_init=not single)
        procs.append(pid)
        if minidocker.TRACE:
            minidocker.TRACE.step("process", "fork", child=pid, role="init" if single
                                  else "stage 1", new_pid_namespace=single and "pid" in new)
        affinity.run_elsewhere(pid, mask)  # the init puts `mask` back when it joins its cgroup
        child_sock.close()
        for _, fd in join_fds:
            os.close(fd)
        if console_sock is not None and opts.console_pair is None:
            console_sock.close()
        msg = None
        if "user" in new:  # stage 1 needs its id maps before anything else
            msg = sync.recv(parent_sock, sync.USERNS, sync.PID)
            if msg["type"] == sync.USERNS:
                namespaces.write_id_maps(pid, linux)
                sync.send(parent_sock, sync.USERNS_DONE)
                msg = None
        # The cgroup (imports, validation, mkdir, resources: milliseconds) is made while
        # stage 1 makes the namespaces and forks the init, which starts on the rootfs.
        # The host's cgroup mounts, for the manager and (when the init's mount namespace
        # is a copy of ours, or ours) for the init's /sys/fs/cgroup
        mountinfo, to_cache = cgroup_glue.host_cgroup_mountinfo(root)
        cgroup_cache.append(to_cache)
        cgroup_mounts = None
        if wanted.get("mount") is None and any(
                m.get("type") == "cgroup" for m in spec.get("mounts") or []):
            cgroup_mounts = cgroup_glue.cgroup_mounts(mountinfo)
        manager = cgroup_glue.open_manager(spec, container.id, opts.systemd_cgroup,
                                           mountinfo=mountinfo)
        if manager is not None:  # so that `delete` can clean up if we die before state.json
            managers.append(manager)
            write_atomic(os.path.join(container.dir, "cgroup.json"),
                         json.dumps(manager.to_state()).encode(), durable=False)
        if single:
            init_pid = pid
        else:
            if msg is None:
                msg = sync.recv(parent_sock, sync.PID)
            init_pid = int(msg["pid"])
            procs.append(init_pid)
        # The init already builds the rootfs while we move it into its cgroup (on cgroup
        # v1 the first move costs ~10 ms of RCU grace period); it waits for CGROUPS_DONE
        # before anything that must be inside: the cgroup namespace, cgroupfs, exec.
        self_join: list[int] = []
        try:
            if manager is not None:
                self_join = manager.open_self_join()
                manager.add_process(init_pid, except_self_joined=True)
            # dirs: the container's cgroup directories, which its /sys/fs/cgroup shows
            # (None: no cgroup of ours at all); mounts: the host's cgroup mounts (None:
            # the init reads them); hooks: whether the init must stop for our
            # prestart/createRuntime hooks
            spec_hooks = spec.get("hooks") or {}
            our_hooks = bool(spec_hooks.get("prestart") or spec_hooks.get("createRuntime"))
            if minidocker.TRACE:
                minidocker.TRACE.mark("sync", "CGROUPS_DONE", init=init_pid,
                                      tasks_fds=len(self_join))
            sync.send_fds(parent_sock, sync.CGROUPS_DONE, self_join,
                          dirs=None if manager is None else
                          sorted(set(manager.host_paths().values())),
                          mounts=cgroup_mounts, hooks=our_hooks)
        finally:
            for fd in self_join:
                os.close(fd)
        # our CPU is free now: the init may run here too (it puts its mask back itself
        # once CGROUPS_DONE is read, but a CPU busy with other work could hold it up
        # before it reads it: 16 ms instead of 6 with a VM taking the other CPU)
        affinity.restore(mask, init_pid)
        if our_hooks:
            sync.recv(parent_sock, sync.HOOKS)
            # prestart and createRuntime are steps 3 and 4 of the lifecycle, after the
            # environment is created (step 2, `creating`): state.md calls that `created`
            state = {"ociVersion": spec["ociVersion"], "id": container.id,
                     "status": "created", "pid": init_pid, "bundle": bundle,
                     "annotations": spec.get("annotations") or {}}
            from minidocker.runtime import hooks
            hooks.run_hooks(spec_hooks.get("prestart"), state, "prestart")
            hooks.run_hooks(spec_hooks.get("createRuntime"), state, "createRuntime")
            sync.send(parent_sock, sync.HOOKS_DONE)
        before_ready(init_pid)
        sync.recv(parent_sock, sync.READY)
        if minidocker.TRACE:
            minidocker.TRACE.step("sync", "READY received", init=init_pid)
        if not single:
            _reap(pid)  # stage 1 exited long ago (its exit takes ~2 ms: not waited for above)
        return init_pid
    finally:
        parent_sock.close()
        os.close(fifo_fd)


def _init_config(container: Container, spec: dict[str, Any], rootfs: str, bundle: str,
                 opts: CreateOptions, root: str, fifo_fd: int, sock: socket.socket,
                 console_sock: socket.socket | None, new: set[str],
                 affinity_mask: set[int]) -> Any:
    """In stage 1, before it leaves the host's namespaces: what the init needs. Imported
    and computed here, not in the parent, so the parent makes the cgroup meanwhile."""
    from minidocker.runtime import cgroup as cgroup_glue
    from minidocker.runtime import init as init_mod
    from minidocker.runtime import process
    proc = spec.get("process") or {}
    prepared = process.Prepared(proc, spec["linux"].get("seccomp") if proc else None,
                                os.path.join(root, ".seccomp-cache"))
    cgroup_info: dict[str, Any] = {}  # filled from CGROUPS_DONE, read by the mounter
    bind_trees = None
    if "user" in spec_namespaces(spec):  # bind sources as the host's root sees them
        from minidocker.runtime.rootfs import open_bind_sources
        bind_trees = open_bind_sources(spec.get("mounts") or [])
    return init_mod.InitConfig(
        id=container.id, spec=spec, rootfs=rootfs, bundle=bundle, fifo_fd=fifo_fd,
        sock=sock, console_sock=console_sock, no_pivot=opts.no_pivot,
        preserve_fds=opts.preserve_fds, prepared=prepared, new_namespaces=new,
        new_keyring=not opts.no_new_keyring,
        cgroup_mount=cgroup_glue.make_mounter("cgroup" in new, cgroup_info),
        cgroup_info=cgroup_info, affinity=affinity_mask, bind_trees=bind_trees)


def _fork_into_pid_namespace() -> int:
    """fork() with the child as PID 1 of a new pid namespace: unshare(CLONE_NEWPID) only
    changes the namespace of our next children, and we go back to ours at once."""
    ours = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    try:
        libc.unshare(libc.CLONE_NEWPID)
        try:
            pid = os.fork()
        except BaseException:
            _back_to(ours)
            raise
        if pid != 0:
            _back_to(ours)
        return pid
    finally:
        os.close(ours)


def _back_to(pid_namespace: int) -> None:
    try:
        libc.setns(pid_namespace, libc.CLONE_NEWPID, what="the runtime's pid namespace")
    except OSError:
        os.abort()  # our next child would be born in the container's namespace: never


def _stage1(sock: socket.socket, make_config: Callable[[], Any],
            wanted: dict[str, str | None], join_fds: list[tuple[str, int]],
            linux: dict[str, Any], fork_init: bool = True) -> None:
    """In the first child: enter or make namespaces, fork the init (or, without
    `fork_init`, become it: the parent made its pid namespace). Never returns."""
    try:
        # CVE-2019-5736: while we (host Python) are inside the container's namespaces, no
        # container process may open /proc/<our pid>/exe; execve resets this.
        libc.prctl(libc.PR_SET_DUMPABLE, 0, what="prctl(PR_SET_DUMPABLE)")
        cfg = make_config()
        if minidocker.TRACE:
            minidocker.TRACE.step("runtime", "init config prepared (seccomp filter compiled)")
        namespaces.join(join_fds)
        if wanted.get("user", "") is None:
            libc.unshare(libc.CLONE_NEWUSER)
            if minidocker.TRACE:
                minidocker.TRACE.unshare(libc.CLONE_NEWUSER)
            # the parent must be able to open our /proc files to write the id maps
            libc.prctl(libc.PR_SET_DUMPABLE, 1, what="prctl(PR_SET_DUMPABLE)")
            sync.send(sock, sync.USERNS)
            sync.recv(sock, sync.USERNS_DONE)
            if minidocker.TRACE:
                minidocker.TRACE.step("sync", "USERNS_DONE received: id maps written")
            libc.prctl(libc.PR_SET_DUMPABLE, 0, what="prctl(PR_SET_DUMPABLE)")
            _become_root()
        elif "user" in wanted:
            _become_root()
        # the init unshares its cgroup namespace itself, once it is in its cgroup
        flags = namespaces.unshare_flags(
            wanted, exclude=("user", "cgroup") if fork_init else ("user", "cgroup", "pid"))
        if flags:
            libc.unshare(flags)
            if minidocker.TRACE:
                minidocker.TRACE.unshare(flags)
            if flags & libc.CLONE_NEWNET:
                libc.loopback_up()  # as runc and crun: a new netns has lo up
        if not fork_init:
            from minidocker.runtime import init as init_mod
            init_mod.run(cfg)
        if wanted.get("time", "") is None and linux.get("timeOffsets"):
            namespaces.write_time_offsets(linux["timeOffsets"])
        # the init may only talk once the parent has its pid: it waits on this pipe
        gate_r, gate_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            if minidocker.TRACE:
                minidocker.TRACE.process("init")
            os.close(gate_w)
            if os.read(gate_r, 1) != b"1":  # stage 1 was killed: the create failed
                os._exit(1)
            os.close(gate_r)
            from minidocker.runtime import init as init_mod
            init_mod.run(cfg)
        sync.send(sock, sync.PID, pid=pid)
        os.write(gate_w, b"1")
        if minidocker.TRACE:
            minidocker.TRACE.step("process", "fork", child=pid, role="init",
                                  new_pid_namespace="pid" in wanted)
            minidocker.TRACE.finish()
        os._exit(0)
    except BaseException as e:  # noqa: BLE001
        sync.report_and_exit(sock, e)


def _refuse_our_mount_namespace(path: str | None) -> None:
    """A mount namespace given by path is prepared and pivoted into: never ours (the host's),
    where pivot_root would move the root of every process in it."""
    if is_runtime_namespace("mount", path):
        raise MinidockerError(f"mount namespace {path} is the runtime's own: leave the mount "
                              "namespace out of linux.namespaces to share it")


def _become_root() -> None:
    try:
        os.setresgid(0, 0, 0)
        os.setresuid(0, 0, 0)
    except OSError:
        pass  # root is not mapped: stay the overflow id, as runc does


def _kill_cgroup(manager: Any) -> None:
    try:
        manager.kill_all(signal.SIGKILL)
    except Exception:
        pass


def _reap(pid: int) -> None:
    """Wait for a child of ours; ignore a pid that is not our child."""
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        _wait_gone(pid)


def _wait_gone(pid: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = proc_stat(pid)
        if st is None or st[0] in ("Z", "X"):
            return
        time.sleep(0.005)


def _now() -> str:
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1e9):09d}Z"
