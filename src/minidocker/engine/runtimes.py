"""The engine's one interface to an OCI runtime, with two implementations:
InProcess (calls minidocker.runtime directly: the default, no exec) and Binary (any
runc-compatible executable through its command line: `--runtime runc`).

create() runs with the caller's fds 0/1/2 as the container's stdio (both kinds inherit
them), and must be called from a child subreaper so that the init can be waited for.
"""

from __future__ import annotations

import os

from minidocker.errors import MinidockerError, NotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    import socket
    from typing import Any

DEFAULT = "minidocker"


def get(name: str, root: str) -> InProcess | Binary:
    if not name or name in (DEFAULT, "minidocker-runtime"):
        return InProcess(os.path.join(root, "runtime"))
    import shutil
    path = name if "/" in name else shutil.which(name)
    # a directory is "executable" too: it would fail only when run (rm -f included)
    if not path or not os.path.isfile(path) or not os.access(path, os.X_OK):
        raise MinidockerError(f"unknown or invalid runtime name: {name}",
                              hint="give the name of a runc-compatible binary in PATH, "
                                   "or its path")
    return Binary(path, os.path.join(root, "runtime-" + os.path.basename(path)))


def _state_ids(root: str) -> list[str]:
    """The containers a runtime keeps state of (one directory each under its root)."""
    try:
        return [n for n in os.listdir(root) if os.path.isdir(os.path.join(root, n))]
    except FileNotFoundError:
        return []


class InProcess:
    name = DEFAULT

    def __init__(self, root: str):
        self.root = root

    def ids(self) -> list[str]:
        return _state_ids(self.root)

    def create(self, cid: str, bundle: str, console: socket.socket | None) -> int:
        from minidocker.runtime.create import CreateOptions, create
        opts = CreateOptions(bundle=bundle)
        opts.console_pair = console
        return create(self.root, cid, opts).state.pid

    def _load(self, cid: str) -> Any:
        from minidocker.runtime import operations
        return operations.load(self.root, cid)

    def start(self, cid: str) -> None:
        from minidocker.runtime import operations
        operations.start(self._load(cid))

    def status(self, cid: str) -> str | None:
        try:
            return str(self._load(cid).status())
        except NotFound:
            return None

    def kill(self, cid: str, sig: int, all_processes: bool = False) -> None:
        from minidocker.runtime import operations
        operations.kill(self._load(cid), sig, all_processes)

    def init(self, cid: str) -> tuple[int, int] | None:
        """The init (pid, start time) of a running or paused container, by the runtime's
        own state (checked against the process), or None."""
        try:
            container = self._load(cid)
            if str(container.status()) not in ("running", "paused"):
                return None
            return container.state.pid, container.state.pid_start
        except (MinidockerError, OSError):
            return None

    def delete(self, cid: str) -> None:
        from minidocker.runtime import operations
        try:
            container = self._load(cid)
        except NotFound:
            return
        operations.delete(container, force=True)

    def sweep(self) -> None:
        """Remove what creates killed before their state directory showed left (prune)."""
        from minidocker.runtime.state import sweep_dead_creates
        sweep_dead_creates(self.root)

    def pause(self, cid: str) -> None:
        from minidocker.runtime import operations
        operations.pause(self._load(cid))

    def resume(self, cid: str) -> None:
        from minidocker.runtime import operations
        operations.resume(self._load(cid))

    def pids(self, cid: str) -> list[int]:
        from minidocker.runtime import operations
        try:
            return operations.pids_of(self._load(cid))
        except NotFound:
            return []

    def update(self, cid: str, resources: dict[str, Any]) -> None:
        """Change the container's resources (OCI linux.resources) while it runs."""
        from minidocker.runtime.update import apply
        apply(self._load(cid), resources)

    def cgroup(self, cid: str) -> Any:
        """The container's cgroup manager (stats, OOM count), or None."""
        try:
            state = self._load(cid).state
        except MinidockerError:
            return None
        from minidocker.runtime.cgroup import from_state
        return from_state(state.cgroup)

    def exec_argv(self) -> list[str]:
        """The runc-style command line of this runtime, up to the sub-command: our own
        runtime's CLI in a fresh interpreter (for callers that may not fork)."""
        import sys
        src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        boot = (f"import sys; sys.path.insert(0, {src!r}); sys.argv[0] = "
                "'minidocker-runtime'; from minidocker.runtime.cli import entry; entry()")
        return [sys.executable, "-S", "-I", "-c", boot, "--root", self.root]

    def exec(self, cid: str, proc: dict[str, Any], detach: bool) -> int:
        """Run `proc` in the container: its exit code (0 at once when detached)."""
        from minidocker.linux import libc
        from minidocker.runtime.exec import exec_process
        from minidocker.runtime.run import wait_and_forward
        container = self._load(cid)
        ours = theirs = None
        if proc.get("terminal"):
            import socket

            # imported now: the exec child imports nothing once in the container's mounts
            from minidocker.runtime import console  # noqa: F401
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        if not detach:
            libc.prctl(libc.PR_SET_CHILD_SUBREAPER, 1, what="prctl(PR_SET_CHILD_SUBREAPER)")
        try:
            pid = exec_process(container, proc, console_socket=None, console_pair=theirs,
                               preserve_fds=0)
        finally:
            if theirs is not None:
                theirs.close()
        master = None
        if ours is not None:
            from minidocker.runtime import console
            master = console.receive_master(ours)
            ours.close()
            if os.isatty(0):
                console.copy_window_size(0, master)
        if detach:
            return 0
        return wait_and_forward(pid, master)


class Binary:
    """A runc-compatible runtime through its CLI (the calls containerd's shim makes)."""

    def __init__(self, path: str, root: str):
        self.path = path
        self.name = os.path.basename(path)
        self.root = root

    def ids(self) -> list[str]:
        return _state_ids(self.root)

    def _run(self, *args: str, check: bool = True, **kw: Any) -> Any:
        import subprocess
        kw.setdefault("stdin", subprocess.DEVNULL)
        kw.setdefault("capture_output", True)
        proc = subprocess.run([self.path, "--root", self.root, *args], **kw)
        if check and proc.returncode != 0:
            err = (proc.stderr or b"").decode(errors="replace").strip().splitlines()
            raise MinidockerError(f"{self.name} {args[0]}: "
                                  f"{err[-1] if err else 'exit status ' + str(proc.returncode)}")
        return proc

    def create(self, cid: str, bundle: str, console: socket.socket | None) -> int:
        import subprocess
        import tempfile
        pid_file = os.path.join(bundle, "init.pid")
        args = [self.path, "--root", self.root, "create", "--bundle", bundle,
                "--pid-file", pid_file]
        tmp = listener = None
        if console is not None:
            import socket as socket_mod
            tmp = tempfile.mkdtemp(prefix="minidocker-console-")
            path = os.path.join(tmp, "c.sock")
            listener = socket_mod.socket(socket_mod.AF_UNIX, socket_mod.SOCK_STREAM)
            listener.bind(path)
            listener.listen(1)
            args += ["--console-socket", path]
        args.append(cid)
        log = os.path.join(bundle, "runtime.log")
        args[1:1] = ["--log", log, "--log-format", "json"]
        try:
            # the container's stdio are ours (0/1/2): errors come through the --log file
            proc = subprocess.Popen(args, stdin=None if console is None else subprocess.DEVNULL)
            if listener is not None and console is not None:
                listener.settimeout(30)
                try:
                    conn, _ = listener.accept()
                except OSError:
                    conn = None
                if conn is not None:
                    from minidocker.runtime.console import receive_master, send_master
                    master = receive_master(conn)
                    conn.close()
                    send_master(console, master)  # hand it on, as our in-process one does
                    os.close(master)
            if proc.wait() != 0:
                why = _last_error(log, proc.returncode)
                code = 127 if ("executable file not found" in why or
                               "no such file or directory" in why) else \
                    126 if "permission denied" in why else 125
                raise MinidockerError(f"{self.name} create: {why}", exit_code=code)
            with open(pid_file) as f:
                return int(f.read().strip())
        finally:
            if listener is not None:
                listener.close()
            if tmp is not None:
                import shutil
                shutil.rmtree(tmp, ignore_errors=True)

    def start(self, cid: str) -> None:
        self._run("start", cid)

    def status(self, cid: str) -> str | None:
        proc = self._run("state", cid, check=False)
        if proc.returncode != 0:
            return None
        import json
        return str(json.loads(proc.stdout).get("status"))

    def init(self, cid: str) -> tuple[int, int] | None:
        """The init (pid, start time) of a running or paused container, by the runtime's
        `state`, or None."""
        import json

        from minidocker.engine.liveness import proc_stat
        proc = self._run("state", cid, check=False)
        try:
            doc = json.loads(proc.stdout) if proc.returncode == 0 else {}
            pid = int(doc.get("pid") or 0) if doc.get("status") in ("running", "paused") \
                else 0
        except (ValueError, TypeError, AttributeError):
            return None
        st = proc_stat(pid)
        return (pid, st[1]) if st is not None and st[0] not in ("Z", "X") else None

    def kill(self, cid: str, sig: int, all_processes: bool = False) -> None:
        self._run("kill", *(["--all"] if all_processes else []), cid, str(sig))

    def delete(self, cid: str) -> None:
        self._run("delete", "--force", cid, check=False)

    def sweep(self) -> None:
        """Nothing: what another runtime leaves in its root is its own business."""

    def pause(self, cid: str) -> None:
        self._run("pause", cid)

    def resume(self, cid: str) -> None:
        self._run("resume", cid)

    def update(self, cid: str, resources: dict[str, Any]) -> None:
        from minidocker import jsonfast
        self._run("update", "--resources", "-", cid, stdin=None,
                  input=jsonfast.dumps(resources).encode())

    def pids(self, cid: str) -> list[int]:
        proc = self._run("ps", "--format", "json", cid, check=False)
        if proc.returncode != 0:
            return []
        import json
        return [int(p) for p in json.loads(proc.stdout or b"[]") or []]

    def cgroup(self, cid: str) -> Any:
        import json
        proc = self._run("state", cid, check=False)
        if proc.returncode != 0:
            return None
        pid = json.loads(proc.stdout).get("pid")
        if not pid:
            return None
        return _cgroup_of_pid(pid)

    def exec_argv(self) -> list[str]:
        return [self.path, "--root", self.root]

    def exec(self, cid: str, proc: dict[str, Any], detach: bool) -> int:
        import json
        import subprocess
        import tempfile
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(proc, f)
        try:
            args = [self.path, "--root", self.root, "exec", "--process", f.name]
            if detach:
                args.append("--detach")
            if proc.get("terminal"):
                args.append("--tty")
            return subprocess.run(args + [cid]).returncode
        finally:
            os.unlink(f.name)


def _last_error(log: str, code: int) -> str:
    import json
    msg = f"exit status {code}"
    try:
        with open(log) as f:
            for line in f:
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if entry.get("level") == "error":
                    msg = str(entry.get("msg", msg))
    except OSError:
        pass
    return msg


def _cgroup_of_pid(pid: int) -> Any:
    """A read-only manager for the cgroup a process is in (for stats of runc containers)."""
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    path = None
    for line in lines:
        _, controllers, p = line.split(":", 2)
        if "memory" in controllers.split(",") or controllers == "":
            path = p
            if controllers:
                break
    if path is None:
        return None
    from minidocker.linux import cgroups
    try:
        return cgroups.open_manager(path, os.path.basename(path))
    except Exception:
        return None
