"""The container index: what `ps` shows of every record, in one journal per root, so that
listing 10,000 records reads one file instead of opening 20,000.

`<root>/containers/.index` holds lines of tab-separated fields:

  H 1                                                   header (rebuild, compaction)
  C id name image image-id command created network extras        from config.json
  S id status exit started finished pid pid-start monitor monitor-start health extras
                                                                  from state.json
  P id      a write of config.json or state.json is under way (or was killed half-way)
  D id      the record is being removed

C is what ps and its filters need of config.json, S what they need of state.json: times
in seconds since the epoch, the command as ps shows it, the less common keys as a JSON
object in `extras` (empty when there are none). A text field that could hold a tab, a
newline or a backslash (image, command) is written as a JSON string when it does. Fields
stay strings until used: `ps -q` of 10,000 records converts none of them.

The last C and S line of an id win. A writer appends P before it replaces config.json or
state.json and the new C or S line after, under the record's lock (records.py), so a
process killed in between leaves P as the last word: the reader then reads the record
itself. Appends hold a shared flock on `.index.lock`; compaction (rewriting the journal
with one C and S line per record once it has grown to twice that) and rebuilding (the
file is missing, has no header, or has a line that is not one of ours) hold it
exclusively and take no record lock, so the lock order is always record, then index. A
journal without the header (an append made it after it was deleted) is rebuilt.

The index is never trusted alone: the reader compares its ids with the directory listing
(a record made by an older minidocker, or removed by hand, is read or dropped), reads the
records of pending entries, and a container the index calls running is checked against
the kernel's facts by the caller (service.containers.ls; liveness.live_state for the ones
that are not alive).
"""

from __future__ import annotations

import fcntl
import os

from minidocker import jsonfast

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

INDEX = ".index"
LOCK = ".index.lock"
SLACK = 500  # lines beyond twice the live ones before the journal is compacted
HEADER = b"H\t2\n"  # 2: PortBindings in C lines' extras

# The fields of a C line and of an S line (after the kind and the id)
C_NAME, C_IMAGE, C_IMAGE_ID, C_COMMAND, C_CREATED, C_NETWORK, C_EXTRAS = range(2, 9)
(S_STATUS, S_EXIT, S_STARTED, S_FINISHED, S_PID, S_PID_START, S_MONITOR, S_MONITOR_START,
 S_HEALTH, S_EXTRAS) = range(2, 12)
C_FIELDS, S_FIELDS = 9, 12
_QUOTED = (C_IMAGE, C_IMAGE_ID, C_COMMAND)  # fields that may be written as JSON strings


# ---- lines -----------------------------------------------------------------------------------


def config_line(cid: str, config: dict[str, Any]) -> list[Any]:
    """The C line's fields: what ps and its filters read of config.json."""
    cfg = config.get("Config") or {}
    extras: dict[str, Any] = {}
    for key in ("Labels", "ExposedPorts"):
        if cfg.get(key):
            extras[key] = cfg[key]
    if cfg.get("Healthcheck"):
        extras["Healthcheck"] = 1
    for key in ("Mounts", "NetworkingConfig", "NetworkFallback"):
        if config.get(key):
            extras[key] = config[key]
    bindings = (config.get("HostConfig") or {}).get("PortBindings")
    if bindings:  # ps --filter publish= (the container's ports alone)
        extras["PortBindings"] = dict.fromkeys(container_ports(bindings), 1)
    command = " ".join([config.get("Path") or "", *(config.get("Args") or [])])
    return ["C", cid, str(config.get("Name", "")).lstrip("/"), str(cfg.get("Image", "")),
            str(config.get("Image", "")), command, repr(_seconds(config.get("Created", ""))),
            str((config.get("HostConfig") or {}).get("NetworkMode") or ""), extras or None]


def container_ports(specs: list[str] | dict[str, Any]) -> list[str]:
    """The container ports ("80/tcp") that -p specs ("127.0.0.1:8080-8081:80-81/tcp", as
    a record keeps them; checked when created) or a PortBindings map bind."""
    if isinstance(specs, dict):
        return [k if "/" in k else k + "/tcp" for k in specs]
    out = []
    for spec in specs:
        ports, _, proto = str(spec).rpartition(":")[2].partition("/")
        first, _, last = ports.partition("-")
        if first.isdigit() and (not last or last.isdigit()):
            out += [f"{p}/{proto or 'tcp'}" for p in range(int(first), int(last or first) + 1)]
    return out


def state_line(cid: str, state: dict[str, Any]) -> list[Any]:
    """The S line's fields: state.json's facts (no health log)."""
    extras = {k: v for k, v in state.items() if k not in _IN_LINE and v not in _DEFAULTS}
    return ["S", cid, str(state.get("Status", "")), str(int(state.get("ExitCode") or 0)),
            repr(_seconds(state.get("StartedAt", ""))),
            repr(_seconds(state.get("FinishedAt", ""))), str(int(state.get("Pid") or 0)),
            str(int(state.get("PidStart") or 0)), str(int(state.get("MonitorPid") or 0)),
            str(int(state.get("MonitorStart") or 0)),
            str((state.get("Health") or {}).get("Status") or ""), extras or None]


def _seconds(text: str) -> float:
    from minidocker.units import parse_time
    try:
        return parse_time(text)
    except ValueError:
        return 0.0


_IN_LINE = frozenset(("Status", "ExitCode", "StartedAt", "FinishedAt", "Pid", "PidStart",
                      "MonitorPid", "MonitorStart", "Health", "Running", "Paused",
                      "Restarting", "Dead"))
_DEFAULTS: tuple[Any, ...] = (None, "", 0, False, {}, [])


def _field(text: str) -> str:
    if "\t" in text or "\n" in text or "\r" in text or "\\" in text or text[:1] == '"':
        return jsonfast.dumps(text)
    return text


def encode(line: list[Any]) -> bytes:
    """One journal line, newline included."""
    fields = list(line)
    if fields[0] in ("C", "S"):
        for i in _QUOTED if fields[0] == "C" else ():
            fields[i] = _field(fields[i])
        fields[-1] = jsonfast.dumps(fields[-1]) if fields[-1] else ""
    return ("\t".join(fields) + "\n").encode()


def decode(raw: bytes) -> list[Any]:
    """A C or S line's fields from its bytes (ValueError if it is not one)."""
    fields: list[Any] = raw.decode().split("\t")
    kind = fields[0]
    if kind == "S" and len(fields) == S_FIELDS:
        extras = fields[S_EXTRAS]
    elif kind == "C" and len(fields) == C_FIELDS:
        extras = fields[C_EXTRAS]
        if b'"' in raw:  # a field written as a JSON string, or extras
            for i in _QUOTED:
                if fields[i][:1] == '"':
                    fields[i] = jsonfast.loads(fields[i])
    else:
        raise ValueError(f"not a C or S line: {raw[:80]!r}")
    fields[-1] = jsonfast.loads(extras) if extras else None
    return fields


class Entry:
    """A record as the index knows it: its C and S lines, decoded when first used;
    `config` and `state` give the keys of config.json and state.json that views.matches
    reads (for filters)."""

    __slots__ = ("id", "_c", "_s")

    def __init__(self, cid: str, c: bytes | list[Any], s: bytes | list[Any]):
        self.id = cid
        self._c = c
        self._s = s

    @property
    def c(self) -> list[Any]:
        if isinstance(self._c, bytes):
            self._c = decode(self._c)
        return self._c

    @property
    def s(self) -> list[Any]:
        if isinstance(self._s, bytes):
            self._s = decode(self._s)
        return self._s

    @property
    def created(self) -> float:
        """When it was created (what ps sorts by), without decoding the rest."""
        if isinstance(self._c, bytes):
            try:
                return float(self._c.split(b"\t", C_CREATED + 1)[C_CREATED])
            except (ValueError, IndexError):
                pass
        return float(self.c[C_CREATED])

    @property
    def name(self) -> str:
        return str(self.c[C_NAME])

    @property
    def config(self) -> dict[str, Any]:
        c = self.c
        extras = c[C_EXTRAS] or {}
        return {"Name": "/" + c[C_NAME], "Image": c[C_IMAGE_ID],
                "Config": {"Image": c[C_IMAGE], "Labels": extras.get("Labels") or {},
                           "ExposedPorts": extras.get("ExposedPorts") or {},
                           "Healthcheck": extras.get("Healthcheck")},
                "HostConfig": {"NetworkMode": c[C_NETWORK],
                               "PortBindings": extras.get("PortBindings") or {}},
                "Mounts": extras.get("Mounts") or [],
                "NetworkingConfig": extras.get("NetworkingConfig") or {},
                "NetworkFallback": extras.get("NetworkFallback") or False}

    @property
    def state(self) -> dict[str, Any]:
        s = self.s
        state: dict[str, Any] = dict(s[S_EXTRAS] or {})
        state.update(Status=s[S_STATUS], ExitCode=int(s[S_EXIT]), Pid=int(s[S_PID]),
                     PidStart=int(s[S_PID_START]), MonitorPid=int(s[S_MONITOR]),
                     MonitorStart=int(s[S_MONITOR_START]))
        if s[S_HEALTH]:
            state["Health"] = {"Status": s[S_HEALTH]}
        return state


# ---- writing -------------------------------------------------------------------------------


def _paths(root: str) -> tuple[str, str]:
    base = os.path.join(root, "containers")
    return os.path.join(base, INDEX), os.path.join(base, LOCK)


def append(root: str, lines: list[list[Any]]) -> None:
    """Append lines to the journal, under the shared lock. Never fails the caller: an
    index that misses a line is repaired by its next reader (the P line says so)."""
    index, lock = _paths(root)
    data = b"".join(encode(line) for line in lines)
    try:
        lock_fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:
        return
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_SH)
        fd = os.open(index, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, data)  # one write: appends of concurrent writers never mix
        finally:
            os.close(fd)
    except OSError:
        pass
    finally:
        os.close(lock_fd)


def pending(root: str, cid: str) -> None:
    append(root, [["P", cid]])


def removed(root: str, cid: str) -> None:
    append(root, [["D", cid]])


# ---- reading ---------------------------------------------------------------------------------

Merged = tuple[dict[str, bytes], dict[str, bytes], set[str], int]


class Index:
    """The journal of one root, merged: load() gives id -> Entry for the records the index
    knows, and the ids that must be read from their records (new, pending, or unknown)."""

    def __init__(self, root: str):
        self.root = root
        self.dir = os.path.join(root, "containers")
        self.path, self.lock_path = _paths(root)

    def _read(self) -> bytes | None:
        try:
            with open(self.path, "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    @staticmethod
    def _parse(data: bytes) -> Merged | None:
        """The journal merged: (id -> last C line, id -> last S line, ids whose last word
        is P, number of lines), lines still undecoded; None when it has no header, ends
        inside a line, or has a line that is not one we write."""
        if not data.startswith(HEADER) or not data.endswith(b"\n"):
            return None
        lines = data[len(HEADER):-1].split(b"\n") if len(data) > len(HEADER) else []
        configs: dict[str, bytes] = {}
        states: dict[str, bytes] = {}
        unsure: set[str] = set()
        for line in lines:  # ids are checked when used: a mangled one matches no record
            kind = line[:1]
            cid = line[2:66].decode("ascii", "replace")
            if kind == b"S":
                states[cid] = line
                if unsure:
                    unsure.discard(cid)
            elif kind == b"C":
                configs[cid] = line
                if unsure:
                    unsure.discard(cid)
            elif kind == b"P":
                unsure.add(cid)
            elif kind == b"D":
                configs.pop(cid, None)
                states.pop(cid, None)
                unsure.discard(cid)
            else:
                return None
        return configs, states, unsure, len(lines)

    def ids_on_disk(self) -> list[str]:
        from minidocker.engine.records import Records
        return Records(self.root).ids()  # (which also finishes removals that died)

    def load(self) -> tuple[dict[str, Entry], list[str]]:
        """(id -> Entry, ids to read from their records). Rebuilds a missing or corrupt
        journal and compacts a long one first."""
        on_disk = self.ids_on_disk()
        data = self._read()
        merged = None if data is None else self._parse(data)
        if merged is None:
            self.rebuild()
            on_disk = self.ids_on_disk()
            merged = self._parse(self._read() or b"") or ({}, {}, set(), 0)
        configs, states, unsure, count = merged
        entries: dict[str, Entry] = {}
        missing: list[str] = []
        for cid in on_disk:
            c = configs.get(cid)
            s = states.get(cid)
            if c is None or s is None or cid in unsure:
                missing.append(cid)
            else:
                entries[cid] = Entry(cid, c, s)
        if count > 2 * len(on_disk) + SLACK:
            self.compact()
        return entries, missing

    def repair(self, record: Any) -> None:
        """Append the record's current C and S lines (a reader found them missing or
        pending), under the record's lock as every writer of them."""
        from minidocker.errors import MinidockerError
        try:
            with record.lock():
                record.reload()
                lines = [config_line(record.id, record.config),
                         state_line(record.id, record.state)]
        except (MinidockerError, OSError):
            return  # being created or removed: its own command writes the lines
        append(self.root, lines)

    def discard(self) -> None:
        """Throw the journal away (a reader found a line it cannot decode): the next
        load rebuilds it from the records."""
        fd = self._exclusive(blocking=True)
        try:
            os.unlink(self.path)
        except OSError:
            pass
        finally:
            if fd >= 0:
                os.close(fd)

    # ---- rewriting the journal --------------------------------------------------------------

    def _exclusive(self, blocking: bool) -> int:
        """The lock fd, held exclusively; -1 when it could not be had."""
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError:
            return -1
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except OSError:
            os.close(fd)
            return -1
        return fd

    def _write(self, lines: list[bytes]) -> None:
        from minidocker.engine.records import write_atomic
        # no fsync: an index lost in a crash is rebuilt, never trusted
        write_atomic(self.path, HEADER + b"".join(line + b"\n" for line in lines),
                     sync=False)

    def compact(self) -> None:
        """One C and S line per record still on disk, P kept where a write is unsure;
        skipped when another process holds the lock (it is compacting or rebuilding)."""
        fd = self._exclusive(blocking=False)
        if fd < 0:
            return
        try:
            merged = self._parse(self._read() or b"")
            if merged is None:
                return  # the next load rebuilds it
            configs, states, unsure, _ = merged
            keep: list[bytes] = []
            for cid in self.ids_on_disk():
                keep += [line for line in (configs.get(cid), states.get(cid)) if line]
                if cid in unsure:
                    keep.append(b"P\t" + cid.encode())
            self._write(keep)
        except OSError:
            pass
        finally:
            os.close(fd)

    def rebuild(self) -> None:
        """The journal written anew from the records (it was missing or unreadable).
        Records being created (no config.json yet) get their lines from their creator."""
        from minidocker.engine.records import Record
        from minidocker.errors import MinidockerError
        fd = self._exclusive(blocking=True)
        try:
            data = self._read()
            if data is not None and self._parse(data) is not None:
                return  # another reader rebuilt it while we waited for the lock
            lines: list[bytes] = []
            for cid in self.ids_on_disk():
                record = Record(self.root, cid)
                try:
                    lines += [encode(config_line(cid, record.config))[:-1],
                              encode(state_line(cid, record.state))[:-1]]
                except MinidockerError:
                    continue
            try:
                self._write(lines)
            except OSError:
                pass
        finally:
            if fd >= 0:
                os.close(fd)
