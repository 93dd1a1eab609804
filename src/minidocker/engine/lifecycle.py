"""Lifecycle orchestration: create, start (through a monitor), stop, kill, remove, and
the status of a record derived from live facts.

start() forks a monitor process M (double fork, new session, child subreaper), or hands
the record to one that `run` forked before making it (prefork_monitor: M imports the
runtime meanwhile). M creates the runtime container with the record's FIFOs as stdio,
plugs the network, starts it, records `running` and reports to the CLI over a pipe; then
it either serves in-process (foreground run: no exec, fast) or execs a fresh interpreter
running the small monitor module (detached: little memory).
"""

from __future__ import annotations

import os
import sys
import time

import minidocker
from minidocker.engine import runtimes
from minidocker.engine.records import ZERO_TIME, Record, Records, now
from minidocker.errors import Conflict, MinidockerError, NotFound, NotModified

TYPE_CHECKING = False
if TYPE_CHECKING:
    import _socket
    import socket
    from collections.abc import Callable
    from typing import Any

    from minidocker.engine.service import Sink

RUNNING_STATES = ("running", "paused", "restarting")


# ---- live facts ----------------------------------------------------------------------------


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


def live_state(record: Record, reconcile_dead: bool = True, adopt_orphans: bool = True
               ) -> dict[str, Any]:
    """The record's state with Status made true to the facts: a container whose init is
    gone is never reported running (after a reboot, or a killed monitor)."""
    state = record.state
    status = state.get("Status")
    if status not in RUNNING_STATES and status != "removing":
        return state
    if status == "restarting" and monitor_alive(state):
        return state
    if alive(int(state.get("Pid") or 0), int(state.get("PidStart") or 0)):
        if status != "removing" and adopt_orphans and not monitor_alive(state):
            adopt(record)  # its monitor died: a new one takes over its output and exit
        return state
    # the init is gone: the monitor records that in a moment; if it is dead, we do
    deadline = time.monotonic() + 2.0
    while monitor_alive(state) and time.monotonic() < deadline:
        time.sleep(0.01)
        state = record.reload().state
        if state.get("Status") not in RUNNING_STATES:
            return state
    if not reconcile_dead or state.get("Status") == "removing" or monitor_alive(state):
        return state  # a live monitor is the one to record the exit, however slow it is
    return finish_without_monitor(record)


def finish_without_monitor(record: Record) -> dict[str, Any]:
    """What the monitor would have done at exit, for a container whose monitor died."""
    with record.lock():
        state = record.reload().state
        if state.get("Status") not in RUNNING_STATES:
            return state
        pid = int(state.get("Pid") or 0)
        st = proc_stat(pid)
        if st is not None and st[1] == int(state.get("PidStart") or 0) and st[0] == "Z":
            status = st[2]  # still a zombie of whoever adopted it: its wait status
        else:
            status = 255 << 8
        code = exit_code_of(status)
    _cleanup_after_exit(record, code, restarting=False)
    state = record.reload().state
    if record.config.get("HostConfig", {}).get("AutoRemove"):
        remove_files(record, volumes=True)
    return state


def exit_code_of(status: int) -> int:
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    return 255


def runtime_of(record: Record) -> runtimes.InProcess | runtimes.Binary:
    return runtimes.get(record.config.get("HostConfig", {}).get("Runtime") or "", record.root)


# ---- create --------------------------------------------------------------------------------


def resolve_image(root: str, ref: str, pull: Callable[[Any, str], Any] | None = None
                  ) -> tuple[str, list[str], dict[str, Any], Any]:
    """(image id, lower dirs topmost first, image config, store Image or None). An image
    that is not in the store is pulled with `pull(store, ref)` (the service layer's,
    which reports to its sink), or not found without it."""
    if (ref.startswith((".", "/")) or os.sep in ref) and os.path.isdir(ref):
        path = os.path.abspath(ref)
        return path, [path], {}, None
    from minidocker.image.store import Store
    store = Store(root)
    image = store.try_lookup(ref)
    if image is None:
        if ref.startswith((".", "/")):
            raise NotFound(f"no such image or directory: {ref}")
        if pull is None:
            store.lookup(ref)  # raises the image package's NotFound with its hint
        image = pull(store, ref)  # type: ignore[misc]
    from minidocker.image import snapshot
    snapshot.ensure(store, image)
    lowers = snapshot.lower_dirs(store, image)
    return image.id, lowers, dict(image.config.get("config") or {}), image


def create(root: str, options: dict[str, Any],
           pull: Callable[[Any, str], Any] | None = None) -> Record:
    """A new container record from `options` (Docker's create body: Image, Cmd, Entrypoint,
    Env, ..., HostConfig, Name, with the mounts parsed into Mounts: see
    service.containers.create); nothing runs yet. Fails leaving nothing behind."""
    records = Records(root)
    ref = options["Image"]
    image_id, lowers, image_cfg, image = resolve_image(root, ref, pull)
    if minidocker.TRACE:
        minidocker.TRACE.step("image", "resolved", ref=ref, id=image_id, lower_dirs=lowers)
    cid, name = records.allocate(options.get("Name"))
    record = Record(root, cid)
    leased = False
    made: list[dict[str, Any]] = []  # the volumes materialize() created
    try:
        config = build_config(cid, name, ref, image_id, lowers, image_cfg, options)
        for sub in ("upper", "work", "rootfs", "bundle"):
            os.mkdir(record.path(sub), 0o755 if sub != "work" else 0o700)
        if image is not None:
            from minidocker.image import snapshot
            from minidocker.image.store import Store
            snapshot.add_lease(Store(root), cid, image)
            leased = True
        from minidocker.engine import volumes
        config["Mounts"] = volumes.materialize(root, config["Mounts"], made)
        write_bundle(record, config)
        for fifo in ("stdout", "stderr"):
            os.mkfifo(record.path(fifo), 0o600)
        record.save_state(new_state())
        record.save_config(config)
        _event(record, "create")
        if minidocker.TRACE:
            minidocker.TRACE.step("engine", "record created", id=cid, name=name,
                                  bundle=record.path("bundle", "config.json"),
                                  mounts=[m.get("Destination") for m in config["Mounts"]])
        return record
    except BaseException:
        if leased:
            from minidocker.image import snapshot
            from minidocker.image.store import Store
            snapshot.release(Store(root), cid)
        _remove_anonymous(root, made)
        import shutil
        shutil.rmtree(record.dir, ignore_errors=True)
        records.release_name(name, cid)
        raise


def new_state() -> dict[str, Any]:
    return {"Status": "created", "Running": False, "Paused": False, "Restarting": False,
            "OOMKilled": False, "Dead": False, "Pid": 0, "PidStart": 0, "ExitCode": 0,
            "Error": "", "StartedAt": ZERO_TIME, "FinishedAt": ZERO_TIME, "MonitorPid": 0,
            "MonitorStart": 0, "RestartCount": 0, "ManualStop": False}


def build_config(cid: str, name: str, ref: str, image_id: str, lowers: list[str],
                 image_cfg: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """The record's config.json: image config merged with the flags, Docker's way."""
    entrypoint = options.get("Entrypoint")
    cmd = options.get("Cmd")
    if entrypoint is None:
        entrypoint = image_cfg.get("Entrypoint") or []
        if not cmd:
            cmd = image_cfg.get("Cmd") or []
    elif not cmd:
        cmd = []  # --entrypoint resets the image's Cmd
    argv = list(entrypoint or []) + list(cmd or [])
    env: dict[str, str] = {}
    for item in list(image_cfg.get("Env") or []) + list(options.get("Env") or []):
        key, sep, value = item.partition("=")
        env[key] = item if sep else f"{key}="  # a front end resolved what it could
    labels = dict(image_cfg.get("Labels") or {})
    labels.update(options.get("Labels") or {})
    host = dict(options.get("HostConfig") or {})
    host.setdefault("NetworkMode", "bridge")
    host.setdefault("RestartPolicy", {"Name": "no", "MaximumRetryCount": 0})
    host.setdefault("LogConfig", {"Type": "json-file", "Config": {}})
    hostname = options.get("Hostname") or ("" if host["NetworkMode"] == "host" else cid[:12])
    if host["NetworkMode"] == "host" and not hostname:
        hostname = os.uname().nodename
    config: dict[str, Any] = {
        "Id": cid,
        "Name": "/" + name,
        "Created": now(),
        "Path": argv[0] if argv else "",
        "Args": argv[1:],
        "Image": image_id,
        "Lowers": lowers,
        "Config": {
            "Hostname": hostname,
            "Domainname": "",
            "User": options.get("User") if options.get("User") is not None
            else image_cfg.get("User", ""),
            "AttachStdin": bool(options.get("OpenStdin")) and not options.get("Detach"),
            "AttachStdout": not options.get("Detach"),
            "AttachStderr": not options.get("Detach"),
            "ExposedPorts": image_cfg.get("ExposedPorts") or {},
            "Tty": bool(options.get("Tty")),
            "OpenStdin": bool(options.get("OpenStdin")),
            "StdinOnce": bool(options.get("OpenStdin")) and not options.get("Detach"),
            "Env": list(env.values()),
            "Cmd": list(cmd or []) or None,
            "Image": ref,
            "Volumes": image_cfg.get("Volumes"),
            "WorkingDir": options.get("WorkingDir") or image_cfg.get("WorkingDir") or "",
            "Entrypoint": list(entrypoint) if entrypoint else None,
            "Labels": labels,
            "StopSignal": options.get("StopSignal") or image_cfg.get("StopSignal")
            or "SIGTERM",
        },
        "HostConfig": host,
        "Mounts": list(options.get("Mounts") or []),
        "LogPath": "",
        "Driver": "overlay2",
    }
    if options.get("StopTimeout") is not None:
        config["Config"]["StopTimeout"] = int(options["StopTimeout"])
    if image_cfg.get("Healthcheck") or options.get("Healthcheck"):
        from minidocker.engine import health
        check = health.merged(image_cfg.get("Healthcheck"), options.get("Healthcheck"))
        if check is not None:
            config["Config"]["Healthcheck"] = check
    if options.get("NetworkingConfig"):
        config["NetworkingConfig"] = options["NetworkingConfig"]
    return config


def write_bundle(record: Record, config: dict[str, Any]) -> None:
    from minidocker import jsonfast
    from minidocker.engine import bundle, volumes
    spec = bundle.make_spec(config, record.dir, config["Lowers"],
                            volumes.oci_mounts(config["Mounts"]))
    if config["HostConfig"].get("Init"):
        _add_init(spec, record)
    bundle.etc_files(config, record.dir)
    with open(record.path("bundle", "config.json"), "w") as f:
        f.write(jsonfast.dumps_spaced(spec))  # json.dumps's bytes, without json's imports


# static inits that --init can bind-mount (Docker ships tini as docker-init; podman uses
# catatonit): Debian's `tini` package has /usr/bin/tini-static
INIT_BINARIES = ("/usr/bin/docker-init", "/usr/bin/tini-static", "/usr/libexec/podman/catatonit",
                 "/usr/bin/catatonit")
INIT_PATH = "/sbin/docker-init"


def find_init() -> str:
    for path in INIT_BINARIES:
        if os.access(path, os.X_OK):
            return path
    raise MinidockerError("--init: no static init binary on this host",
                          hint="install one: apt-get install tini (or catatonit)")


def _add_init(spec: dict[str, Any], record: Record) -> None:
    """--init: a tiny init as PID 1 (reaps zombies, forwards signals), bind-mounted
    read-only from the host like Docker's docker-init."""
    source = find_init()
    spec["mounts"].append({"destination": INIT_PATH, "type": "bind", "source": source,
                           "options": ["rbind", "ro", "nosuid", "nodev"]})
    spec["process"]["args"] = [INIT_PATH, "--"] + spec["process"]["args"]


# ---- rootfs ---------------------------------------------------------------------------------


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
    from minidocker.linux import libc  # not image.snapshot: keeps `run` imports light
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
    import errno

    from minidocker.linux import libc
    target = record.path("rootfs")
    for _ in range(3):
        if not os.path.ismount(target):
            return
        try:
            libc.umount2(target, libc.MNT_DETACH)
        except OSError as e:
            if e.errno not in (errno.EINVAL, errno.ENOENT):
                raise


# ---- start -----------------------------------------------------------------------------------


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
          foreground: bool = False, monitor: Preforked | None = None,
          sink: Sink | None = None, fork: bool | None = None) -> _socket.socket | None:
    """Start the container under a new monitor (or the pre-forked `monitor`). With
    `attach`, returns our end of the attach stream (connected before the container
    runs, so no output is missed). A running container is NotModified (attach: the
    stream is connected to it). `fork` False starts the monitor as a fresh interpreter
    (posix_spawn) instead of a fork of this process: what a threaded server needs; None
    decides by fork_is_safe()."""
    import _socket  # not the socket module: its enums cost 2 ms of import

    from minidocker.engine.records import Lock
    live_state(record)
    with Lock(record.path("start.lock")) as start_lock:
        state = live_state(record.reload(), adopt_orphans=False)
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
        if minidocker.TRACE:
            minidocker.TRACE.step("network", "prepared", mode=networking.mode_of(record))
        mount_rootfs(record)
        ours = theirs = None
        if attach:
            ours, theirs = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_STREAM)
        report_r, report_w = os.pipe()
        child = 0
        if fork is None:
            fork = fork_is_safe()
        if monitor is not None:
            monitor.hand_over(record, report_w, theirs, interactive, foreground)
        elif not fork:
            child = _spawn_monitor(record, report_w, theirs, interactive)
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
            try:
                code = int(code_text)
            except ValueError:
                code, message = 125, "the container monitor died during start"
            record.reload()
            if record.state.get("Status") not in RUNNING_STATES:
                unmount_rootfs(record)
            raise MinidockerError(message, exit_code=code)
        return ours


def fork_is_safe() -> bool:
    """Whether this process may fork and go on running Python in the child: not once it
    has more than one thread (a lock another thread held stays locked in the child) or
    runs asyncio (the child would hold the server's connections for its whole life)."""
    if "asyncio" in sys.modules:
        return False
    threading = sys.modules.get("threading")
    return threading is None or threading.active_count() <= 1


def _spawn_monitor(record: Record, report_w: int, client: _socket.socket | None,
                   interactive: bool) -> int:
    """Start the monitor as a fresh interpreter (posix_spawn: nothing of this process's
    threads, locks or connections is inherited), which forks itself once so that it is
    not our child for long. Its pid, to be waited for (it exits at once)."""
    fds = [report_w] + ([client.fileno()] if client is not None else [])
    for fd in fds:
        os.set_inheritable(fd, True)
    src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    boot = (f"import sys; sys.path.insert(0, {src!r}); "
            "from minidocker.engine.lifecycle import spawned_main; spawned_main(sys.argv[1:])")
    argv = [sys.executable, "-S", "-I", "-c", boot, record.root, record.id,
            str(int(interactive)), *(str(fd) for fd in fds)]
    try:
        return os.posix_spawn(sys.executable, argv, dict(os.environ))
    finally:
        for fd in fds:
            os.set_inheritable(fd, False)


def spawned_main(argv: list[str]) -> None:
    """The monitor started by _spawn_monitor: ROOT ID INTERACTIVE REPORT_FD [CLIENT_FD]."""
    root, cid, interactive, report = argv[0], argv[1], argv[2] == "1", int(argv[3])
    client = None
    if len(argv) > 4:
        import _socket
        client = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM, fileno=int(argv[4]))
    if os.fork() != 0:
        os._exit(0)
    try:
        _monitor_main(Record(root, cid), report, client, interactive, foreground=False)
    finally:
        os._exit(1)


def _monitor_main(record: Record, report_w: int, client: _socket.socket | None,
                  interactive: bool, foreground: bool) -> None:
    """In M: set up, create and start the container, report, then serve."""
    import sys
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
        listener = _listen(record)
        outputs = open_outputs(record.root, record.id)
        stdin_w = -1
        stdin_r = -1
        if record.config["Config"].get("OpenStdin") and not record.config["Config"]["Tty"]:
            stdin_r, stdin_w = os.pipe()
        try:
            pid, master = spawn_init(record, stdin_r)
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
    log = record.path(record.id + "-json.log")
    client_fds = [client.detach()] if client is not None else []
    if foreground:
        from minidocker.engine.monitor import Monitor
        mon = Monitor(record.root, record.id, pid, outputs, stdin_w, master, listener.detach(),
                      client_fds, log, monitor_options(record))
        try:
            mon.run()
        finally:
            os._exit(0)
    fds = list(outputs) + [stdin_w, master, listener.fileno()] + client_fds
    for fd in fds:
        if fd >= 0:
            os.set_inheritable(fd, True)
    out_fd = next((fd for fd, kind in outputs.items() if kind == 1), -1)
    err_fd = next((fd for fd, kind in outputs.items() if kind == 2), -1)
    args = [*monitor_command(), record.root, record.id, str(pid), str(out_fd), str(err_fd),
            str(stdin_w), str(master), str(listener.fileno()), log, monitor_options(record),
            *(str(fd) for fd in client_fds)]
    os.execv(sys.executable, args)


def monitor_command() -> list[str]:
    """How a detached monitor is started: the monitor module imported from its compiled
    file by a one-line -c (a script given by path is compiled from source at every start,
    and the compiler's memory stays with the process: ~0.3 MB per container)."""
    src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    boot = (f"import sys; sys.path.insert(0, {src!r}); "
            "from minidocker.engine.monitor import main; sys.exit(main(sys.argv[1:]))")
    return [sys.executable, "-S", "-I", "-c", boot]


def monitor_options(record: Record) -> str:
    """What monitor.py needs of the config, worked out here so that it reads and imports
    nothing for it (each module costs every detached monitor memory): the log's
    max-size, max-file and whether it is written, and whether there is a healthcheck."""
    from minidocker.engine.logs import limits
    log = record.config.get("HostConfig", {}).get("LogConfig") or {}
    size, files = limits(log.get("Config") or {})
    check = (record.config.get("Config") or {}).get("Healthcheck") or {}
    health = bool(check) and (check.get("Test") or ["NONE"])[0] != "NONE"
    return f"{size}:{files}:{int(log.get('Type') != 'none')}:{int(health)}"


def _listen(record: Record) -> _socket.socket:
    import _socket
    path = "attach.sock"  # relative: we are in the record dir (sun_path is short)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    sock.bind(path)
    os.chmod(path, 0o600)
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


def spawn_init(record: Record, stdin_fd: int) -> tuple[int, int]:
    """Create and start the runtime container with the record's stdio; (pid, pty master)."""
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
    me = proc_stat(os.getpid())
    record.update(Status="running", Running=True, Paused=False, Restarting=False, Pid=pid,
                  PidStart=st[1] if st else 0, StartedAt=now(), OOMKilled=False,
                  MonitorPid=os.getpid(), MonitorStart=me[1] if me else 0, Error="",
                  ExitCode=0)
    _event(record, "start")
    if minidocker.TRACE:
        minidocker.TRACE.step("engine", "state: running", pid=pid, monitor=os.getpid())
    return pid, master


# ---- networking hook -----------------------------------------------------------------------


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


# ---- exit (called by the monitor) -----------------------------------------------------------


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
            state = live_state(record)
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


def _cleanup_after_exit(record: Record, code: int, restarting: bool) -> None:
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
    with record.lock():
        state = record.reload().state
        changes: dict[str, Any] = dict(Running=False, Paused=False, Pid=0, ExitCode=code,
                                       OOMKilled=oom, FinishedAt=now())
        if state.get("Status") != "removing":
            changes["Status"] = "restarting" if restarting else "exited"
            changes["Restarting"] = restarting
        state.update(changes)
        record.save_state(state)
    if oom:
        _event(record, "oom")
    _event(record, "die", exitCode=code)
    if minidocker.TRACE:
        minidocker.TRACE.step("engine", "state: exited", exit_code=code, oom_killed=oom)


def _event(record: Record, action: str, **attributes: Any) -> None:
    from minidocker.engine import events
    events.emit(record, action, **attributes)


# ---- stop, kill, remove ------------------------------------------------------------------------


def stop_signal(record: Record) -> int:
    from minidocker.runtime.operations import parse_signal
    return parse_signal(record.config["Config"].get("StopSignal") or "SIGTERM")


def wait_stopped(record: Record, timeout: float | None) -> bool:
    """Wait until the record no longer runs (monitor recorded it). True if it stopped."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        try:
            state = live_state(record.reload(), reconcile_dead=True)
        except NotFound:
            return True
        if state.get("Status") not in RUNNING_STATES:
            return True
        if deadline is not None and time.monotonic() >= deadline:
            return False
        time.sleep(0.01)


def stop(record: Record, timeout: int | None = None, sig: int | None = None) -> None:
    state = live_state(record)
    if state.get("Status") not in RUNNING_STATES:
        return
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
            _event(record, "kill", signal=sig or stop_signal(record))
            runtime.kill(record.id, sig or stop_signal(record))
        except MinidockerError:
            pass
        if timeout < 0:
            timeout = 10**9
        if wait_stopped(record, timeout):
            _event(record, "stop")
            return
    try:
        _event(record, "kill", signal=9)
        runtime.kill(record.id, 9, all_processes=True)
    except MinidockerError:
        pass
    if not wait_stopped(record, 30):
        raise MinidockerError(f"container {record.id[:12]} did not stop after SIGKILL")
    _event(record, "stop")


def kill(record: Record, sig: int) -> None:
    state = live_state(record)
    if state.get("Status") not in ("running", "paused"):
        raise Conflict(f"cannot kill container: {record.id[:12]}: container "
                       f"{record.id} is not running")
    if sig in (9, 15):
        record.update(ManualStop=True)
    runtime_of(record).kill(record.id, sig)
    _event(record, "kill", signal=sig)


def remove(record: Record, force: bool = False, volumes: bool = False) -> None:
    live_state(record)  # reconciles a dead monitor's container first (takes the lock)
    with record.lock():
        state = record.reload().state
        status = state.get("Status")
        if status == "removing" and monitor_alive(state):
            raise Conflict(f"removal of container {record.name} is already in progress")
        if status in RUNNING_STATES and not alive(int(state.get("Pid") or 0),
                                                  int(state.get("PidStart") or 0)):
            status = "exited"
        if status in RUNNING_STATES and not force:
            raise Conflict(f"cannot remove container \"{record.name}\": container is "
                               f"{status}: stop the container before removing or force "
                               "remove")
        state["Status"] = "removing"
        record.save_state(state)
    if status in RUNNING_STATES:
        runtime = runtime_of(record)
        try:
            runtime.resume(record.id) if status == "paused" else None
        except MinidockerError:
            pass
        try:
            runtime.kill(record.id, 9, all_processes=True)
        except MinidockerError:
            pass
        deadline = time.monotonic() + 15
        while monitor_alive(state) and time.monotonic() < deadline:
            time.sleep(0.01)
        if monitor_alive(state):  # a stuck monitor must not keep the container's files
            try:
                os.kill(int(state["MonitorPid"]), 9)
            except OSError:
                pass
        try:
            runtime.delete(record.id)
        except MinidockerError:
            pass
        network_detach(record)
    remove_files(record, volumes)


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
    name = record.name
    _event(record, "destroy")
    _remove_tree(record.dir)
    Records(record.root).release_name(name, record.id)


def _remove_tree(path: str) -> None:
    """shutil.rmtree(path, ignore_errors=True) without importing shutil (with bz2 and lzma:
    1.5 ms on every `run --rm`). By directory fds, never following a symlink, like it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return  # gone, or a symlink or file: rmtree leaves those too
    try:
        _remove_contents(fd)
    finally:
        os.close(fd)
    try:
        os.rmdir(path)
    except OSError:
        pass


def _remove_contents(fd: int) -> None:
    try:
        entries = list(os.scandir(fd))
    except OSError:
        return
    for entry in entries:
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
        except OSError:
            is_dir = False
        if is_dir:
            try:
                sub = os.open(entry.name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW |
                              os.O_CLOEXEC, dir_fd=fd)
            except OSError:
                continue
            try:
                _remove_contents(sub)
            finally:
                os.close(sub)
            try:
                os.rmdir(entry.name, dir_fd=fd)
            except OSError:
                pass
        else:
            try:
                os.unlink(entry.name, dir_fd=fd)
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
    _event(record, "pause")


def unpause(record: Record) -> None:
    state = live_state(record)
    if state.get("Status") != "paused":
        raise Conflict(f"container {record.id} is not paused")
    runtime_of(record).resume(record.id)
    record.update(Status="running", Paused=False)
    _event(record, "unpause")


def rootfs_view(record: Record) -> tuple[str, bool]:
    """A path where the container's filesystem is visible; True if we mounted it (the
    caller unmounts with unmount_rootfs when done)."""
    target = record.path("rootfs")
    if os.path.ismount(target):
        return target, False
    mount_rootfs(record)
    return target, True


def adopt(record: Record) -> None:
    """Start a monitor for a running container whose monitor died (kill -9, OOM killer):
    it reopens the stdout/stderr FIFOs (the container's output waited in them) and
    watches the init through a pidfd; the exit status is read from the zombie."""
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
        if fork_is_safe():
            child = os.fork()
            if child == 0:  # pragma: no cover - runs in the forked processes
                try:
                    os.close(lock.fd)
                    if os.fork() != 0:
                        os._exit(0)
                    _adopter_main(record, pid)
                finally:
                    os._exit(1)
        else:  # a server's thread: a fresh interpreter does the same (spawned_adopter)
            src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
            boot = (f"import sys; sys.path.insert(0, {src!r}); from minidocker.engine."
                    "lifecycle import spawned_adopter; spawned_adopter(sys.argv[1:])")
            child = os.posix_spawn(sys.executable, [sys.executable, "-S", "-I", "-c", boot,
                                                    record.root, record.id, str(pid)],
                                   dict(os.environ))
        os.waitpid(child, 0)
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and not monitor_alive(record.reload().state):
            time.sleep(0.005)
    finally:
        lock.__exit__()


def spawned_adopter(argv: list[str]) -> None:
    """adopt() from a process that may not fork: ROOT ID PID."""
    if os.fork() != 0:
        os._exit(0)
    try:
        _adopter_main(Record(argv[0], argv[1]), int(argv[2]))
    finally:
        os._exit(1)


def _adopter_main(record: Record, pid: int) -> None:
    import sys
    os.setsid()
    from minidocker.linux import libc
    # not the parent of this init, but of the next one if the restart policy starts it
    libc.prctl(libc.PR_SET_CHILD_SUBREAPER, 1, what="prctl(PR_SET_CHILD_SUBREAPER)")
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    os.chdir(record.dir)
    listener = _listen(record)
    outputs = open_outputs(record.root, record.id)
    me = proc_stat(os.getpid())
    record.update(MonitorPid=os.getpid(), MonitorStart=me[1] if me else 0)
    for fd in [*outputs, listener.fileno()]:
        os.set_inheritable(fd, True)
    out_fd = next((fd for fd, kind in outputs.items() if kind == 1), -1)
    err_fd = next((fd for fd, kind in outputs.items() if kind == 2), -1)
    os.execv(sys.executable, [*monitor_command(), record.root, record.id, str(pid),
                              str(out_fd), str(err_fd), "-1", "-1", str(listener.fileno()),
                              record.path(record.id + "-json.log"), monitor_options(record)])
