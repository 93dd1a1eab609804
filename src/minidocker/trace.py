"""The trace of the steps a command takes, in Chrome's trace-event JSON format.

`--trace FILE` (minidocker-runtime's global option; run/create/start/exec of minidocker)
makes a Tracer and puts it in `minidocker.TRACE`; that attribute is the only thing a
traced step looks at when tracing is off, and this module is imported only when it is on:

    if minidocker.TRACE:
        minidocker.TRACE.step("cgroup", "write", path=path, value=value)

Format (docs/how-a-container-starts.md shows one): the JSON Array Format of the Trace
Event Format that Perfetto and chrome://tracing load. Each event is one JSON object on a
line of its own, followed by a comma; the closing bracket of the array is never written,
which the format allows ("the ] at the end is optional") so that a trace can be appended
to and still loads after a crash. Event kinds:

- "X" (complete): a step, `ts` and `dur` in microseconds. A step's bar runs from the end
  of the previous step of the same process (or the process's start) to the moment the
  step is recorded, after the step is done: the bars tile each process's time, so a
  step's `dur` is what the process spent on it since the last one, waits included. Each
  process also gets one complete event that spans its traced life (`finish`).
- "i" (instant, thread scope): a moment without duration.
- "M" (metadata): `process_name` and `thread_name` with the process's role ("init",
  "stage 1", ...), plus `ppid` (the traced process that forked it) and `process_sort_index`.

`pid` and `tid` are the real host pids, so the runtime, stage 1 and the container's init
are separate tracks, even inside a new pid namespace (the pid is read from the host's
/proc through a directory fd opened at the start). `ts` is wall-clock time (microseconds
since the epoch), so several commands tracing into one file (`create`, then `start`)
make one timeline; durations come from the monotonic clock.

Safe across fork: the file is opened once with O_APPEND (and O_CLOEXEC: the container's
program never sees it); every forked process writes its own events with one write(2) per
event, which the kernel appends whole. Nothing here imports after the constructor (the
container's init keeps tracing after pivot_root, where no module can be found), and no
error of the trace ever reaches the traced command: a failed write loses that event.
Environment variable values are never recorded (only their names): they may be secrets.
"""

from __future__ import annotations

import os
import sys
import time

from minidocker import jsonfast

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# kernel ABI constants, named here so that the trace needs no syscall layer (ctypes)
CLONE_FLAGS = {
    0x00020000: "CLONE_NEWNS", 0x02000000: "CLONE_NEWCGROUP", 0x04000000: "CLONE_NEWUTS",
    0x08000000: "CLONE_NEWIPC", 0x10000000: "CLONE_NEWUSER", 0x20000000: "CLONE_NEWPID",
    0x40000000: "CLONE_NEWNET", 0x00000080: "CLONE_NEWTIME",
}
# clone flag -> name under /proc/PID/ns (the one a new process gets: pid_for_children...)
NS_FILES = {
    0x00020000: "mnt", 0x02000000: "cgroup", 0x04000000: "uts", 0x08000000: "ipc",
    0x10000000: "user", 0x20000000: "pid_for_children", 0x40000000: "net",
    0x00000080: "time_for_children",
}
MOUNT_FLAGS = {
    0x1: "MS_RDONLY", 0x2: "MS_NOSUID", 0x4: "MS_NODEV", 0x8: "MS_NOEXEC",
    0x10: "MS_SYNCHRONOUS", 0x20: "MS_REMOUNT", 0x40: "MS_MANDLOCK", 0x80: "MS_DIRSYNC",
    0x100: "MS_NOSYMFOLLOW", 0x400: "MS_NOATIME", 0x800: "MS_NODIRATIME", 0x1000: "MS_BIND",
    0x2000: "MS_MOVE", 0x4000: "MS_REC", 0x8000: "MS_SILENT", 0x20000: "MS_UNBINDABLE",
    0x40000: "MS_PRIVATE", 0x80000: "MS_SLAVE", 0x100000: "MS_SHARED",
    0x200000: "MS_RELATIME", 0x1000000: "MS_STRICTATIME", 0x2000000: "MS_LAZYTIME",
}
CAP_SETS = (("CapInh", "inheritable"), ("CapPrm", "permitted"), ("CapEff", "effective"),
            ("CapBnd", "bounding"), ("CapAmb", "ambient"))


def flag_names(value: int, table: dict[int, str]) -> list[str]:
    """The names of the bits set in `value`; unknown bits as one hex number."""
    names = [name for bit, name in table.items() if value & bit]
    rest = value & ~sum(bit for bit in table if value & bit)
    return names + ([hex(rest)] if rest else [])


class Tracer:
    """Records the steps of this process and of the processes it forks into one file."""

    def __init__(self, path: str, name: str, command: list[str] | None = None):
        self.path = os.path.abspath(path)
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC,
                          0o644)
        try:
            if os.fstat(self.fd).st_size == 0:
                os.write(self.fd, b"[\n")
            # the host's /proc, to read our host pid and namespaces from any namespace
            self.procfd = os.open("/proc", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        except BaseException:
            os.close(self.fd)
            raise
        # capability names, loaded now: the init records its capabilities after
        # pivot_root, where nothing can be imported any more
        from minidocker.linux.capnames import CAPS
        self.caps = CAPS
        self.name = ""
        self.pid = 0
        self._ospid = -1
        self._offset = 0
        self._start = self._last = 0
        self._sort = 0
        self.process(name, ppid=os.getppid(), command=command)

    # ---- processes ----

    def process(self, name: str, ppid: int | None = None, **args: Any) -> None:
        """This process (just forked, or the first one) is `name`: a track of its own,
        whose first step starts now."""
        parent = self.pid if ppid is None else ppid
        self._ospid = os.getpid()
        self.pid = self._host_pid()
        self.name = name
        self._sort += 1
        # wall clock minus monotonic, per process: a new time namespace shifts the latter
        self._offset = time.time_ns() - time.monotonic_ns()
        self._start = self._last = time.monotonic_ns()
        meta = {"name": name, "ppid": parent, **args}
        self._write({"ph": "M", "name": "process_name", "pid": self.pid, "tid": self.pid,
                     "args": meta})
        self._write({"ph": "M", "name": "thread_name", "pid": self.pid, "tid": self.pid,
                     "args": {"name": name}})
        self._write({"ph": "M", "name": "process_sort_index", "pid": self.pid,
                     "tid": self.pid, "args": {"sort_index": self._sort}})

    def _host_pid(self) -> int:
        try:
            return int(os.readlink("self", dir_fd=self.procfd))
        except (OSError, ValueError):
            return os.getpid()

    def _check_process(self) -> None:
        if os.getpid() != self._ospid:  # a fork that was not announced
            self.process(f"child of {self.name}")

    # ---- events ----

    def step(self, cat: str, name: str, /, **args: Any) -> None:
        """A step just done: a complete event since the previous step of this process."""
        self._check_process()
        now = time.monotonic_ns()
        self._complete(cat, name, self._last, now, args)
        self._last = now

    def mark(self, cat: str, name: str, /, **args: Any) -> None:
        """An instant event: something that happened now, taking no time of its own."""
        self._check_process()
        ts = (time.monotonic_ns() + self._offset) / 1000
        self._write({"ph": "i", "s": "t", "cat": cat, "name": name, "ts": ts,
                     "pid": self.pid, "tid": self.pid, "args": {**args, "at": _caller()}})

    def finish(self, **args: Any) -> None:
        """This process's traced life, from its start to now, as one complete event that
        holds its steps (at the end of a command, before an execve)."""
        self._check_process()
        self._complete("process", self.name, self._start, time.monotonic_ns(), args)

    def _complete(self, cat: str, name: str, start: int, end: int,
                  args: dict[str, Any]) -> None:
        self._write({"ph": "X", "cat": cat, "name": name, "ts": (start + self._offset) / 1000,
                     "dur": max(end - start, 0) / 1000, "pid": self.pid, "tid": self.pid,
                     "args": {**args, "at": _caller()}})

    def _write(self, event: dict[str, Any]) -> None:
        try:
            line = jsonfast.dumps(event)
        except (TypeError, ValueError):
            event["args"] = {k: repr(v) for k, v in (event.get("args") or {}).items()}
            line = jsonfast.dumps(event)
        try:
            os.write(self.fd, line.encode() + b",\n")
        except OSError:
            pass  # the trace never changes what the command does: this event is lost

    # ---- steps that read their facts from the kernel ----

    def unshare(self, flags: int, **args: Any) -> None:
        """New namespaces made by unshare(flags): their names and inodes."""
        self.step("namespace", "unshare", flags=flag_names(flags, CLONE_FLAGS),
                  namespaces=self._inodes(flags), **args)

    def setns(self, kind: str, flag: int) -> None:
        """A namespace joined (setns) by its path or fd: its inode now."""
        name = NS_FILES.get(flag, kind)  # pid and time: what our children will be in
        try:
            inode = os.readlink(f"self/ns/{name}", dir_fd=self.procfd)
        except OSError as e:
            inode = f"? ({e.strerror})"
        self.step("namespace", "setns", type=kind, namespace=inode)

    def _inodes(self, flags: int) -> dict[str, str]:
        out = {}
        for bit, name in NS_FILES.items():
            if flags & bit:
                try:
                    out[name] = os.readlink(f"self/ns/{name}", dir_fd=self.procfd)
                except OSError as e:
                    out[name] = f"? ({e.strerror})"
        return out

    def mount(self, source: str, target: str, fstype: str, flags: int, data: list[str],
              propagation: int = 0, **args: Any) -> None:
        """One mount of the config: flags and propagation by name, the data string."""
        self.step("mount", "mount", source=source, target=target, type=fstype,
                  flags=flag_names(flags, MOUNT_FLAGS), data=",".join(data),
                  propagation=flag_names(propagation, MOUNT_FLAGS), **args)

    def capabilities(self, **args: Any) -> None:
        """The capability sets now in force (from /proc/self/status), by name, and the
        ones the bounding set lost."""
        sets = self.status_caps()
        top = len(self.caps)
        try:
            with open("sys/kernel/cap_last_cap", opener=self._opener) as f:
                top = int(f.read()) + 1
        except (OSError, ValueError):
            pass
        bounding = set(sets.get("bounding", []))
        dropped = [c for c in self.caps[:top] if c not in bounding]
        self.step("security", "capabilities", **sets, dropped_from_bounding=dropped, **args)

    def status_caps(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        try:
            with open("self/status", opener=self._opener) as f:
                status = f.read()
        except OSError:
            return out
        for line in status.splitlines():
            key, _, value = line.partition(":")
            for field, name in CAP_SETS:
                if key == field:
                    bits = int(value.strip(), 16)
                    out[name] = [self.caps[n] if n < len(self.caps) else f"CAP_{n}"
                                 for n in range(bits.bit_length()) if bits >> n & 1]
        return out

    def _opener(self, path: str, flags: int) -> int:
        return os.open(path, flags | os.O_CLOEXEC, dir_fd=self.procfd)

    def execve(self, path: str, argv: list[str], env: dict[str, str] | list[str],
               **args: Any) -> None:
        """The last step of a process before execve (which never returns when it works):
        the step, then the process's whole span. Environment values are left out."""
        names = [e.partition("=")[0] for e in env] if isinstance(env, list) else list(env)
        self.step("process", "execve", path=path, argv=list(argv), env=names, **args)
        self.finish()

    def seccomp(self, profile: dict[str, Any] | None, **args: Any) -> None:
        """A seccomp filter loaded: its default action and how many syscalls per action."""
        profile = profile or {}
        counts: dict[str, int] = {}
        for rule in profile.get("syscalls") or []:
            action = rule.get("action", "?")
            counts[action] = counts.get(action, 0) + len(rule.get("names") or [])
        self.step("security", "seccomp", default_action=profile.get("defaultAction"),
                  architectures=profile.get("architectures") or [], syscalls_by_action=counts,
                  **args)


def _caller() -> str:
    """Where the step was recorded: the first frame outside this module, as
    "minidocker/runtime/rootfs.py:Rootfs.mount" (what docs link to)."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename == __file__:
        frame = frame.f_back  # type: ignore[assignment]
    if frame is None:
        return ""
    code = frame.f_code
    path = code.co_filename
    cut = path.rfind("/minidocker/")
    return f"{path[cut + 1:] if cut >= 0 else path}:{code.co_qualname}"


# ---- reading ----------------------------------------------------------------------------


class TraceFormatError(ValueError):
    """The file is not a trace (neither the Array nor the Object Format)."""


def load(path: str) -> list[dict[str, Any]]:
    """The events of a trace file: the Array Format (with or without its closing
    bracket, a trailing comma allowed) or the Object Format ({"traceEvents": [...]})."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return parse(text)


def parse(text: str) -> list[dict[str, Any]]:
    body = text.strip()
    if not body:
        raise TraceFormatError("empty file: not a trace")
    if body.startswith("{"):
        try:
            doc = jsonfast.loads(body)
        except ValueError as e:
            raise TraceFormatError(f"not JSON: {e}")
        events = doc.get("traceEvents") if isinstance(doc, dict) else None
        if not isinstance(events, list):
            raise TraceFormatError("a JSON object without a traceEvents array")
    elif body.startswith("["):
        if not body.endswith("]"):
            body = body.rstrip(",") + "]"
        try:
            events = jsonfast.loads(body)
        except ValueError as e:
            raise TraceFormatError(f"not a JSON array of events: {e}")
    else:
        raise TraceFormatError("neither a JSON array nor an object: not a trace")
    if not all(isinstance(e, dict) for e in events):
        raise TraceFormatError("the array holds something that is not an event object")
    return events
