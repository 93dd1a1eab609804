"""Container state: the state directory, its atomic state file, and live status.

Layout of `<root>/<id>/`:
    state.json   everything needed to rebuild the container object (written atomically
                 at the end of create; its absence while `creating` exists means creating)
    creating     pid of the `create` process while it runs
    exec.fifo    present from create until start; init blocks on it
The directory is made as `<root>/.new-<pid>-<start>-<random>` with `creating` and
`exec.fifo` in it, then renamed into place: it never exists under its id without them
while its create runs.
The status is never taken from the file alone: it is recomputed from the init pid, its
start time (guards against pid reuse), the exec fifo and the freezer.
"""

from __future__ import annotations

import errno
import fcntl
import os

from minidocker import OCI_VERSION
from minidocker.errors import Conflict, NotFound, UsageError
from minidocker.runtime.cgroup import paused

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_ID_EXTRA = set("_+.-")


class Status(str):
    """One of the runtime-spec statuses, with the rules of what each allows.
    (A plain str subclass: enum would cost import time on every runtime call.)"""

    CREATING: Status
    CREATED: Status
    RUNNING: Status
    PAUSED: Status
    STOPPED: Status

    @property
    def value(self) -> str:
        return str.__str__(self)

    def can_start(self) -> bool:
        return self == "created"

    def can_kill(self) -> bool:
        return self in ("created", "running", "paused")

    def can_exec(self) -> bool:
        return self in ("created", "running")

    def can_delete(self) -> bool:
        return self in ("created", "stopped")


Status.CREATING = Status("creating")
Status.CREATED = Status("created")
Status.RUNNING = Status("running")
Status.PAUSED = Status("paused")
Status.STOPPED = Status("stopped")


def default_root() -> str:
    if os.geteuid() == 0:
        return "/run/minidocker-runtime"
    runtime_dir = os.environ.get("XDG_RUNTIME_DIR") or f"/tmp/minidocker-runtime-{os.getuid()}"
    return os.path.join(runtime_dir, "minidocker-runtime")


def valid_id(cid: str) -> bool:
    return bool(cid) and cid not in (".", "..") and all(
        c.isascii() and (c.isalnum() or c in _ID_EXTRA) for c in cid)


def check_id(cid: str) -> str:
    if not valid_id(cid):
        raise UsageError(f"invalid container id {cid!r}: use letters, digits, _ + . -")
    return cid


class State:
    """What state.json holds: enough to rebuild the container object later."""

    FIELDS = ("id", "bundle", "rootfs", "pid", "pid_start", "created", "owner", "config",
              "cgroup", "namespaces", "no_pivot")

    def __init__(self, id: str, bundle: str, rootfs: str, pid: int = 0, pid_start: int = 0,
                 created: str = "", owner: str = "", config: dict[str, Any] | None = None,
                 cgroup: dict[str, Any] | None = None,
                 namespaces: dict[str, str] | None = None, no_pivot: bool = False,
                 **_unknown: Any):
        self.id = id
        self.bundle = bundle
        self.rootfs = rootfs
        self.pid = pid
        self.pid_start = pid_start
        self.created = created
        self.owner = owner
        self.config = config or {}
        self.cgroup = cgroup
        self.namespaces = namespaces or {}
        self.no_pivot = no_pivot

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.FIELDS}


class Container:
    """A container's state directory under a runtime root."""

    def __init__(self, root: str, cid: str):
        self.root = root
        self.id = check_id(cid)
        self.dir = os.path.join(root, cid)
        self.state_file = os.path.join(self.dir, "state.json")
        self.fifo = os.path.join(self.dir, "exec.fifo")
        self._state: State | None = None

    # ---- loading and saving ----

    def exists(self) -> bool:
        return os.path.isdir(self.dir)

    @property
    def state(self) -> State:
        if self._state is None:
            from minidocker import jsonfast as json  # not for a container that is not there
            try:
                with open(self.state_file) as f:
                    data = json.loads(f.read())
            except FileNotFoundError:
                if self.exists():
                    raise Conflict(f"container {self.id} is still being created")
                raise NotFound(f"container {self.id} does not exist")
            except ValueError as e:
                raise Conflict(f"container {self.id}: state file is corrupt: {e}")
            self._state = State(**data)
        return self._state

    def save(self, state: State) -> None:
        """Atomically (a reader sees the old file or the new one), without fsync, as runc
        saves its state: the file describes processes, which do not outlive the machine,
        and after a crash a torn file reads as corrupt, which `delete` removes (the
        cgroup.json next to it still names the cgroups). On a disk-backed root (/run on
        ext4 here) the fsync cost every create 1-1.5 ms."""
        self.publish(state, self.stage(state))

    def stage(self, state: State) -> str:
        """The first half of save(): the state file written under a temporary name, which
        it returns. `create` writes it while the init finishes its setup, and publishes
        it once the init is READY (a state file makes the container `created`)."""
        from minidocker import jsonfast as json
        return write_staged(self.state_file, json.dumps(state.to_dict()).encode())

    def publish(self, state: State, staged: str) -> None:
        """The second half of save(): the staged file becomes the state file."""
        publish_staged(staged, self.state_file)
        self._state = state

    def lock(self) -> int:
        """An exclusive flock on the state directory, held until the fd is closed."""
        try:
            fd = os.open(self.dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise NotFound(f"container {self.id} does not exist")
        fcntl.flock(fd, fcntl.LOCK_EX)
        return fd

    def remove_dir(self) -> None:
        remove_tree(self.dir)

    # ---- live status ----

    def status(self) -> Status:
        try:
            state = self.state
        except Conflict:
            if _creator_alive(self.dir):
                return Status.CREATING
            return Status.STOPPED
        if not state.pid or not process_matches(state.pid, state.pid_start):
            return Status.STOPPED
        if os.path.exists(self.fifo):
            return Status.CREATED
        if state.cgroup and paused(state.cgroup):
            return Status.PAUSED
        return Status.RUNNING

    def oci_state(self) -> dict[str, Any]:
        """The runtime-spec state document."""
        status = self.status()
        try:
            state = self.state
        except Conflict:
            return {"ociVersion": OCI_VERSION, "id": self.id, "status": status.value,
                    "pid": 0, "bundle": ""}
        doc: dict[str, Any] = {
            "ociVersion": OCI_VERSION, "id": self.id, "status": status.value,
            "pid": state.pid if status != Status.STOPPED else 0,
            "bundle": state.bundle,
        }
        annotations = state.config.get("annotations")
        if annotations:
            doc["annotations"] = annotations
        return doc


def remove_tree(directory: str) -> None:
    """Remove a state directory (it holds only files of ours; no shutil import)."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return
    for name in names:
        try:
            os.unlink(os.path.join(directory, name))
        except IsADirectoryError:
            import shutil
            shutil.rmtree(os.path.join(directory, name), ignore_errors=True)
        except FileNotFoundError:
            pass
    try:
        os.rmdir(directory)
    except FileNotFoundError:
        pass


def sweep_dead_creates(root: str) -> None:
    """Remove the `.new-<pid>-<start time>-<random>` directories (a state directory
    before its rename into place) of creates killed before that rename: their creator,
    named by the directory's name, is gone."""
    try:
        names = [n for n in os.listdir(root) if n.startswith(".new-")]
    except OSError:
        return
    for name in names:
        parts = name[5:].split("-")
        if len(parts) == 3 and parts[0].isdigit() and parts[1].isdigit() and \
                not process_matches(int(parts[0]), int(parts[1])):
            remove_tree(os.path.join(root, name))


def _creator_alive(directory: str) -> bool:
    try:
        with open(os.path.join(directory, "creating")) as f:
            pid, start = (int(x) for x in f.read().split())
    except (OSError, ValueError):
        return False
    return process_matches(pid, start)


def proc_stat(pid: int) -> tuple[str, int] | None:
    """(state letter, start time in clock ticks) of a process, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2:].split()
    return fields[0].decode(), int(fields[19])


def process_matches(pid: int, start: int) -> bool:
    """True if `pid` is alive (not a zombie) and is the process that started at `start`."""
    st = proc_stat(pid)
    return st is not None and st[0] not in ("Z", "X") and st[1] == start


def write_atomic(path: str, data: bytes, mode: int = 0o600, durable: bool = True) -> None:
    """Write via a temp file and rename; `durable` fsyncs first (the runtime's own files
    skip it: see Container.save)."""
    publish_staged(write_staged(path, data, mode, durable), path)


def write_staged(path: str, data: bytes, mode: int = 0o600, durable: bool = False) -> str:
    """Write `data` to a temp file next to `path` and return its name (write_atomic
    renames it); a full disk leaves no temp file behind."""
    tmp = f"{path}.tmp.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        try:
            while data:
                data = data[os.write(fd, data):]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        _unlink_quietly(tmp)
        raise
    return tmp


def publish_staged(tmp: str, path: str) -> None:
    """Rename a write_staged() file into place; if that fails, the temp file goes."""
    try:
        os.rename(tmp, path)
    except BaseException:
        _unlink_quietly(tmp)
        raise


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def list_containers(root: str) -> list[Container]:
    try:
        names = sorted(os.listdir(root))
    except FileNotFoundError:
        return []
    except OSError as e:
        if e.errno == errno.EACCES:
            raise UsageError(f"cannot read {root}: permission denied")
        raise
    out = []
    for name in names:
        if valid_id(name) and not name.startswith(".") and \
                os.path.isdir(os.path.join(root, name)):
            out.append(Container(root, name))
    return out
