"""start and the monitor hand-over. A detached start (run -d, start, restart, the API's)
goes to the root's supervisor (engine/supervisor.py): a worker it forks creates and
starts the container, and the supervisor watches it with all the others. A foreground
`run` (and a traced one, whose monitor's steps are in the trace) gets a monitor process
of its own instead: start() forks it (double fork, new session, child subreaper), or
hands the record to one that `run` forked before making it (prefork_monitor: M imports
the runtime meanwhile), or to a spare a server spawned ahead of time. Either way the
container is created with the record's FIFOs as stdio, the network is plugged, `running`
is recorded and the caller hears it over a pipe (_start_container).
"""

from __future__ import annotations

import os
import sys

import minidocker
from minidocker.engine import events
from minidocker.engine.liveness import RUNNING_STATES, live_state, proc_stat, runtime_of
from minidocker.engine.records import Record, now
from minidocker.errors import Conflict, MinidockerError, NotModified

TYPE_CHECKING = False
if TYPE_CHECKING:
    import _socket
    import socket
    from typing import Any

    from minidocker.engine.records import Record
    from minidocker.engine.service import Sink


class Preforked:
    """A monitor forked before the CLI has done its work (see prefork_monitor): it imports
    the runtime meanwhile and waits for start() to hand it a record."""

    def __init__(self, sock: _socket.socket, intermediate: int):
        self.sock = sock
        self.intermediate = intermediate  # the first child, gone by now: reaped on close

    def hand_over(self, record: Record, report_w: int, client: _socket.socket | None,
                  interactive: bool, foreground: bool) -> None:
        from minidocker import jsonfast as json
        fds = [report_w] + ([client.fileno()] if client is not None else [])
        msg = json.dumps({"root": record.root, "id": record.id, "interactive": interactive,
                          "foreground": foreground, "client": client is not None}).encode()
        raw = b"".join(fd.to_bytes(4, sys.byteorder) for fd in fds)
        import _socket
        self.sock.sendmsg([msg], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, raw)])
        self.close()

    def close(self) -> None:
        """Without a hand-over the monitor just exits (EOF)."""
        self.sock.close()
        if self.intermediate:
            try:
                os.waitpid(self.intermediate, 0)
            except ChildProcessError:
                pass
            self.intermediate = 0


def prefork_monitor() -> Preforked | None:
    """Fork the monitor of a container about to be created (the `run` command), so that
    it imports the runtime (~5 ms) while this process makes the record and mounts the
    rootfs, on the other core. None when forking is not possible."""
    import _socket
    import gc

    from minidocker.linux import affinity
    if not forks_keep_access():
        return spawn_spare()  # rootless: a fresh interpreter, started as early
    ours, theirs = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)
    gc.freeze()  # the collector no longer walks (writes) these objects: fewer COW faults
    mask = os.sched_getaffinity(0)
    try:
        child = os.fork()
    except OSError:
        ours.close()
        theirs.close()
        return None
    if child == 0:  # pragma: no cover - runs in the forked processes
        try:
            ours.close()
            if os.fork() != 0:
                os._exit(0)
            if minidocker.TRACE:
                minidocker.TRACE.process("monitor (forked early)")
            _preforked_main(theirs, mask)
        finally:
            os._exit(1)
    theirs.close()
    affinity.run_elsewhere(child, mask)  # its child, the monitor, puts `mask` back
    return Preforked(ours, child)


def spawn_spare() -> Preforked | None:
    """A monitor made ahead of time by a threaded server (the API): a fresh interpreter
    (posix_spawn) that imports the runtime and what a monitor needs at
    the container's exit, then waits for start() to hand it a record, as a pre-forked
    one does. It saves a start the interpreter's start-up and imports, and an attached
    container (foreground) the exec of a second interpreter and the imports at its exit.
    None when it cannot be spawned."""
    import _socket
    ours, theirs = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)
    boot = "from minidocker.engine.start import spare_main; spare_main(int(sys.argv[1]))"
    try:
        pid = spawn_interpreter(boot, [], [theirs.fileno()])
    except OSError:
        ours.close()
        return None
    finally:
        theirs.close()
    return Preforked(ours, pid)


def spare_main(fd: int) -> None:
    """The spare monitor (spawn_spare): not the server's child for long (it forks, and
    the server reaps the first process at the hand-over), then as a pre-forked one."""
    import _socket
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_SEQPACKET, fileno=fd)
    if os.fork() != 0:
        os._exit(0)
    try:
        import minidocker.engine.exits  # noqa: F401 - what the container's exit needs,
        import minidocker.engine.monitor  # noqa: F401 - imported before it is asked for
        _preforked_main(sock, os.sched_getaffinity(0))
    finally:
        os._exit(1)


def _preforked_main(sock: _socket.socket, mask: set[int]) -> None:
    """In the pre-forked monitor: import what creating the container needs, wait for the
    hand-over, then go on as a monitor forked by start() would."""
    import _socket

    import minidocker.runtime.create  # noqa: F401 - imported now, while the CLI works
    import minidocker.runtime.init  # noqa: F401 - and so already there in stage 1
    import minidocker.runtime.operations  # noqa: F401
    from minidocker import jsonfast as json
    from minidocker.runtime import cgroup as cgroup_glue
    cgroup_glue.preload()
    if minidocker.TRACE:
        minidocker.TRACE.step("engine", "runtime imported")
    try:
        data, ancillary, _, _ = sock.recvmsg(4096, _socket.CMSG_SPACE(4 * 2))
    except OSError:
        os._exit(0)
    fds = [int.from_bytes(raw[i:i + 4], sys.byteorder)
           for level, kind, raw in ancillary
           if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS
           for i in range(0, len(raw) - len(raw) % 4, 4)]
    sock.close()
    if not data or not fds:
        os._exit(0)  # the CLI gave up before start
    from minidocker.linux import affinity
    affinity.restore(mask)  # the CLI pinned us away from its CPU while it worked
    msg = json.loads(data)
    client = None
    if msg["client"] and len(fds) > 1:
        client = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM, fileno=fds[1])
    _monitor_main(Record(msg["root"], msg["id"]), fds[0], client,
                  msg["interactive"], msg["foreground"])


def start(record: Record, *, attach: bool, interactive: bool = False,
          foreground: bool = False, monitor: Any = None,
          sink: Sink | None = None, fork: bool | None = None) -> _socket.socket | None:
    """Start the container: `foreground`, under a monitor of its own (the pre-forked or
    spare `monitor`, or a fork of this process), else under the root's supervisor (the
    `monitor` connection to it, or a new one; a monitor of its own passed is left to the
    caller to close). With `attach`, returns our end of the
    attach stream (connected before the container runs, so no output is missed). A
    running container is NotModified (attach: the stream is connected to it). `fork`
    False: this process may not fork (a threaded server), so without a `monitor` the
    supervisor takes a foreground start too; None decides by fork_is_safe()."""
    import _socket  # not the socket module: its enums cost 2 ms of import

    from minidocker.engine.records import Lock
    live_state(record, carry_on=False)
    with Lock(record.path("start.lock")) as start_lock:
        state = live_state(record.reload(), adopt_orphans=False, carry_on=False)
        if state.get("Status") in RUNNING_STATES:
            if state.get("Status") == "paused":
                raise Conflict(f"cannot start a paused container {record.id[:12]}, "
                               "try unpause instead")
            if attach:
                return connect_attach(record)
            raise NotModified(f"container {record.id[:12]} is already running")
        if state.get("Status") == "removing":
            raise Conflict(f"container {record.id[:12]} is marked for removal")
        if state.get("ManualStop"):  # a start by hand ends a stop by hand (not a restart
            record.update(ManualStop=False)  # by the policy: a stop meanwhile must hold)
        from minidocker.engine import networking
        networking.prepare(record, sink)  # bridge checked (or host fallback) before fork
        modes = (record.config["HostConfig"].get("PidMode") or "",
                 record.config["HostConfig"].get("IpcMode") or "")
        if any(mode.startswith("container:") for mode in modes):
            from minidocker.engine.bundle import join_namespaces
            join_namespaces(record)
        if modes[1] == "shareable":
            mount_shm(record)
        if minidocker.TRACE:
            minidocker.TRACE.step("network", "prepared", mode=networking.mode_of(record))
        mounts = record.config.get("Mounts") or []
        if any(m.get("DriverOpts") for m in mounts):  # volume create --opt type=...
            from minidocker.engine.volumes import mount_local
            mount_local(record.root, mounts)
        mount_rootfs(record)
        if any(m.get("Type") == "volume" and not m.get("NoCopy") for m in mounts):
            from minidocker.engine.volumes import copy_up
            copy_up(record.path("rootfs"), mounts)  # a new volume gets the image's content
        ours = theirs = None
        if attach:
            ours, theirs = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_STREAM)
        report_r, report_w = os.pipe()
        child = 0
        if fork is None:
            fork = fork_is_safe()
        fork = fork and forks_keep_access()
        if minidocker.TRACE and fork and monitor is None:
            foreground = True  # a monitor of its own: its steps are in the trace
        if getattr(monitor, "supervised", False):
            monitor.hand_over(record, report_w, theirs, interactive, False)
        elif not foreground or monitor is None and not fork:
            from minidocker.engine import supervisor
            supervisor.connect(record.root).hand_over(record, report_w, theirs, interactive,
                                                      False)
        elif monitor is not None:
            monitor.hand_over(record, report_w, theirs, interactive, foreground)
        else:
            import gc
            gc.freeze()  # the collector no longer walks (writes) these objects: fewer COW
            child = os.fork()
            if child == 0:  # pragma: no cover - runs in the forked processes
                os.close(start_lock.fd)  # our copy would hold the lock as long as we live
                os.close(report_r)
                if ours is not None:
                    ours.close()
                try:
                    if os.fork() != 0:
                        os._exit(0)
                    if minidocker.TRACE:
                        minidocker.TRACE.process("monitor")
                    _monitor_main(record, report_w, theirs, interactive, foreground)
                finally:
                    os._exit(1)
        os.close(report_w)
        if theirs is not None:
            theirs.close()
        if child:
            os.waitpid(child, 0)
        with os.fdopen(report_r, "rb") as f:
            report = f.read().decode(errors="replace")
        if minidocker.TRACE:
            minidocker.TRACE.step("sync", "the monitor reported", report=report)
        if not report.startswith("ok"):
            if ours is not None:
                ours.close()
            code_text, _, message = report.partition(" ")
            died = not code_text.isdigit()  # no report: the monitor died before it wrote
            code = 125 if died else int(code_text)
            if died:
                message = "the container monitor died during start"
            record.reload()
            if record.state.get("Status") not in RUNNING_STATES:
                if died:
                    _undo_start(record)
                unmount_rootfs(record)
            raise MinidockerError(message, exit_code=code)
        return ours


def _undo_start(record: Record) -> None:
    """The monitor died before it said how the start went, and the record does not say
    running: the start failed, and what it may have made goes (the runtime's container,
    whose init may be waiting for a `start` nobody will give, or even running
    unwatched; the endpoints). We hold the start lock: no other start is under way."""
    from minidocker.engine.liveness import runtime_of
    try:
        runtime_of(record).delete(record.id)
    except MinidockerError:
        pass
    network_detach(record)


def fork_is_safe() -> bool:
    """Whether this process may fork and go on running Python in the child: not once it
    has more than one thread (a lock another thread held stays locked in the child) or
    runs asyncio (the child would hold the server's connections for its whole life)."""
    if "asyncio" in sys.modules:
        return False
    threading = sys.modules.get("threading")
    return threading is None or threading.active_count() <= 1


def forks_keep_access() -> bool:
    """Whether a monitor forked from this process could reach its container's namespace
    files before the container execs. Not in a user namespace (rootless: a command enters
    the session's with setns, engine/session.py): a fork keeps its memory's owning
    namespace, the host's, and the runtime's init, not dumpable until it execs, is then
    out of the monitor's reach (ptrace's rules). A fresh interpreter is owned by ours."""
    from minidocker.linux import userns
    return userns.in_initial()


def spawn_interpreter(boot: str, args: list[str], fds: list[int],
                      default_signals: bool = False) -> int:
    """posix_spawn a fresh interpreter running `boot` (after `import sys` and our source
    directory on its path) with `args`, then the numbers under which it finds `fds`: 3,
    4, ... Only those are passed: each is dup2()ed to its number in the child alone.
    Marking them inheritable for the spawn instead would let any other thread's spawn
    meanwhile inherit them too, and a start report's pipe held open by a stranger never
    ends: start() waited for it holding the container's start lock, and the container's
    exit, which takes that lock, was never recorded. `default_signals`: it starts with
    every signal at its default and none blocked, whatever this process has."""
    import fcntl
    src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    argv = [sys.executable, "-S", "-I", "-c", f"import sys; sys.path.insert(0, {src!r}); {boot}",
            *args, *(str(3 + i) for i in range(len(fds)))]
    # copies numbered above the targets, so that no dup2 overwrites a source still to come
    # (and none is a dup2 onto itself, which would leave it close-on-exec)
    copies = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3 + len(fds)) for fd in fds]
    try:
        signals: dict[str, Any] = {}
        if default_signals:
            import signal
            signals = {"setsigmask": (), "setsigdef": [
                s for s in signal.valid_signals() if s not in (signal.SIGKILL, signal.SIGSTOP)]}
        return os.posix_spawn(sys.executable, argv, dict(os.environ),
                              file_actions=[(os.POSIX_SPAWN_DUP2, fd, 3 + i)
                                            for i, fd in enumerate(copies)], **signals)
    finally:
        for fd in copies:
            os.close(fd)


def _monitor_main(record: Record, report_w: int, client: _socket.socket | None,
                  interactive: bool, foreground: bool) -> None:
    """In M, a monitor of its own: create and start the container, report, then serve
    it (until it ends for good, restarts included) and exit."""
    pid, master, outputs, stdin_w, listener = _start_container(record, report_w, None)
    from minidocker.engine.monitor import Monitor
    client_fds = [client.detach()] if client is not None else []
    mon = Monitor(record.root, record.id, pid, outputs, stdin_w, master, listener.detach(),
                  client_fds, record.path(record.id + "-json.log"), monitor_options(record))
    try:
        mon.run()
    finally:
        os._exit(0)


def start_watched(record: Record, report_w: int, interactive: bool,
                  monitor: tuple[int, int]) -> list[int]:
    """In a worker of the root's supervisor (`monitor`: its pid and start time): create
    and start the container, report; the fds the supervisor is to watch: stdout, stderr,
    stdin, pty master, attach socket (-1 for none)."""
    pid, master, outputs, stdin_w, listener = _start_container(record, report_w, monitor)
    out_fd = next((fd for fd, kind in outputs.items() if kind == 1), -1)
    err_fd = next((fd for fd, kind in outputs.items() if kind == 2), -1)
    return [out_fd, err_fd, stdin_w, master, listener.detach()]


def _start_container(record: Record, report_w: int, monitor: tuple[int, int] | None
                     ) -> tuple[int, int, dict[int, int], int, _socket.socket]:
    """Set up, create and start the container, report `ok` (or the error, and exit).
    (init pid, pty master, outputs, our end of its stdin, attach listener)."""
    if minidocker.TRACE:
        minidocker.TRACE.step("sync", "hand-over received", id=record.id)
    try:
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.close(devnull)
        from minidocker.linux import libc
        libc.prctl(libc.PR_SET_CHILD_SUBREAPER, 1, what="prctl(PR_SET_CHILD_SUBREAPER)")
        os.chdir(record.dir)
        listener = listen(record)
        outputs = open_outputs(record.root, record.id)
        stdin_w = -1
        stdin_r = -1
        if record.config["Config"].get("OpenStdin") and not record.config["Config"]["Tty"]:
            stdin_r, stdin_w = os.pipe()
        try:
            pid, master = spawn_init(record, stdin_r, monitor)
        finally:
            if stdin_r >= 0:
                os.close(stdin_r)
        if minidocker.TRACE:
            minidocker.TRACE.mark("sync", "report: ok")
        try:
            os.write(report_w, b"ok")
        except OSError:
            pass  # the CLI was killed: the container runs on, we monitor it all the same
        os.close(report_w)
    except BaseException as e:  # noqa: BLE001
        code = getattr(e, "exit_code", 125)
        from minidocker.errors import describe
        msg = describe(e) if isinstance(e, OSError) else str(e)
        try:
            os.write(report_w, f"{code} {msg}".encode())
        finally:
            os._exit(1)
    return pid, master, outputs, stdin_w, listener


def monitor_options(record: Record) -> str:
    """What a Watch needs of the config (monitor.py imports nothing for it): the log's
    max-size, max-file and whether it is written, and whether there is a healthcheck."""
    from minidocker.engine.logs import limits
    log = record.config.get("HostConfig", {}).get("LogConfig") or {}
    size, files = limits(log.get("Config") or {})
    check = (record.config.get("Config") or {}).get("Healthcheck") or {}
    health = bool(check) and (check.get("Test") or ["NONE"])[0] != "NONE"
    return f"{size}:{files}:{int(log.get('Type') != 'none')}:{int(health)}"


def listen(record: Record) -> _socket.socket:
    """The record's attach socket, listening (whatever the record path's length: the
    directory is reached through an fd)."""
    import _socket
    dirfd = os.open(record.dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        try:
            os.unlink("attach.sock", dir_fd=dirfd)
        except FileNotFoundError:
            pass
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        sock.bind(f"/proc/self/fd/{dirfd}/attach.sock")
        os.chmod("attach.sock", 0o600, dir_fd=dirfd)
    finally:
        os.close(dirfd)
    sock.listen(16)
    return sock


def connect_attach(record: Record) -> socket.socket:
    import socket as socket_mod
    dirfd = os.open(record.dir, os.O_RDONLY | os.O_DIRECTORY)
    sock = socket_mod.socket(socket_mod.AF_UNIX, socket_mod.SOCK_STREAM)
    try:
        sock.connect(f"/proc/self/fd/{dirfd}/attach.sock")
    except OSError as e:
        sock.close()
        raise Conflict(f"cannot attach to container {record.id[:12]}: {e.strerror}")
    finally:
        os.close(dirfd)
    return sock


def open_outputs(root: str, cid: str) -> dict[int, int]:
    """Our read ends of the container's stdout/stderr FIFOs: fd -> 1 (stdout) / 2."""
    record = Record(root, cid)
    out = {}
    for name, kind in (("stdout", 1), ("stderr", 2)):
        fd = os.open(record.path(name), os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        out[fd] = kind
    return out


def spawn_init(record: Record, stdin_fd: int, monitor: tuple[int, int] | None = None
               ) -> tuple[int, int]:
    """Create and start the runtime container with the record's stdio; (pid, pty master).
    `monitor`: the pid and start time of the process that watches it (default: us)."""
    runtime = runtime_of(record)
    cid = record.id
    runtime.delete(cid)  # what a previous run may have left
    tty = bool(record.config["Config"].get("Tty"))
    ours = theirs = None
    if tty:
        import socket as socket_mod
        ours, theirs = socket_mod.socketpair(socket_mod.AF_UNIX, socket_mod.SOCK_STREAM)
    devnull = os.open(os.devnull, os.O_RDWR)
    saved = [os.dup(fd) for fd in (0, 1, 2)]
    writers = []
    try:
        if tty:
            targets = [devnull, devnull, devnull]
        else:
            writers = [os.open(record.path(n), os.O_RDWR | os.O_CLOEXEC)
                       for n in ("stdout", "stderr")]
            targets = [stdin_fd if stdin_fd >= 0 else devnull, writers[0], writers[1]]
        for fd, target in enumerate(targets):
            os.dup2(target, fd)
        pid = runtime.create(cid, record.path("bundle"), theirs)
    finally:
        for fd, orig in enumerate(saved):
            os.dup2(orig, fd)
            os.close(orig)
        for fd in writers + [devnull]:
            os.close(fd)
        if theirs is not None:
            theirs.close()
    master = -1
    try:
        if ours is not None:
            from minidocker.runtime.console import receive_master
            master = receive_master(ours)
            ours.close()
        network_attach(record, pid)
        if minidocker.TRACE:
            minidocker.TRACE.step("network", "attached", mode=record.config["HostConfig"].get(
                "NetworkMode"), netns=f"/proc/{pid}/ns/net")
        runtime.start(cid)
    except BaseException:
        runtime.delete(cid)
        network_detach(record)
        raise
    st = proc_stat(pid)
    if monitor is None:
        me = proc_stat(os.getpid())
        monitor = (os.getpid(), me[1] if me else 0)
    record.update(Status="running", Running=True, Paused=False, Restarting=False, Pid=pid,
                  PidStart=st[1] if st else 0, StartedAt=now(), OOMKilled=False,
                  MonitorPid=monitor[0], MonitorStart=monitor[1],
                  MonitorShared=monitor[0] != os.getpid(), Error="", ExitCode=0)
    events.emit(record, "start")
    if minidocker.TRACE:
        minidocker.TRACE.step("engine", "state: running", pid=pid, monitor=monitor[0])
    return pid, master


def network_attach(record: Record, pid: int) -> None:
    """THE bridge hook: after create, before start, with the init's netns. host/none need
    nothing; bridge and user networks go through minidocker.network (engine/networking)."""
    from minidocker.engine import networking
    networking.attach(record, pid)


def network_detach(record: Record) -> None:
    try:
        from minidocker.engine import networking
        networking.detach(record)
    except Exception:
        pass


# ---- the container's filesystem on the host -------------------------------------------------


def mount_rootfs(record: Record) -> None:
    target = record.path("rootfs")
    if os.path.ismount(target):
        return
    lowers = list(record.config["Lowers"])
    options = f"lowerdir={':'.join(lowers)},upperdir={record.path('upper')}," \
        f"workdir={record.path('work')}"
    if record.config["HostConfig"].get("AutoRemove"):
        # its upper dir is thrown away at exit: skip the sync of the upper filesystem
        # that overlayfs does at unmount (about 10 ms on ext4)
        options += ",volatile"
    if any(c in p for p in (*lowers, record.dir) for c in ",:\\"):
        from minidocker.image.snapshot import overlay_options  # its error explains
        overlay_options(lowers, record.path("upper"), record.path("work"))
    from minidocker.linux import libc, userns  # not image.snapshot: keeps `run` light
    if userns.rootless():
        from minidocker.image import overlay
        driver = overlay.mount(options, target)
        if minidocker.TRACE:
            minidocker.TRACE.step("mount", f"rootfs: overlay ({driver}, rootless)",
                                  target=target, lowerdir=lowers, data=options)
        return
    try:
        libc.mount("overlay", target, "overlay", 0, options, what=target)
    except OSError:
        if not options.endswith(",volatile"):
            raise
        libc.mount("overlay", target, "overlay", 0, options[:-len(",volatile")], what=target)
        options = options[:-len(",volatile")]
    if minidocker.TRACE:
        minidocker.TRACE.step("mount", "rootfs: overlay", target=target, lowerdir=lowers,
                              upperdir=record.path("upper"), workdir=record.path("work"),
                              data=options)


def unmount_rootfs(record: Record) -> None:
    """Unmount the container's rootfs on the host (and its shareable /dev/shm)."""
    import errno

    from minidocker.linux import libc
    for target in (record.path("rootfs"), record.path("shm")):
        for _ in range(3):
            if not os.path.ismount(target):
                break
            try:
                libc.umount2(target, libc.MNT_DETACH)
            except OSError as e:
                if e.errno not in (errno.EINVAL, errno.ENOENT):
                    raise


def mount_shm(record: Record) -> None:
    """--ipc shareable: the container's /dev/shm is a tmpfs on the host (in its record),
    which containers started with --ipc container:ID bind too, as Docker's."""
    from minidocker.linux import libc
    target = record.path("shm")
    os.makedirs(target, mode=0o700, exist_ok=True)
    if os.path.ismount(target):
        return
    size = int(record.config["HostConfig"].get("ShmSize") or 64 << 20)
    libc.mount("shm", target, "tmpfs", libc.MS_NOSUID | libc.MS_NODEV | libc.MS_NOEXEC,
               f"mode=1777,size={size}")


def rootfs_view(record: Record) -> tuple[str, bool]:
    """A path where the container's filesystem is visible; True if we mounted it (the
    caller unmounts with unmount_rootfs when done)."""
    target = record.path("rootfs")
    if os.path.ismount(target):
        return target, False
    mount_rootfs(record)
    return target, True
