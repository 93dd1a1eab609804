"""Exec operations of the service layer (Docker's POST /containers/{id}/exec, /exec/{id}/start,
/exec/{id}/json, /exec/{id}/resize): a process started in a running container.

An exec is recorded in the container's directory (`execs/<exec id>.json`: its config,
pid, exit code) so that any process can start or inspect what another created (the API
server's create and start are two requests; the CLI's `exec` does both). Records of
finished execs older than EXEC_TTL are dropped when the next one is created, and all go
with the container.

How the process is started:
- `inherit_stdio`: with the caller's own fds 0, 1, 2 (the CLI: its terminal stays its
  own, nothing is copied), in-process (a fork) when the context may fork, else through
  the runtime's command line;
- otherwise (the API server): through the runtime's command line with pipes, or a pty
  with Tty, returned as an ExecStream. The runtime's CLI is a fresh process started by
  subprocess (fork+exec in C), so a threaded server never forks Python.
"""

from __future__ import annotations

import os

from minidocker.errors import Conflict, NotFound, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from minidocker.engine.records import Record
    from minidocker.engine.service import Context
    from minidocker.engine.service.streams import ExecStream
    from minidocker.engine.service.types import ExecConfig, ExecInspect

EXEC_TTL = 300.0  # seconds a finished exec stays inspectable (Docker keeps them 5 min too)


def _dir(record: Record) -> str:
    return record.path("execs")


def create(ctx: Context, ref: str, config: ExecConfig | dict[str, Any]) -> dict[str, str]:
    """A new exec in the running container `ref`: {"Id": exec id}. Conflict if the
    container is paused or not running; UsageError without a command."""
    _, doc = _create(ctx, ref, config)
    return {"Id": doc["ID"]}


def _create(ctx: Context, ref: str, config: ExecConfig | dict[str, Any]
            ) -> tuple[Record, dict[str, Any]]:
    from minidocker.engine.liveness import live_state
    from minidocker.engine.service import validate
    from minidocker.engine.service.containers import find
    record = find(ctx, ref)
    cmd = list(config.get("Cmd") or [])
    if not cmd:
        raise UsageError("no exec command specified")
    validate.config({k: config.get(k) for k in ("Env", "WorkingDir", "User")})
    state = live_state(record)
    if state.get("Status") == "paused":
        raise Conflict(f"container {record.id} is paused, unpause the container before exec")
    if state.get("Status") != "running":
        raise Conflict(f"container {record.id} is not running")
    exec_id = os.urandom(32).hex()
    doc = {"ID": exec_id, "ContainerID": record.id, "Config": dict(config), "Running": False,
           "ExitCode": None, "Pid": 0, "Started": False, "Finished": 0.0}
    try:
        os.mkdir(_dir(record), 0o700)
    except FileExistsError:
        _expire(record)
    _save(record, exec_id, doc)
    return record, doc


def _save(record: Record, exec_id: str, doc: dict[str, Any]) -> None:
    from minidocker import jsonfast
    from minidocker.engine.records import write_atomic
    write_atomic(os.path.join(_dir(record), exec_id + ".json"),
                 jsonfast.dumps(doc).encode(), sync=False)


def _expire(record: Record) -> None:
    import time

    from minidocker import jsonfast
    limit = time.time() - EXEC_TTL
    try:
        names = os.listdir(_dir(record))
    except OSError:
        return
    for name in names:
        path = os.path.join(_dir(record), name)
        try:
            if os.stat(path).st_mtime >= limit:
                continue
            with open(path, "rb") as f:
                doc = jsonfast.loads(f.read())
            if doc.get("Running") and _pid_alive(doc):
                continue
            os.unlink(path)
        except (OSError, ValueError):
            continue


def _load(ctx: Context, exec_id: str) -> tuple[Record, dict[str, Any]]:
    from minidocker import jsonfast
    from minidocker.engine.records import Record, Records
    if not exec_id or not all(c in "0123456789abcdef" for c in exec_id) or len(exec_id) != 64:
        raise NotFound(f"no such exec instance: {exec_id}")
    for cid in Records(ctx.root).ids():
        record = Record(ctx.root, cid)
        try:
            with open(os.path.join(_dir(record), exec_id + ".json"), "rb") as f:
                return record, jsonfast.loads(f.read())
        except (OSError, ValueError):
            continue
    raise NotFound(f"no such exec instance: {exec_id}")


def running_ids(record: Record) -> list[str]:
    """The ids of the container's execs that run (inspect's ExecIDs, as Docker's)."""
    from minidocker import jsonfast
    out: list[str] = []
    try:
        names = sorted(os.listdir(_dir(record)))
    except OSError:
        return out
    for name in names:
        try:
            with open(os.path.join(_dir(record), name), "rb") as f:
                doc = jsonfast.loads(f.read())
        except (OSError, ValueError):
            continue
        if doc.get("Running") and _pid_alive(doc):
            out.append(str(doc["ID"]))
    return out


def _pid_alive(doc: dict[str, Any]) -> bool:
    from minidocker.engine.liveness import alive
    return alive(int(doc.get("Pid") or 0), int(doc.get("PidStart") or 0))


def process(record: Record, config: ExecConfig | dict[str, Any]) -> dict[str, Any]:
    """The OCI process of an exec: the container's own (its env, user, capabilities) with
    the exec's command, env on top, tty, working dir, user, privileges."""
    import json

    from minidocker.engine import bundle
    with open(record.path("bundle", "config.json")) as f:
        spec = json.load(f)
    proc = dict(spec["process"])
    env: dict[str, str] = {e.partition("=")[0]: e for e in proc.get("env") or []}
    for item in config.get("Env") or []:
        key, sep, _ = item.partition("=")
        env[key] = item if sep else f"{key}="
    if config.get("Tty") and "TERM" not in env:  # as Docker's exec -t
        env["TERM"] = "TERM=xterm"
    proc["env"] = list(env.values())
    proc["args"] = list(config.get("Cmd") or [])
    proc["terminal"] = bool(config.get("Tty"))
    proc.pop("consoleSize", None)
    if config.get("WorkingDir"):
        proc["cwd"] = config["WorkingDir"]
    if config.get("User"):
        proc["user"] = bundle.resolve_user(str(config["User"]), [record.path("rootfs")])
    if config.get("Privileged"):
        proc["capabilities"] = {k: bundle.host_capabilities()
                                for k in ("bounding", "effective", "permitted")}
    return proc


def start(ctx: Context, exec_id: str, *, detach: bool = False, inherit_stdio: bool = False,
          tty_size: tuple[int, int] | None = None) -> int | ExecStream | None:
    """Start the exec. With `inherit_stdio` the process gets the caller's fds 0/1/2 and
    the call returns its exit code when it ends (0 at once with `detach`). Otherwise:
    None with `detach`, else an ExecStream of its stdio (wait() gives the exit code).
    Conflict if it was started already or its container no longer runs."""
    record, doc = _load(ctx, exec_id)
    return _start(ctx, record, doc, detach, inherit_stdio, tty_size)


def _start(ctx: Context, record: Record, doc: dict[str, Any], detach: bool,
           inherit_stdio: bool, tty_size: tuple[int, int] | None
           ) -> int | ExecStream | None:
    from minidocker.engine.liveness import live_state
    exec_id = doc["ID"]
    if doc.get("Started"):
        raise Conflict(f"exec {exec_id[:12]} has already been started")
    if live_state(record).get("Status") != "running":
        raise Conflict(f"container {record.id} is not running")
    config = doc.get("Config") or {}
    proc = process(record, config)
    doc.update(Started=True, Running=True)
    _save(record, exec_id, doc)
    if detach:
        _start_detached(record, exec_id, proc)
        return 0 if inherit_stdio else None
    if inherit_stdio:
        code = _run_inherited(ctx, record, exec_id, proc)
        _finish(record, exec_id, code)
        return code
    return _run_streamed(record, exec_id, proc, config, tty_size)


def _start_detached(record: Record, exec_id: str, proc: dict[str, Any]) -> None:
    """A detached exec (`exec -d`, Detach: true), as dockerd's shim keeps one: a watcher
    (a fresh interpreter in a session of its own, not our child) runs the runtime's exec
    with no stdio, records the process's pid once it runs and its exit code when it
    ends. Returns once the process runs; the runtime's error (and its exit code 126 or
    127) if it could not be started."""
    import subprocess
    import sys

    from minidocker.errors import MinidockerError
    proc = dict(proc, terminal=False)  # no one to talk to: Docker gives it no terminal
    argv, cleanup = _runtime_exec_argv(record, proc, None)
    base = os.path.join(record.dir, f"exec-{exec_id[:12]}")
    cut = argv.index("exec")
    argv[cut:cut + 1] = ["--log", base + ".log", "--log-format", "json", "exec",
                         "--pid-file", base + ".pid"]
    report_r, report_w = os.pipe()
    src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))))
    boot = (f"import sys; sys.path.insert(0, {src!r}); from minidocker.engine.service."
            "execs import watch_main; watch_main(sys.argv[1:])")
    try:
        watcher = subprocess.Popen(
            [sys.executable, "-S", "-I", "-c", boot, record.root, record.id, exec_id, base,
             str(report_w), *argv], pass_fds=[report_w], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError:
        os.close(report_r)
        cleanup()
        raise
    finally:
        os.close(report_w)
    with os.fdopen(report_r, "rb") as f:
        report = f.read().decode(errors="replace")
    watcher.wait()  # the watcher's first process: its second does the work
    if report != "ok":
        code_text, _, why = report.partition(" ")
        code = int(code_text) if code_text.isdigit() else 126
        raise MinidockerError(f"exec failed: {why or 'the exec watcher died'}",
                              exit_code=127 if code == 127 else 126)


def watch_main(argv: list[str]) -> None:
    """The watcher of a detached exec: ROOT ID EXEC_ID BASE REPORT_FD RUNTIME_ARGV..."""
    import subprocess
    import time

    from minidocker.engine.liveness import proc_stat
    from minidocker.engine.records import Record
    from minidocker.engine.runtimes import _last_error
    root, cid, exec_id, base, report = argv[0], argv[1], argv[2], argv[3], int(argv[4])
    cmd = argv[5:]
    if os.fork() != 0:
        os._exit(0)
    record = Record(root, cid)
    proc_file = cmd[cmd.index("--process") + 1]

    def written() -> int:
        """The runtime writes the pid file once the process runs (never if it could not
        be started)."""
        try:
            with open(base + ".pid") as f:
                return int(f.read().strip() or 0)
        except (OSError, ValueError):
            return 0

    try:
        runtime = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        pid = 0
        while not pid and runtime.poll() is None:
            pid = written()
            if not pid:
                time.sleep(0.002)
        pid = pid or written()  # a quick process may have ended before we looked
        if pid:
            _, doc = _load_one(record, exec_id)
            stat = proc_stat(pid)
            doc.update(Pid=pid, PidStart=stat[1] if stat else 0)
            _save(record, exec_id, doc)
            os.write(report, b"ok")
            os.close(report)
            report = -1
        code = runtime.wait()
        if report >= 0:  # it ended before it ran: why
            os.write(report, f"{code} {_last_error(base + '.log', code)}".encode())
        _finish(record, exec_id, code)
    finally:
        for path in (proc_file, base + ".pid", base + ".log"):
            try:
                os.unlink(path)
            except OSError:
                pass
        os._exit(0)


def _finish(record: Record, exec_id: str, code: int | None) -> None:
    import time
    try:
        _, doc = _load_one(record, exec_id)
    except NotFound:
        return
    doc.update(Running=False, ExitCode=code, Finished=time.time())
    try:
        _save(record, exec_id, doc)
    except OSError:
        pass  # the container was removed meanwhile


def _load_one(record: Record, exec_id: str) -> tuple[Record, dict[str, Any]]:
    from minidocker import jsonfast
    try:
        with open(os.path.join(_dir(record), exec_id + ".json"), "rb") as f:
            return record, jsonfast.loads(f.read())
    except (OSError, ValueError):
        raise NotFound(f"no such exec instance: {exec_id}")


def _run_inherited(ctx: Context, record: Record, exec_id: str, proc: dict[str, Any]) -> int:
    from minidocker.engine.liveness import runtime_of
    runtime = runtime_of(record)
    if ctx.may_fork() or not hasattr(runtime, "exec_argv"):
        return int(runtime.exec(record.id, proc, False))
    import subprocess
    argv, cleanup = _runtime_exec_argv(record, proc, None)
    try:
        return subprocess.run(argv).returncode
    finally:
        cleanup()


def _runtime_exec_argv(record: Record, proc: dict[str, Any], console_socket: str | None
                       ) -> tuple[list[str], Any]:
    """The runtime's `exec --process FILE [--tty --console-socket S] ID`, and a
    function that removes the process file."""
    import json
    import tempfile

    from minidocker.engine.liveness import runtime_of
    runtime = runtime_of(record)
    fd, path = tempfile.mkstemp(prefix="exec-", suffix=".json", dir=record.dir)
    with os.fdopen(fd, "w") as f:
        json.dump(proc, f)
    argv = [*runtime.exec_argv(), "exec", "--process", path]
    if console_socket is not None:
        argv += ["--tty", "--console-socket", console_socket]
    argv.append(record.id)

    def cleanup() -> None:
        try:
            os.unlink(path)
        except OSError:
            pass

    return argv, cleanup


class _Session:
    """A streamed exec's runtime process: wait() records the exit code for inspect."""

    def __init__(self, popen: Any, record: Record, exec_id: str, cleanup: Any):
        self.popen, self.record, self.exec_id, self.cleanup = popen, record, exec_id, cleanup
        self.code: int | None = None

    def wait(self) -> int:
        if self.code is None:
            self.code = int(self.popen.wait())
            self.cleanup()
            _finish(self.record, self.exec_id, self.code)
        return self.code


def _run_streamed(record: Record, exec_id: str, proc: dict[str, Any], config: dict[str, Any],
                  tty_size: tuple[int, int] | None) -> ExecStream:
    import subprocess
    import tempfile

    from minidocker.engine.service.streams import ExecStream
    tty = bool(config.get("Tty"))
    listener = None
    tmp = None
    socket_path = None
    if tty:
        import socket
        tmp = tempfile.mkdtemp(prefix="minidocker-console-")  # sun_path is short
        socket_path = os.path.join(tmp, "c.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(socket_path)
        listener.listen(1)
    argv, cleanup = _runtime_exec_argv(record, proc, socket_path)
    stdin_wanted = bool(config.get("AttachStdin"))
    try:
        if tty:
            popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
            assert listener is not None
            listener.settimeout(30)
            try:
                conn, _ = listener.accept()
            except OSError:
                popen.kill()
                popen.wait()
                cleanup()
                raise Conflict(f"exec {exec_id[:12]}: the runtime sent no terminal")
            from minidocker.runtime.console import receive_master
            master = receive_master(conn)
            conn.close()
            stream = ExecStream(_Session(popen, record, exec_id, cleanup), tty=True,
                                stdin_fd=-1, stdout_fd=master, stderr_fd=-1)
            if tty_size:
                stream.resize(*tty_size)
            return stream
        popen = subprocess.Popen(argv, stdin=subprocess.PIPE if stdin_wanted else
                                 subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
        stdin_fd = os.dup(popen.stdin.fileno()) if popen.stdin is not None else -1
        out_fd, err_fd = os.dup(popen.stdout.fileno()), os.dup(popen.stderr.fileno())  # type: ignore[union-attr]
        for pipe in (popen.stdin, popen.stdout, popen.stderr):
            if pipe is not None:
                pipe.close()
        return ExecStream(_Session(popen, record, exec_id, cleanup), tty=False,
                          stdin_fd=stdin_fd, stdout_fd=out_fd, stderr_fd=err_fd)
    finally:
        if listener is not None:
            listener.close()
        if tmp is not None:
            import shutil
            shutil.rmtree(tmp, ignore_errors=True)


def inspect(ctx: Context, exec_id: str) -> ExecInspect:
    """GET /exec/{id}/json."""
    record, doc = _load(ctx, exec_id)
    config = doc.get("Config") or {}
    running = bool(doc.get("Running"))
    cmd = list(config.get("Cmd") or [])
    return {"ID": exec_id, "ContainerID": record.id, "Running": running,
            "ExitCode": doc.get("ExitCode"), "Pid": int(doc.get("Pid") or 0),
            "OpenStdin": bool(config.get("AttachStdin")),
            "OpenStdout": bool(config.get("AttachStdout", True)),
            "OpenStderr": bool(config.get("AttachStderr", True)),
            "CanRemove": False, "DetachKeys": str(config.get("DetachKeys") or ""),
            "ProcessConfig": {"tty": bool(config.get("Tty")),
                              "entrypoint": cmd[0] if cmd else "",
                              "arguments": cmd[1:], "privileged": bool(config.get("Privileged")),
                              "user": str(config.get("User") or "")}}


def run(ctx: Context, ref: str, config: ExecConfig | dict[str, Any], *,
        detach: bool = False) -> int:
    """create + start with the caller's stdio (`docker exec`, and health checks): the
    exit code (0 at once with `detach`)."""
    record, doc = _create(ctx, ref, config)
    result = _start(ctx, record, doc, detach, True, None)
    return int(result or 0)  # type: ignore[arg-type]
