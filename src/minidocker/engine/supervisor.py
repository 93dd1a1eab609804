"""The root's supervisor: one process that watches every detached container of a root
(their output into the json-file logs and to attach clients, their healthchecks, their
end and exit policy), in one epoll loop, instead of a monitor process per container.

A container costs it a few kilobytes; the process costs about 9 MB of PSS (the runtime
and the engine imported, so that a start is a fork of a warm process), shared by all
the containers of the root: docs/engine.md has the figures and the trade-offs.

How a detached start goes (`run -d`, `start`, a restart policy, `system boot`, and the
API server's starts): the caller connects to `<root>/supervisor.sock` (starting the
supervisor when there is none: `connect`), makes the record, and hands the container
over as it would to a pre-forked monitor (the report pipe, an attach client). The
supervisor forks a worker that creates and starts the container as a monitor would
(start._start_container: the record's FIFOs as stdio, the network, `running`, the
report), sends back the fds to watch and exits: the init, the worker's child, is
reparented to the supervisor, a child subreaper, which reaps it and so has its exit
status. When the init ends, another worker applies the exit policy (exits.on_exit,
which may sleep for a restart's backoff, start the container again or remove it) while
the loop goes on serving the others.

Nothing is lost when the supervisor dies (killed, OOM): the containers run on, their
output waits in the FIFOs, and the next command that looks at one of them has a new
supervisor adopt it (control.adopt), as it would a container whose monitor died. A
container with a tty cannot be adopted (its pty master died with the supervisor).

A supervisor holds `<root>/supervisor.lock` while it takes new containers. It retires
(stops taking new ones, and exits once the last of its containers is gone) as soon as it
has nothing to watch and no caller connected (its spawner is connected from the start,
through fd 3: a caller killed at any moment leaves nothing behind), or when the code it runs is not
the caller's (a caller from another checkout or interpreter, or its own files changed
since it started): the next caller starts a new one.

Protocol: SOCK_SEQPACKET messages, JSON, fds in SCM_RIGHTS:
  hello {code}                     -> {ok: true} | {retired: true}
  start {id, interactive, client} + [report fd, client fd]   (no reply: the report pipe)
  adopt {id, pid}                  -> {ok: bool}
"""

from __future__ import annotations

import os
import sys
import time

from minidocker import jsonfast

TYPE_CHECKING = False
if TYPE_CHECKING:
    import _socket
    from typing import Any

    from minidocker.engine.monitor import Watch
    from minidocker.engine.records import Record

SOCKET = "supervisor.sock"
LOCK = "supervisor.lock"
ERRORS = "supervisor.err"  # why a supervisor ended, if not as it should
IDLE = 0.5  # seconds a supervisor that no caller reached waits for one (its spawner
# connects while it imports: a caller killed before it did leaves nothing for long)
ORPHANS_KEPT = 60.0  # how long the status of a child nobody claimed is kept


def code_identity() -> str:
    """What a supervisor must run to serve a caller: the same interpreter and sources."""
    return f"{sys.executable}:{_src()}"


def _src() -> str:
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# ---- the callers' side --------------------------------------------------------------------


def _sendmsg(sock: _socket.socket, msg: dict[str, Any], fds: list[int] = ()) -> None:  # type: ignore[assignment]
    import _socket
    ancillary = [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS,
                  b"".join(fd.to_bytes(4, sys.byteorder) for fd in fds))] if fds else []
    sock.sendmsg([jsonfast.dumps(msg).encode()], ancillary)


def _recvmsg(sock: _socket.socket, max_fds: int = 0) -> tuple[dict[str, Any] | None, list[int]]:
    """A message and the fds it carried (made close-on-exec); (None, []) at EOF."""
    import _socket
    data, ancillary, _, _ = sock.recvmsg(65536, _socket.CMSG_SPACE(4 * max_fds)
                                         if max_fds else 0)
    fds = [int.from_bytes(raw[i:i + 4], sys.byteorder)
           for level, kind, raw in ancillary
           if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS
           for i in range(0, len(raw) - len(raw) % 4, 4)]
    for fd in fds:
        os.set_inheritable(fd, False)
    if not data:
        for fd in fds:
            os.close(fd)
        return None, []
    return jsonfast.loads(data), fds


class Handle:
    """A connection to the root's supervisor, made before the container is (as a
    pre-forked monitor is): hand_over() gives it the container to start and watch."""

    supervised = True  # what start() tells it from a monitor of the container's own by

    def __init__(self, sock: _socket.socket):
        self.sock = sock

    def hand_over(self, record: Record, report_w: int, client: _socket.socket | None,
                  interactive: bool, foreground: bool) -> None:
        fds = [report_w] + ([client.fileno()] if client is not None else [])
        _sendmsg(self.sock, {"op": "start", "id": record.id, "interactive": interactive,
                             "client": client is not None}, fds)
        self.close()

    def close(self) -> None:
        self.sock.close()


def _connect_once(root: str) -> _socket.socket | None:
    """A connection to a supervisor of `root` that takes new containers, or None."""
    import _socket
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)
    try:
        dirfd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        sock.close()
        return None
    try:
        sock.connect(f"/proc/self/fd/{dirfd}/{SOCKET}")  # a root path of any length
        _sendmsg(sock, {"op": "hello", "code": code_identity()})
        reply, _ = _recvmsg(sock)
    except OSError:
        reply = None
    finally:
        os.close(dirfd)
    if not reply or not reply.get("ok"):
        sock.close()  # none, one that exited meanwhile, or one that retired
        return None
    return sock


def connect(root: str, timeout: float = 30.0) -> Handle:
    """A connection to the root's supervisor, started first when none takes containers."""
    from minidocker.errors import MinidockerError
    os.makedirs(root, exist_ok=True)
    sock = _connect_once(root)
    deadline = time.monotonic() + timeout
    while sock is None:
        if not _lock_held(root):  # none runs, or one gave up
            sock = _spawn(root, max(1.0, deadline - time.monotonic()))
            if sock is not None:
                break
        if time.monotonic() > deadline:
            raise MinidockerError(f"the supervisor of {root} did not start",
                                  hint=f"see {os.path.join(root, ERRORS)}")
        time.sleep(0.002)
        sock = _connect_once(root)
    return Handle(sock)


def running(root: str) -> bool:
    """Whether a supervisor of `root` runs (or is starting)."""
    return _lock_held(root)


def _lock_held(root: str) -> bool:
    """Whether a supervisor holds the root's lock (it runs, or is starting)."""
    import fcntl
    try:
        fd = os.open(os.path.join(root, LOCK), os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)


def _spawn(root: str, timeout: float) -> _socket.socket | None:
    """Start a supervisor for `root` and the first connection to it: a fresh interpreter
    (posix_spawn: nothing of the caller's threads or connections; every signal at its
    default and none blocked, whatever the caller has: the containers' processes come
    from it), which forks itself so as not to stay our child, and gets its end of our
    connection as fd 3, so that a caller killed right after spawning it leaves nothing
    (the connection's end tells it). None if it did not take the root (another did)."""
    import _socket

    from minidocker.engine.start import spawn_interpreter
    ours, theirs = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)
    try:
        pid = spawn_interpreter("from minidocker.engine.supervisor import main; "
                                "main(sys.argv[1:])", [root], [theirs.fileno()],
                                default_signals=True)
        theirs.close()
        os.waitpid(pid, 0)
        ours.settimeout(timeout)
        _sendmsg(ours, {"op": "hello", "code": code_identity()})
        reply, _ = _recvmsg(ours)
        ours.settimeout(None)
    except OSError:
        reply = None
    if not reply or not reply.get("ok"):
        ours.close()
        return None
    return ours


def adopt(root: str, cid: str, pid: int) -> bool:
    """Have the root's supervisor watch a running container whose monitor died."""
    handle = connect(root)
    try:
        _sendmsg(handle.sock, {"op": "adopt", "id": cid, "pid": pid})
        reply, _ = _recvmsg(handle.sock)
    except OSError:
        reply = None
    finally:
        handle.close()
    return bool(reply and reply.get("ok"))


# ---- the supervisor ---------------------------------------------------------------------------


def main(argv: list[str]) -> None:
    """The supervisor's process: ROOT FD (its spawner's connection). Forks once (its
    spawner waits for the first)."""
    if os.fork() != 0:
        os._exit(0)
    root, first = argv[0], int(argv[1])
    code = 1
    try:
        code = _serve(root, first)
    except BaseException as e:  # keep a record of why, then let the next command adopt
        try:
            from minidocker.engine.monitor import log_time
            with open(os.path.join(root, ERRORS), "a") as f:
                f.write(f"{log_time()} {type(e).__name__}: {e}\n")
        except OSError:
            pass
    os._exit(code)


def _serve(root: str, first: int) -> int:
    import _socket
    import fcntl
    import resource
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    os.chdir(root)
    lock = os.open(LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    deadline = time.monotonic() + 0.5
    while True:  # a caller may hold it shared for a moment (_lock_held)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except OSError:
            if time.monotonic() > deadline:
                return 0  # another one runs, or is starting
            time.sleep(0.005)
    from minidocker.linux import libc
    libc.prctl(libc.PR_SET_CHILD_SUBREAPER, 1, what="prctl(PR_SET_CHILD_SUBREAPER)")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:  # five fds a container (a worker puts it back for the containers)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        os.unlink(SOCKET)  # a dead supervisor's: we hold the lock
    except FileNotFoundError:
        pass
    listener = _socket.socket(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)
    listener.bind(SOCKET)
    os.chmod(SOCKET, 0o600)
    listener.listen(128)  # callers may connect now; they are answered once we are ready
    _preload()
    Supervisor(root, listener, lock, soft, first).run()
    return 0


def _preload() -> None:
    """What a start and an exit need, imported once here rather than in every worker."""
    import minidocker.engine.exits  # noqa: F401
    import minidocker.engine.health  # noqa: F401
    import minidocker.engine.networking  # noqa: F401
    import minidocker.runtime.create  # noqa: F401
    import minidocker.runtime.init  # noqa: F401
    import minidocker.runtime.operations  # noqa: F401
    from minidocker.runtime import cgroup
    cgroup.preload()


def _sources_mtime() -> int:
    """The newest modification time of the package's sources (a supervisor whose files
    changed retires: the next caller gets one that runs the new code)."""
    newest = 0
    for dirpath, _, names in os.walk(os.path.join(_src(), "minidocker")):
        for name in names:
            if name.endswith(".py"):
                try:
                    newest = max(newest, os.stat(os.path.join(dirpath, name)).st_mtime_ns)
                except OSError:
                    pass
    return newest


class Job:
    """A worker: a fork of the supervisor that starts a container, or applies its exit
    policy, then sends back what the supervisor is to watch."""

    def __init__(self, kind: str, cid: str, sock: _socket.socket, clients: list[int],
                 watch: Watch | None = None):
        self.kind = kind
        self.cid = cid
        self.watch = watch  # the container whose exit it handles
        self.sock = sock
        self.clients = clients  # attach clients for a start
        self.result: dict[str, Any] | None = None
        self.fds: list[int] = []


class Supervisor:
    def __init__(self, root: str, listener: _socket.socket, lock: int, nofile: int,
                 first: int):
        from minidocker.engine.liveness import proc_stat
        from minidocker.engine.monitor import Loop

        class _Loop(Loop):
            def unclaimed(loop, pid: int, status: int) -> None:  # noqa: N805
                self.orphans[pid] = (status, time.monotonic())

        self.root = root
        self.nofile = nofile  # the soft limit of open files the caller had
        there = os.stat(SOCKET)
        self.socket_file = (there.st_dev, there.st_ino)
        self.loop = _Loop()
        self.listener = listener
        self.lock = lock
        self.pid = os.getpid()
        st = proc_stat(self.pid)
        self.start_time = st[1] if st else 0
        self.code = code_identity()
        self.mtime = _sources_mtime()
        self.checked = time.monotonic()
        self.retired = False
        self.done = False  # its last container ended: it exits
        self.served = False  # a caller came: once nothing is left, nothing waits for us
        self.watches: dict[str, Watch] = {}
        self.health: set[Watch] = set()  # the watches with a healthcheck
        self.ending: set[Watch] = set()  # the init ended: draining, then an exit job
        self.jobs: dict[int, Job] = {}  # worker pid -> job
        self.conns: dict[int, _socket.socket] = {}
        self.orphans: dict[int, tuple[int, float]] = {}
        self.idle_since = time.monotonic()
        self.loop.add(listener.fileno(), lambda fd, ev: self.accept())
        self.serve(first)  # the spawner's

    # ---- the loop ----

    def run(self) -> None:
        while True:
            timeout = self.timeout()
            self.loop.wait(timeout)
            for watch in list(self.health):
                watch.check_health()
            busy = self.busy()  # once a turn: a thousand exits at once must not be O(n²)
            for watch in list(self.ending):
                if watch.cid not in busy and watch.drained():
                    self.ending.discard(watch)
                    self.exit_job(watch)
                    busy.add(watch.cid)
            now = time.monotonic()
            for pid, (_, when) in list(self.orphans.items()):
                if now - when > ORPHANS_KEPT:
                    del self.orphans[pid]
            if self.watches or self.jobs or self.conns:
                self.idle_since = now
            elif self.done or self.served or now - self.idle_since >= IDLE:
                self.retire()
                if not self.conns:  # a caller already connected is still served
                    return

    def timeout(self) -> float:
        busy = self.busy()
        waits = [w.timeout() if w.cid not in busy else 0.05 for w in self.ending] + \
            [w.timeout() for w in self.health]
        waits = [t for t in waits if t >= 0]
        if not self.watches and not self.jobs:
            if not self.conns and (self.done or self.served):
                return 0  # nothing left: exit now, not after a wait
            waits.append(IDLE)
        return min(waits) if waits else -1

    def busy(self) -> set[str]:
        return {job.cid for job in self.jobs.values()}

    def retire(self) -> None:
        """Take no new container: the socket goes (when it is still ours), the lock too."""
        if self.retired:
            return
        self.retired = True
        self.loop.remove(self.listener.fileno())
        try:
            there = os.stat(SOCKET)
            if (there.st_dev, there.st_ino) == self.socket_file:  # not a successor's
                os.unlink(SOCKET)
        except OSError:
            pass
        self.listener.close()
        os.close(self.lock)
        self.lock = -1

    # ---- callers ----

    def accept(self) -> None:
        try:
            fd, _ = self.listener._accept()  # type: ignore[attr-defined]
        except OSError:
            return
        self.serve(fd)

    def serve(self, fd: int) -> None:
        """Take a caller's connection."""
        import _socket
        os.set_inheritable(fd, False)
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_SEQPACKET, fileno=fd)
        self.served = True
        self.conns[sock.fileno()] = sock
        self.loop.add(sock.fileno(), self.message)

    def drop(self, fd: int) -> None:
        sock = self.conns.pop(fd, None)
        if sock is not None:
            self.loop.remove(fd)
            sock.close()

    def message(self, fd: int, _events: int) -> None:
        sock = self.conns[fd]
        try:
            msg, fds = _recvmsg(sock, max_fds=2)
        except OSError:
            msg, fds = None, []
        if msg is None:
            self.drop(fd)
            return
        op = msg.get("op")
        try:
            if op == "hello":
                ok = msg.get("code") == self.code and not self.retired and not self.stale()
                if not ok:
                    self.retire()
                _sendmsg(sock, {"ok": True} if ok else {"retired": True})
            elif op == "start" and fds:
                self.start_job(str(msg["id"]), fds[0], fds[1:], bool(msg.get("interactive")))
                fds = []
                self.drop(fd)
            elif op == "adopt":
                _sendmsg(sock, {"ok": self.adopt(str(msg["id"]), int(msg["pid"]))})
            else:
                self.drop(fd)
        except (OSError, KeyError, ValueError, TypeError):
            self.drop(fd)
        finally:
            for extra in fds:
                os.close(extra)

    def stale(self) -> bool:
        """Whether our own sources changed since we started (checked once a second)."""
        now = time.monotonic()
        if now - self.checked < 1.0:
            return False
        self.checked = now
        return _sources_mtime() != self.mtime

    # ---- workers ----

    def fork_worker(self, kind: str, cid: str, clients: list[int], work: Any,
                    watch: Watch | None = None) -> None:
        """Fork a worker running work(send) (send(msg, fds) answers us), watched as a Job."""
        import _socket
        import gc
        ours, theirs = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)
        gc.freeze()  # fewer pages copied in the worker
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the worker
            code = 1
            try:
                ours.close()
                if kind == "exit":  # dies with us, as a monitor's back-off did: the next
                    from minidocker.linux import libc  # command carries the policy on
                    libc.prctl(libc.PR_SET_PDEATHSIG, 9, what="prctl(PR_SET_PDEATHSIG)")
                    if os.getppid() != self.pid:
                        os._exit(1)
                for fd in [*self.loop.fds(), *clients, *_client_fds(self.jobs),
                           *([self.lock] if self.lock >= 0 else [])]:
                    try:
                        os.close(fd)  # what the supervisor serves is not the worker's
                    except OSError:
                        pass
                import resource
                hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
                resource.setrlimit(resource.RLIMIT_NOFILE, (self.nofile, hard))  # a
                # container gets what it would have from the command that started it
                work(lambda msg, fds=(): _sendmsg(theirs, msg, list(fds)))
                code = 0
            finally:
                os._exit(code)
        theirs.close()
        job = Job(kind, cid, ours, clients, watch)
        self.jobs[pid] = job
        self.loop.add(ours.fileno(), lambda fd, ev: self.job_message(job))
        self.loop.watch_process(pid, lambda status: self.job_done(pid))

    def job_message(self, job: Job) -> None:
        try:
            msg, fds = _recvmsg(job.sock, max_fds=8)
        except OSError:
            msg, fds = None, []
        self.loop.remove(job.sock.fileno())
        if msg is not None:
            job.result, job.fds = msg, fds

    def job_done(self, pid: int) -> None:
        job = self.jobs.pop(pid)
        if job.result is None:  # it died before it answered: read what it did not say
            self.job_message(job)
        job.sock.close()
        if job.kind == "start":
            self.started(job)
        else:
            self.exited(job)

    def start_job(self, cid: str, report_w: int, clients: list[int], interactive: bool
                  ) -> None:
        from minidocker.engine.records import Record
        me = (self.pid, self.start_time)

        def work(send: Any) -> None:
            from minidocker.engine import start
            fds = start.start_watched(Record(self.root, cid), report_w, interactive, me)
            send({"fds": [fd >= 0 for fd in fds]}, [fd for fd in fds if fd >= 0])
        try:
            self.fork_worker("start", cid, clients, work)
        finally:
            os.close(report_w)

    def started(self, job: Job) -> None:
        """A start worker ended: watch the container it started (its init is our child
        now), or, if it said nothing, adopt what it may have started before it died."""
        from minidocker.engine.records import Record
        if job.result is None:
            for fd in job.clients:
                os.close(fd)
            self.adopt(job.cid, int(Record(self.root, job.cid).state.get("Pid") or 0)
                       if _exists(self.root, job.cid) else 0)
            return
        it = iter(job.fds)
        out, err, stdin_w, master, listener = (next(it) if present else -1
                                               for present in job.result["fds"])
        self.watch(job.cid, {fd: kind for fd, kind in ((out, 1), (err, 2)) if fd >= 0},
                   stdin_w, master, listener, job.clients)

    def watch(self, cid: str, outputs: dict[int, int], stdin_w: int, master: int,
              listener: int, clients: list[int], pid: int = 0) -> Watch | None:
        from minidocker.engine.monitor import Watch
        from minidocker.engine.records import Record
        from minidocker.engine.start import monitor_options
        record = Record(self.root, cid)
        try:
            pid = pid or int(record.state.get("Pid") or 0)
            watch = Watch(self.loop, self.root, cid, outputs, stdin_w, master, listener,
                          clients, record.path(cid + "-json.log"), monitor_options(record))
        except Exception:
            for fd in [*outputs, stdin_w, master, listener, *clients]:
                if fd >= 0:
                    os.close(fd)
            return None
        self.watches[cid] = watch
        if watch.health is not None:
            self.health.add(watch)
        self.watch_init(watch, pid)
        return watch

    def watch_init(self, watch: Watch, pid: int) -> None:
        if pid in self.orphans:  # it ended before we knew it: reaped as nobody's
            status, _ = self.orphans.pop(pid)
            watch.pid = pid
            watch.status, watch.drain_until = status, time.monotonic() + 2.0
            self.ending.add(watch)
            return
        watch.on_end = lambda: self.ending.add(watch)
        try:
            watch.watch(pid)
        except OSError:  # gone, and reaped by someone else: nobody knows how it ended
            watch.pid = pid
            watch.status, watch.drain_until = 255 << 8, time.monotonic()
            self.ending.add(watch)

    def exit_job(self, watch: Watch) -> None:
        """The init ended: apply the exit policy in a worker (it may sleep for a backoff,
        start the container again, or remove it) while the others are served."""
        status = watch.status
        assert status is not None
        root, cid = self.root, watch.cid
        me = (self.pid, self.start_time)

        def work(send: Any) -> None:
            from minidocker.engine.exits import on_exit
            code, restarted = on_exit(root, cid, status, monitor=me)
            if restarted is None:
                send({"code": code})
            else:
                pid, master = restarted
                send({"code": code, "pid": pid, "master": master >= 0},
                     [master] if master >= 0 else [])
        self.fork_worker("exit", cid, [], work, watch)

    def exited(self, job: Job) -> None:
        """An exit worker ended: watch the restarted container, or end the watch."""
        from minidocker.engine.liveness import exit_code_of
        watch = job.watch
        assert watch is not None
        result = job.result or {}
        if result.get("pid"):
            master = job.fds[0] if result.get("master") and job.fds else -1
            watch.reopen(master)
            self.watch_init(watch, int(result["pid"]))
            return
        if self.watches.get(job.cid) is watch:  # not a new start's meanwhile
            del self.watches[job.cid]
        self.health.discard(watch)
        code = result.get("code")
        watch.end(int(code) if code is not None else exit_code_of(watch.status or 0))
        if not self.watches and not self.jobs:
            self.retire()  # the last one: gone before `rm -f` hears we let go of it
            self.done = True
        from minidocker.engine.exits import let_go
        from minidocker.engine.records import Record
        # a worker that died without a word (killed) may have left the container
        # `restarting`, or running a new init: the next command finishes or adopts it
        let_go(Record(self.root, job.cid), (self.pid, self.start_time),
               force=job.result is None)

    # ---- adoption ----

    def adopt(self, cid: str, pid: int) -> bool:
        """Watch a running container whose monitor died (its init is not our child: its
        status comes from its zombie, or its pidfd)."""
        if cid in self.watches:
            return True
        from minidocker.engine.liveness import alive
        from minidocker.engine.records import Record
        from minidocker.engine.start import listen, open_outputs
        record = Record(self.root, cid)
        try:
            state = record.state
            if record.config["Config"].get("Tty") or not pid or \
                    state.get("Status") not in ("running", "paused", "restarting"):
                return False
            if pid not in self.orphans and not alive(pid, int(state.get("PidStart") or 0)):
                return False
            outputs = open_outputs(self.root, cid)
            listener = listen(record)
        except Exception:
            return False
        record.update(MonitorPid=self.pid, MonitorStart=self.start_time, MonitorShared=True)
        return self.watch(cid, outputs, -1, -1, listener.detach(), [], pid) is not None


def _client_fds(jobs: dict[int, Job]) -> list[int]:
    return [fd for job in jobs.values() for fd in job.clients]


def _exists(root: str, cid: str) -> bool:
    return os.path.isdir(os.path.join(root, "containers", cid))
