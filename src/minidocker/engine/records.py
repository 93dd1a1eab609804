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
TOMBSTONE = ".removed-"  # <root>/containers/.removed-<id>: a record being deleted
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
    """Replace a record's file (fs.replace: temp file and rename; on a full disk, in place
    when it fits: stop, kill and rm must work on a full disk)."""
    from minidocker.fs import replace  # not at the top: ps writes nothing
    replace(path, data, sync=sync)


class CorruptRecord(Conflict):
    """A record whose config.json or state.json cannot be trusted: not JSON, or a field
    of the wrong type. `ps` skips it with a warning, `rm -f` removes it (remove_broken)."""


class IncompleteRecord(NotFound):
    """A record directory without its config.json or state.json: a create or removal
    killed half-way, or one running right now (a NotFound: callers that meet a record
    being removed under them go on as before). `rm -f` removes it."""


_NONE = type(None)
# the fields the engine reads, and their types (None: may be null); a record whose
# fields have other types is reported corrupt, never a traceback later
_STATE_FIELDS: dict[str, tuple[type, ...]] = {
    "Status": (str,), "Pid": (int,), "PidStart": (int,), "ExitCode": (int,),
    "MonitorPid": (int,), "MonitorStart": (int,), "MonitorShared": (bool,),
    "RestartCount": (int,),
    "Running": (bool,), "Paused": (bool,), "Restarting": (bool,), "OOMKilled": (bool,),
    "Dead": (bool,), "ManualStop": (bool,), "Error": (str,), "StartedAt": (str,),
    "FinishedAt": (str,), "Health": (dict, _NONE), "Networks": (dict, _NONE)}
_STATUSES = frozenset(("created", "running", "paused", "restarting", "removing", "exited",
                       "dead"))
_CONFIG_FIELDS: dict[str, tuple[type, ...]] = {
    "Id": (str,), "Name": (str,), "Created": (str,), "Path": (str,), "Args": (list,),
    "Image": (str,), "Lowers": (list,), "Mounts": (list,), "Config": (dict,),
    "HostConfig": (dict,)}
_CONFIG_CONFIG: dict[str, tuple[type, ...]] = {
    "Image": (str, _NONE), "Labels": (dict, _NONE), "Env": (list, _NONE),
    "Cmd": (list, _NONE), "Entrypoint": (list, _NONE), "Tty": (bool, _NONE),
    "OpenStdin": (bool, _NONE), "Healthcheck": (dict, _NONE),
    "ExposedPorts": (dict, _NONE), "StopSignal": (str, _NONE), "User": (str, _NONE),
    "WorkingDir": (str, _NONE), "Hostname": (str, _NONE)}
_HOST_CONFIG: dict[str, tuple[type, ...]] = {
    "RestartPolicy": (dict, _NONE), "LogConfig": (dict, _NONE),
    "NetworkMode": (str, _NONE), "AutoRemove": (bool, _NONE), "Runtime": (str, _NONE),
    "Init": (bool, _NONE), "PortBindings": (list, dict, _NONE)}


def _bad_field(doc: dict[str, Any], fields: dict[str, tuple[type, ...]], where: str = ""
               ) -> str | None:
    for key, types in fields.items():
        value = doc.get(key)
        if key in doc and (not isinstance(value, types) or
                           isinstance(value, bool) and bool not in types):
            shown = repr(value) if len(repr(value)) < 40 else repr(value)[:37] + "..."
            return f"{where}{key} is {shown}, not {' or '.join(_KINDS[t] for t in types)}"
        if key in _NOT_NEGATIVE and isinstance(value, int) and value < 0:
            return f"{where}{key} is {value}, not a pid or count"
    return None


# process ids and counts: -1 would name every process to kill(2)
_NOT_NEGATIVE = frozenset(("Pid", "PidStart", "MonitorPid", "MonitorStart", "RestartCount"))


_KINDS = {str: "a string", int: "a number", bool: "true or false", list: "a list",
          dict: "an object", _NONE: "null"}


def _is_time(text: str) -> bool:
    """Whether parse_time() reads `text` (checked by hand: ps reads two per record)."""
    if not text or text.startswith("0001-"):
        return True
    frac = text[19:].rstrip("Z")
    return len(text) >= 19 and text[4] == text[7] == "-" and text[10] == "T" and \
        text[13] == text[16] == ":" and \
        (text[0:4] + text[5:7] + text[8:10] + text[11:13] + text[14:16] +
         text[17:19]).isdigit() and (not frac or frac[0] == "." and frac[1:].isdigit())


def _invalid(name: str, cid: str, doc: dict[str, Any]) -> str | None:
    """Why the document `name` of record `cid` cannot be used, or None."""
    if name == "state.json":
        why = _bad_field(doc, _STATE_FIELDS)
        if why is None and doc.get("Status", "created") not in _STATUSES:
            why = f"Status is {doc.get('Status')!r}"
        if why is None:
            for key in ("StartedAt", "FinishedAt"):
                if not _is_time(doc.get(key) or ""):
                    return f"{key} is {doc.get(key)!r}, not a time"
        return why
    why = _bad_field(doc, _CONFIG_FIELDS)
    if why is None and doc.get("Id", cid) != cid:
        why = f"Id is {doc.get('Id')!r}, not the record's"
    if why is None:
        why = _bad_field(doc.get("Config") or {}, _CONFIG_CONFIG, "Config.") or \
            _bad_field(doc.get("HostConfig") or {}, _HOST_CONFIG, "HostConfig.")
    if why is None and not all(isinstance(m, dict) for m in doc.get("Mounts") or []):
        why = "Mounts holds something other than objects"
    return why


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
        """config.json or state.json, checked: NotFound when the record is gone,
        IncompleteRecord when the file is missing, CorruptRecord when it is unusable."""
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
            if not os.path.isdir(self.dir):
                raise NotFound(f"no such container: {self.id[:12]}")
            raise IncompleteRecord(f"container {self.id[:12]} is incomplete: no {name} "
                                   "(a create or removal was interrupted)",
                                   hint=f"remove it: minidocker rm -f {self.id[:12]}")
        except (ValueError, OSError) as e:
            why = e.strerror if isinstance(e, OSError) else str(e)
            raise CorruptRecord(f"container {self.id[:12]}: {name} is corrupt: {why}",
                                hint=f"remove it: minidocker rm -f {self.id[:12]}")
        why = "not an object" if not isinstance(data, dict) else _invalid(name, self.id, data)
        if why is not None:
            raise CorruptRecord(f"container {self.id[:12]}: {name} is corrupt: {why}",
                                hint=f"remove it: minidocker rm -f {self.id[:12]}")
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


def remove_tree(path: str) -> None:
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

    @staticmethod
    def held(path: str) -> bool:
        """Whether some process holds the lock now (a start, a removal under way);
        False when the file does not exist."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        finally:
            os.close(fd)
        return False


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
            names = os.listdir(self.dir)
        except FileNotFoundError:
            return []
        ids = [n for n in names if len(n) == 64]
        if len(ids) != len(names):  # (.names, .index: the others are few)
            others = [n for n in names if len(n) != 64]
            if any(n.startswith(TOMBSTONE) for n in others):  # removals that died half-way
                self._sweep_tombstones(others)
        return ids

    def _sweep_tombstones(self, names: list[str]) -> None:
        """Finish the deletion of records whose remover died: their names, then their
        files (a live remover doing the same alongside does no harm)."""
        for name in names:
            if name.startswith(TOMBSTONE):
                cid = name.removeprefix(TOMBSTONE)
                for owned in self.names_of(cid):
                    self.release_name(owned, cid)
                remove_tree(os.path.join(self.dir, name))

    def names_of(self, cid: str) -> list[str]:
        """Every name that points at `cid` (a scan of .names: for broken records only)."""
        try:
            names = os.listdir(self.names_dir)
        except FileNotFoundError:
            return []
        return [n for n in names if self._owner(n) == cid]

    def sweep_names(self) -> list[str]:
        """Remove names whose record is gone (a removal or rename cut short; take_name
        reclaims them anyway): for prune."""
        gone: list[str] = []
        try:
            names = os.listdir(self.names_dir)
        except FileNotFoundError:
            return gone
        for name in names:
            owner = self._owner(name)
            if owner is not None and not os.path.isdir(os.path.join(self.dir, owner)):
                self.release_name(name, owner)
                gone.append(name)
        return gone

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

    def release_name(self, name: str, cid: str) -> bool:
        """Remove the name if it points at `cid`; whether it did."""
        if self._owner(name) == cid:
            try:
                os.unlink(os.path.join(self.names_dir, name))
                return True
            except FileNotFoundError:
                pass
        return False

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
