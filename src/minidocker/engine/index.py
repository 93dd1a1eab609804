"""The container index: what `ps` shows of every record, in one file per root, so that
listing 10,000 records reads one file instead of opening 20,000.

`<root>/containers/.index` is a snapshot followed by a journal, of tab-separated lines:

  H 3 n size                                            header: n R lines, size bytes
  R id status exit started finished pid pid-start monitor monitor-start health extras
    name image image-id command created network extras  a record: its S and C fields,
                                                        newest first (the snapshot)
  C id name image image-id command created network extras        from config.json
  S id status exit started finished pid pid-start monitor monitor-start health extras
                                                                  from state.json
  P id      a write of config.json or state.json is under way (or was killed half-way)
  D id      the record is being removed

C is what ps and its filters need of config.json, S what they need of state.json: times
in seconds since the epoch, the command as ps shows it, the less common keys as a JSON
object in `extras` (empty when there are none). A text field that could hold a tab, a
newline or a backslash (image, command) is written as a JSON string when it does. An R
line is a record's S and C fields on one line; the status at a fixed place (after the
64-character id), so that `ps` finds the running ones without splitting every line.

Writers append C, S, P and D lines to the journal; the snapshot is written only by
compaction and rebuilding. The reader splits the snapshot in a few calls (every line has
the same fields: one split of the whole text gives its columns; `ps` without -a splits
only the lines of running containers) and replays the journal over it: the last C and S
line of an id win over its R line, a D line drops it. A writer appends P before it
replaces config.json or state.json and the new C or S line after, under the record's
lock (records.py), so a process killed in between leaves P as the last word: the reader
then reads the record itself.

Appends hold a shared flock on `.index.lock`; compaction (the snapshot written anew with
the journal folded in, once the journal has grown past SLACK lines and an eighth of the
records) and rebuilding (the file is missing, has no header, or has a line that is not
one of ours) hold it exclusively and take no record lock, so the lock order is always
record, then index. A file without the header (an append made it after it was deleted)
is rebuilt.

The index is never trusted alone: the reader compares its ids with the directory listing
(a record made by an older minidocker, or removed by hand, is read or dropped), reads the
records of pending entries, and a container the index calls running is checked against
the kernel's facts by the caller (service.containers; liveness.live_state for the ones
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
SLACK = 500  # journal lines beyond an eighth of the records before compaction
HEADER = b"H\t3\t"  # 3: a snapshot of R lines, its size in the header
ENOSPC = 28  # (errno's, without importing errno on the run path)

# The fields of a C line and of an S line (after the kind and the id)
C_NAME, C_IMAGE, C_IMAGE_ID, C_COMMAND, C_CREATED, C_NETWORK, C_EXTRAS = range(2, 9)
(S_STATUS, S_EXIT, S_STARTED, S_FINISHED, S_PID, S_PID_START, S_MONITOR, S_MONITOR_START,
 S_HEALTH, S_EXTRAS) = range(2, 12)
C_FIELDS, S_FIELDS = 9, 12
# the text fields, written as JSON strings when they hold a tab, a newline, a backslash or
# begin with a quote (a command, an image path; a name or a status only in a damaged record)
_C_TEXT = (C_NAME, C_IMAGE, C_IMAGE_ID, C_COMMAND, C_NETWORK)
_S_TEXT = (S_STATUS, S_HEALTH)

# A row: a record as the index knows it, the fields of its R line (strings; the extras
# as JSON text, "" for none). S field k is row[k], C field k is row[k + _C_SHIFT].
_C_SHIFT = S_FIELDS - 2
R_ID = 1
(R_STATUS, R_EXIT, R_STARTED, R_FINISHED, R_PID, R_PID_START, R_MONITOR, R_MONITOR_START,
 R_HEALTH, R_SEXTRAS) = range(S_STATUS, S_FIELDS)
R_NAME, R_IMAGE, R_IMAGE_ID, R_COMMAND, R_CREATED, R_NETWORK, R_CEXTRAS = range(
    C_NAME + _C_SHIFT, C_FIELDS + _C_SHIFT)
R_FIELDS = C_FIELDS + _C_SHIFT
_R_TEXT = (*_S_TEXT, *(i + _C_SHIFT for i in _C_TEXT))
_R_STATUS_AT = 2 + 64 + 1  # where an R line's status begins
# the beginnings of the statuses of a container that should be running ("running",
# "paused", "restarting", "removing")
_CLAIMS = frozenset(("run", "pau", "res", "rem"))
Row = tuple  # tuple[str, ...] of R_FIELDS


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
        for i in _C_TEXT if fields[0] == "C" else _S_TEXT:
            fields[i] = _field(fields[i])
        fields[-1] = jsonfast.dumps(fields[-1]) if fields[-1] else ""
    return ("\t".join(fields) + "\n").encode()


def decode(raw: bytes) -> list[Any]:
    """A C or S line's fields from its bytes, the extras as a dict or None (ValueError if
    it is not one)."""
    fields: list[Any] = _split(raw)
    extras = fields[-1]
    fields[-1] = jsonfast.loads(extras) if extras else None
    return fields


def _split(raw: bytes) -> list[str]:
    """A C or S line's fields, quoted ones read back, the extras as their JSON text."""
    fields = raw.decode().split("\t")
    kind = fields[0]
    if not (kind == "C" and len(fields) == C_FIELDS or kind == "S" and len(fields) == S_FIELDS):
        raise ValueError(f"not a C or S line: {raw[:80]!r}")
    if b'\t"' in raw:
        for i in _C_TEXT if kind == "C" else _S_TEXT:  # a field written as a JSON string
            if fields[i][:1] == '"':
                fields[i] = jsonfast.loads(fields[i])
    if fields[-1] and fields[-1][:1] != "{":
        raise ValueError(f"not a C or S line: {raw[:80]!r}")
    return fields


def _row(c: list[str], s: list[str]) -> Row:
    """A row from a C and an S line's fields (as _split gives them)."""
    return ("R", s[1], *s[2:], *c[2:])


def row_of(cid: str, config: dict[str, Any], state: dict[str, Any]) -> Row:
    """The row of a record from its config.json and state.json (ValueError: a field that
    no line can hold)."""
    return _row(_split(encode(config_line(cid, config))[:-1]),
                _split(encode(state_line(cid, state))[:-1]))


def _unquoted(row: Row) -> Row:
    """A row of the snapshot with its JSON-string fields read back."""
    if not any(row[i][:1] == '"' for i in _R_TEXT):
        return row
    fields = list(row)
    for i in _R_TEXT:
        if fields[i][:1] == '"':
            fields[i] = jsonfast.loads(fields[i])
    return tuple(fields)


def row_line(row: Row) -> str:
    """A row as its R line (no newline)."""
    if any(_field(row[i]) != row[i] for i in _R_TEXT):
        fields = list(row)
        for i in _R_TEXT:
            fields[i] = _field(fields[i])
        return "\t".join(fields)
    return "\t".join(row)


def created(row: Row) -> float:
    """When a row's record was created (what ps sorts by)."""
    return float(row[R_CREATED])


class Entry:
    """A row as views.summary_of and views.matches read it: `config` and `state` give the
    keys of config.json and state.json that they read (for filters)."""

    __slots__ = ("id", "row")

    def __init__(self, row: Row):
        self.id: str = row[R_ID]
        self.row = row

    @property
    def name(self) -> str:
        return str(self.row[R_NAME])

    @property
    def created(self) -> float:
        return float(self.row[R_CREATED])

    @property
    def c_extras(self) -> dict[str, Any]:
        text = self.row[R_CEXTRAS]
        return jsonfast.loads(text) if text else {}

    @property
    def s_extras(self) -> dict[str, Any]:
        text = self.row[R_SEXTRAS]
        return jsonfast.loads(text) if text else {}

    @property
    def s(self) -> list[Any]:
        """The S line's fields (the extras decoded)."""
        return ["S", self.id, *self.row[R_STATUS:R_SEXTRAS], self.s_extras or None]

    @property
    def config(self) -> dict[str, Any]:
        row = self.row
        extras = self.c_extras
        return {"Name": "/" + row[R_NAME], "Image": row[R_IMAGE_ID],
                "Config": {"Image": row[R_IMAGE], "Labels": extras.get("Labels") or {},
                           "ExposedPorts": extras.get("ExposedPorts") or {},
                           "Healthcheck": extras.get("Healthcheck")},
                "HostConfig": {"NetworkMode": row[R_NETWORK],
                               "PortBindings": extras.get("PortBindings") or {}},
                "Mounts": extras.get("Mounts") or [],
                "NetworkingConfig": extras.get("NetworkingConfig") or {},
                "NetworkFallback": extras.get("NetworkFallback") or False}

    @property
    def state(self) -> dict[str, Any]:
        row = self.row
        state: dict[str, Any] = self.s_extras if row[R_SEXTRAS] else {}
        state.update(Status=row[R_STATUS], ExitCode=int(row[R_EXIT]), Pid=int(row[R_PID]),
                     PidStart=int(row[R_PID_START]), MonitorPid=int(row[R_MONITOR]),
                     MonitorStart=int(row[R_MONITOR_START]))
        if row[R_HEALTH]:
            state["Health"] = {"Status": row[R_HEALTH]}
        return state


# ---- writing -------------------------------------------------------------------------------


def _paths(root: str) -> tuple[str, str]:
    base = os.path.join(root, "containers")
    return os.path.join(base, INDEX), os.path.join(base, LOCK)


def append(root: str, lines: list[list[Any]]) -> None:
    """Append lines to the journal, under the shared lock. Never fails the caller: an
    index that misses a line is repaired by its next reader (the P line says so), and
    one that could not take a line (a full disk) is removed, to be rebuilt by the next
    reader (unlink needs no space): it never lists what it was not told."""
    index, lock = _paths(root)
    data = b"".join(encode(line) for line in lines)
    lock_fd = -1
    try:
        lock_fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(lock_fd, fcntl.LOCK_SH)
        fd = os.open(index, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            if os.write(fd, data) != len(data):  # one write: appends never mix
                raise OSError(ENOSPC, "short write")
        finally:
            os.close(fd)
    except OSError:
        try:
            os.unlink(index)
        except OSError:
            pass
    finally:
        if lock_fd >= 0:
            os.close(lock_fd)


def pending(root: str, cid: str) -> None:
    append(root, [["P", cid]])


def removed(root: str, cid: str) -> None:
    append(root, [["D", cid]])


# ---- reading ---------------------------------------------------------------------------------


class Journal:
    """The journal after the snapshot, replayed: id -> the fields of its last C line and
    of its last S line, the ids whose last word is P (unsure) and the ids a D line
    dropped (their snapshot rows no longer count)."""

    __slots__ = ("configs", "states", "unsure", "dropped", "lines")

    def __init__(self) -> None:
        self.configs: dict[str, list[str]] = {}
        self.states: dict[str, list[str]] = {}
        self.unsure: set[str] = set()
        self.dropped: set[str] = set()
        self.lines = 0

    def touched(self) -> set[str]:
        return self.configs.keys() | self.states.keys() | self.unsure | self.dropped


Parsed = tuple[list[Row], list[str], Journal]  # rows, the snapshot's ids, the journal


class Index:
    """The index of one root, read: rows() gives the rows of the records the index knows
    and the ids that must be read from their records (new, pending, or unknown)."""

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
    def _parse(data: bytes, running: bool = False) -> Parsed | None:
        """The snapshot's rows (with `running`, only those whose status says running or
        that the journal touched), the ids of all of them, and the journal replayed;
        None when the file has no header, ends inside a line, or has a line that is not
        one we write."""
        if not data.startswith(HEADER) or not data.endswith(b"\n"):
            return None
        end = data.find(b"\n")
        try:
            count, size = (int(x) for x in data[len(HEADER):end].split(b"\t"))
            journal = _replay(data[end + 1 + size:])
            snapshot = data[end + 1:end + 1 + size].decode()
            if journal is None:
                return None
            if running:
                parsed = _running_rows(snapshot, count, journal.touched())
            else:
                parsed = _snapshot_rows(snapshot, count)
        except ValueError:  # (UnicodeDecodeError too)
            return None
        if parsed is None:
            return None
        return parsed[0], parsed[1], journal

    def ids_on_disk(self) -> list[str]:
        from minidocker.engine.records import Records
        return Records(self.root).ids()  # (which also finishes removals that died)

    def rows(self, running: bool = False) -> tuple[list[Row], list[str]]:
        """(the rows of the records on disk that the index knows, newest first; the ids of
        the others, to read from their records). With `running`, the rows of the
        containers it calls running, and perhaps a few others. Rebuilds a missing or
        corrupt index and compacts a long journal first."""
        data = self._read()
        parsed = None if data is None else self._parse(data, running)
        if parsed is None:
            self.rebuild()
            parsed = self._parse(self._read() or b"", running) or ([], [], Journal())
        rows, ids, journal = parsed
        count = len(ids)
        rows, unsure, without = _merge(rows, journal)
        if unsure:  # a write under way, or killed half-way: read from the record
            rows = [row for row in rows if row[R_ID] not in unsure]
        known = set(ids)
        if journal.lines:
            known = (known | journal.touched()) - without - unsure
        on_disk = self.ids_on_disk()
        disk = set(on_disk)
        missing: list[str] = []
        if disk != known:
            if known - disk:  # removed by hand, or by a remover that said nothing
                rows = [row for row in rows if row[R_ID] in disk]
            missing = [cid for cid in on_disk if cid not in known]
        if journal.lines > SLACK + count // 8:
            self.compact()
        return rows, missing

    def load(self) -> tuple[dict[str, Entry], list[str]]:
        """rows() as (id -> Entry, ids to read from their records)."""
        rows, missing = self.rows()
        return {row[R_ID]: Entry(row) for row in rows}, missing

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
        """Throw the index away (a reader found a line it cannot decode): the next read
        rebuilds it from the records."""
        fd = self._exclusive(blocking=True)
        try:
            os.unlink(self.path)
        except OSError:
            pass
        finally:
            if fd >= 0:
                os.close(fd)

    # ---- rewriting the index ----------------------------------------------------------------

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

    def _write(self, rows: list[Row], tail: list[str]) -> None:
        from minidocker.engine.records import write_atomic
        rows.sort(key=created, reverse=True)
        snapshot = "".join([row_line(row) + "\n" for row in rows]).encode()
        header = HEADER + f"{len(rows)}\t{len(snapshot)}\n".encode()
        # no fsync: an index lost in a crash is rebuilt, never trusted
        write_atomic(self.path, header + snapshot + "".join(tail).encode(), sync=False)

    def compact(self) -> None:
        """The snapshot written anew with the journal folded in (P kept where a write is
        unsure); skipped when another process holds the lock (it is compacting or
        rebuilding)."""
        fd = self._exclusive(blocking=False)
        if fd < 0:
            return
        try:
            parsed = self._parse(self._read() or b"")
            if parsed is None:
                return  # the next read rebuilds it
            rows, unsure, _ = _merge(parsed[0], parsed[2])
            disk = set(self.ids_on_disk())
            self._write([row for row in rows if row[R_ID] in disk],
                        [f"P\t{cid}\n" for cid in sorted(unsure) if cid in disk])
        except (OSError, ValueError):  # (a damaged line: the next read rebuilds it)
            pass
        finally:
            os.close(fd)

    def rebuild(self) -> None:
        """The index written anew from the records (it was missing or unreadable).
        Records being created (no config.json yet) get their lines from their creator."""
        from minidocker.engine.records import Record
        from minidocker.errors import MinidockerError
        fd = self._exclusive(blocking=True)
        try:
            data = self._read()
            if data is not None and self._parse(data) is not None:
                return  # another reader rebuilt it while we waited for the lock
            rows: list[Row] = []
            for cid in self.ids_on_disk():
                record = Record(self.root, cid)
                try:
                    rows.append(row_of(cid, record.config, record.state))
                except (MinidockerError, ValueError):  # read from the record by the caller
                    continue
            try:
                self._write(rows, [])
            except OSError:
                pass
        finally:
            if fd >= 0:
                os.close(fd)


def _snapshot_rows(text: str, count: int) -> tuple[list[Row], list[str]] | None:
    """The rows of `count` R lines, and their ids: one split of the whole text, its
    columns taken by slicing (every R line has R_FIELDS fields). None if the text is not
    that."""
    fields = text.replace("\n", "\t").split("\t")
    if len(fields) != count * R_FIELDS + 1 or fields[-1] or \
            fields[0:-1:R_FIELDS].count("R") != count:
        return None
    columns = [fields[i:-1:R_FIELDS] for i in range(R_FIELDS)]
    rows: list[Row] = list(zip(*columns, strict=True))
    if '\t"' in text:  # a field written as a JSON string
        rows = [_unquoted(row) for row in rows]
    return rows, columns[R_ID]


def _running_rows(text: str, count: int, touched: set[str]
                  ) -> tuple[list[Row], list[str]] | None:
    """_snapshot_rows() of the lines whose status says running (and of those of the
    `touched` ids), and the ids of all: the other lines are not split."""
    lines = text.split("\n")
    if len(lines) != count + 1 or lines.pop():
        return None
    at = _R_STATUS_AT
    chosen = [line for line in lines if line[at:at + 3] in _CLAIMS]
    if touched:
        chosen += [line for line in lines if line[2:66] in touched and
                   line[at:at + 3] not in _CLAIMS]
    rows: list[Row] = []
    for line in chosen:
        row = tuple(line.split("\t"))
        if len(row) != R_FIELDS or row[0] != "R":
            return None
        rows.append(_unquoted(row) if '\t"' in line else row)
    if touched:
        rows.sort(key=created, reverse=True)
    return rows, [line[2:66] for line in lines]


def _replay(data: bytes) -> Journal | None:
    """The journal's lines replayed (None: a line that is not one we write)."""
    journal = Journal()
    if not data:
        return journal
    lines = data[:-1].split(b"\n")
    journal.lines = len(lines)
    configs, states, unsure, dropped = (journal.configs, journal.states, journal.unsure,
                                        journal.dropped)
    for line in lines:  # ids are checked when used: a mangled one matches no record
        kind = line[:1]
        cid = line[2:66].decode("ascii", "replace")
        if kind == b"S":
            states[cid] = _split(line)
            unsure.discard(cid)
        elif kind == b"C":
            configs[cid] = _split(line)
            unsure.discard(cid)
        elif kind == b"P":
            unsure.add(cid)
        elif kind == b"D":
            configs.pop(cid, None)
            states.pop(cid, None)
            unsure.discard(cid)
            dropped.add(cid)
        else:
            return None
    return journal


def _merge(rows: list[Row], journal: Journal) -> tuple[list[Row], set[str], set[str]]:
    """The snapshot's rows with the journal applied (rows whose id it touched replaced,
    dropped or added; newest first), the ids it leaves unsure (their rows are the last
    known, kept for compaction; a reader reads their records), and the ids it touched
    that have no row."""
    touched = journal.touched() if journal.lines else None
    without: set[str] = set()
    if not touched:
        return rows, set(), without
    merged: list[Row | None] = list(rows)
    where = dict(zip([row[R_ID] for row in rows], range(len(rows)), strict=True))
    added: list[Row] = []
    gone = False
    for cid in touched:
        i = where.get(cid)
        base = merged[i] if i is not None and cid not in journal.dropped else None
        c = journal.configs.get(cid)
        s = journal.states.get(cid)
        row: Row | None = None
        if base is not None or (c and s):
            row = base or ("R",) * R_FIELDS
            if c is not None:
                row = ("R", cid, *row[R_STATUS:R_NAME], *c[2:])
            if s is not None:
                row = ("R", cid, *s[2:], *row[R_NAME:])
        if row is None:
            without.add(cid)
        if i is None:
            if row is not None:
                added.append(row)
        else:
            merged[i] = row
            gone = gone or row is None
    rows = [row for row in merged if row is not None] if gone else merged  # type: ignore
    if added:
        added.sort(key=created, reverse=True)
        if rows and created(added[-1]) < created(rows[0]):
            rows += added
            rows.sort(key=created, reverse=True)
        else:
            rows = added + rows  # made since the snapshot: the newest
    return rows, journal.unsure, without
