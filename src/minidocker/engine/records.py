"""Container records: `<root>/containers/<64-hex id>/` with config.json and state.json.

config.json is what the user asked for (written once at create, changed by rename);
state.json is what happened (status, pids, exit code, times), rewritten atomically under
the record's flock. Names are symlinks `<root>/containers/.names/<name>` -> id, created
with symlink(2), which fails if the name exists: two concurrent `run --name x` cannot
both win, and a crash never leaves a half-taken name.
"""

from __future__ import annotations

import fcntl
import os
import time

from minidocker import jsonfast  # not json: it imports re and enum (4 ms on every run)
from minidocker.engine import index
from minidocker.errors import Conflict, NotFound, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

NAMES_DIR = ".names"
_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


def default_root() -> str:
    return os.environ.get("MINIDOCKER_ROOT") or "/var/lib/minidocker"


def now() -> str:
    """RFC 3339 with nanoseconds, UTC (Docker's timestamps)."""
    ns = time.time_ns()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9)) + \
        f".{ns % 10**9:09d}Z"


ZERO_TIME = "0001-01-01T00:00:00Z"


def write_atomic(path: str, data: bytes, sync: bool = True) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, data)
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.rename(tmp, path)


def check_name(name: str) -> str:
    name = name.lstrip("/")
    if not name or not name[0].isalnum() or not set(name) <= _NAME_CHARS:
        raise UsageError(f"invalid container name {name!r}: only [a-zA-Z0-9][a-zA-Z0-9_.-] "
                         "are allowed")
    return name


# A long-running process (the API server) sets this to a dict: config.json is then parsed
# again only when it changed (it is replaced by a rename: a new inode, mtime or size says
# so; it is rewritten rarely, by rename and network connect, never twice within the
# timestamps' granularity with a reused inode and the same size in practice), which takes
# a third off a container list. state.json, which changes quickly, is always read. What
# is read is never changed in place by its readers; the CLI, which reads each file once,
# keeps None (no stat).
READ_CACHE: dict[str, tuple[tuple[int, int, int], dict[str, Any]]] | None = None


class Record:
    """One container's directory. `config` and `state` are loaded lazily."""

    def __init__(self, root: str, cid: str):
        self.root = root
        self.id = cid
        self.dir = os.path.join(root, "containers", cid)
        self._config: dict[str, Any] | None = None
        self._state: dict[str, Any] | None = None

    def path(self, *parts: str) -> str:
        return os.path.join(self.dir, *parts)

    @property
    def config(self) -> dict[str, Any]:
        if self._config is None:
            self._config = self._read("config.json")
        return self._config

    @property
    def state(self) -> dict[str, Any]:
        if self._state is None:
            self._state = self._read("state.json")
        return self._state

    @property
    def name(self) -> str:
        return str(self.config.get("Name", "")).lstrip("/")

    def _read(self, name: str) -> dict[str, Any]:
        path = self.path(name)
        cache = READ_CACHE if name == "config.json" else None
        key = None
        try:
            if cache is not None:
                st = os.stat(path)
                key = (st.st_ino, st.st_mtime_ns, st.st_size)
                hit = cache.get(path)
                if hit is not None and hit[0] == key:
                    return hit[1]
            with open(path, "rb") as f:
                data = jsonfast.loads(f.read())
        except FileNotFoundError:
            if cache is not None:
                cache.pop(path, None)
            raise NotFound(f"no such container: {self.id[:12]}")
        except ValueError as e:
            raise Conflict(f"container {self.id[:12]}: {name} is corrupt: {e}")
        if not isinstance(data, dict):
            raise Conflict(f"container {self.id[:12]}: {name} is not an object")
        if cache is not None and key is not None:
            if len(cache) > 20000:
                cache.clear()
            cache[path] = (key, data)
        return data

    def reload(self) -> Record:
        self._config = self._state = None
        return self

    def save_config(self, config: dict[str, Any]) -> None:
        """Replace config.json (atomically), and tell the index (engine/index.py)."""
        index.pending(self.root, self.id)
        write_atomic(self.path("config.json"), jsonfast.dumps_spaced(config).encode())
        self._config = config
        index.append(self.root, [index.config_line(self.id, config)])

    def save_state(self, state: dict[str, Any]) -> None:
        """Replace state.json (atomically; callers hold the lock), and tell the index."""
        index.pending(self.root, self.id)
        write_atomic(self.path("state.json"), jsonfast.dumps_spaced(state).encode())
        self._state = state
        index.append(self.root, [index.state_line(self.id, state)])

    def lock(self) -> Lock:
        return Lock(self.path("lock"))

    def update(self, **changes: Any) -> dict[str, Any]:
        """Read-modify-write state.json under the record lock; returns the new state."""
        with self.lock():
            self._state = None
            state = dict(self.state)
            state.update(changes)
            self.save_state(state)
            return state

    def exists(self) -> bool:
        return os.path.exists(self.path("config.json"))


class Lock:
    """An exclusive flock on a file, for a `with` block."""

    def __init__(self, path: str, shared: bool = False):
        self.path = path
        self.shared = shared
        self.fd = -1

    def __enter__(self) -> Lock:
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except FileNotFoundError:
            cid = os.path.basename(os.path.dirname(self.path))
            raise NotFound(f"no such container: {cid[:12]}")
        fcntl.flock(self.fd, fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)
        self.fd = -1


class Records:
    """All records under a root: allocation, lookup by name, id or unique id prefix."""

    def __init__(self, root: str | None = None):
        self.root = root or default_root()
        self.dir = os.path.join(self.root, "containers")
        self.names_dir = os.path.join(self.dir, NAMES_DIR)

    def init(self) -> Records:
        os.makedirs(self.names_dir, mode=0o700, exist_ok=True)
        return self

    def ids(self) -> list[str]:
        try:
            return [n for n in os.listdir(self.dir) if len(n) == 64]
        except FileNotFoundError:
            return []

    def all(self) -> list[Record]:
        return [Record(self.root, cid) for cid in self.ids()]

    def allocate(self, name: str | None) -> tuple[str, str]:
        """A new (id, name): the directory is made and the name taken, atomically each."""
        self.init()
        while True:
            cid = os.urandom(32).hex()
            if cid[:12].isdigit():
                continue  # Docker avoids ids that look like numbers
            try:
                os.mkdir(os.path.join(self.dir, cid), 0o711)
                break
            except FileExistsError:
                continue
        try:
            if name:
                self.take_name(check_name(name), cid)
            else:
                name = self._generate_name(cid)
        except BaseException:
            os.rmdir(os.path.join(self.dir, cid))
            raise
        return cid, name

    def take_name(self, name: str, cid: str) -> None:
        link = os.path.join(self.names_dir, name)
        try:
            os.symlink(cid, link)
        except FileExistsError:
            owner = self._owner(name)
            if owner is not None and owner != cid and not os.path.isdir(
                    os.path.join(self.dir, owner)):
                # a name left by a record removed half-way: reclaim it
                try:
                    os.unlink(link)
                except FileNotFoundError:
                    pass
                return self.take_name(name, cid)
            raise Conflict(f'the container name "/{name}" is already in use by container '
                           f'"{owner or "?"}"',
                           hint="remove or rename that container, or choose another name")

    def release_name(self, name: str, cid: str) -> None:
        if self._owner(name) == cid:
            try:
                os.unlink(os.path.join(self.names_dir, name))
            except FileNotFoundError:
                pass

    def _owner(self, name: str) -> str | None:
        try:
            return os.readlink(os.path.join(self.names_dir, name))
        except OSError:
            return None

    def _generate_name(self, cid: str) -> str:
        from minidocker.engine.names import generate
        for attempt in range(100):
            name = generate(attempt)
            try:
                self.take_name(name, cid)
                return name
            except Conflict:
                continue
        name = f"container_{cid[:12]}"
        self.take_name(name, cid)
        return name

    def find(self, ref: str) -> Record:
        """A record by name, full id, or unique id prefix (Docker's order)."""
        if not ref:
            raise NotFound("no such container: ''")
        name = ref.lstrip("/")
        owner = self._owner(name) if "/" not in name and name not in (".", "..") else None
        if owner and os.path.isdir(os.path.join(self.dir, owner)):
            return Record(self.root, owner)
        lowered = ref.lower()
        if all(c in "0123456789abcdef" for c in lowered):
            if len(lowered) == 64 and os.path.isdir(os.path.join(self.dir, lowered)):
                return Record(self.root, lowered)
            matches = [cid for cid in self.ids() if cid.startswith(lowered)]
            if len(matches) > 1:
                raise Conflict(f"multiple containers found with provided prefix: {ref}")
            if matches:
                return Record(self.root, matches[0])
        raise NotFound(f"no such container: {ref}")
