"""Watching containers: their stdio into the json-file log and to attach clients, the
attach socket, stdin, healthchecks, and the init's end (then exits.on_exit records it and
applies --restart and --rm).

A Loop is what one process watches: an epoll set whose fds are dispatched to handlers,
and the processes whose end it waits for (its children, reaped here, or an adopted
container's init, whose status is read from its zombie or its pidfd). A Watch is one
container on a Loop. Two owners use them: the Monitor, the forked process that serves a
foreground `run` (the container's only watcher, it applies the exit policy in-process),
and the root's supervisor (engine/supervisor.py), which watches every detached container
of a root in one process.

stdout/stderr are FIFOs in the record that the container holds open read-write, so a dead
watcher never makes the container's writes fail: they wait in the pipe for the next one.

Attach protocol (stream sockets), frames of [kind:1][length:4, big-endian][payload]:
  to clients:   1 stdout, 2 stderr, 3 exit (payload: the exit code in ASCII)
  from clients: 0 stdin data, 4 stdin closed, 5 resize ("rows cols"), 6 signal (number)
"""

from __future__ import annotations

import os
import select
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

STDOUT, STDERR, EXIT, STDIN, STDIN_EOF, RESIZE, SIGNAL = 1, 2, 3, 0, 4, 5, 6
MAX_CLIENT_BACKLOG = 4 << 20
DISK_FULL = (28, 122, 27)  # ENOSPC, EDQUOT, EFBIG: output that does not fit is dropped
LOG_LINE_MAX = 16 * 1024


def frame(kind: int, payload: bytes) -> bytes:
    return bytes((kind,)) + len(payload).to_bytes(4, "big") + payload


def log_time() -> str:
    ns = time.time_ns()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9)) + \
        f".{ns % 10**9:09d}Z"


class LogWriter:
    """Docker's json-file format: {"log":"line\\n","stream":"stdout","time":"..."} per line.
    With `max_size`, the file is rotated before a write would start past it: PATH becomes
    PATH.1 (PATH.1 PATH.2, ...) and at most `max_files` files are kept, PATH included
    (one: PATH is emptied). `enabled` False (--log-driver none): nothing is written."""

    def __init__(self, path: str, max_size: int = 0, max_files: int = 1,
                 enabled: bool = True):
        from _json import encode_basestring
        self.encode = encode_basestring
        self.path = path
        self.max_size = max_size
        self.max_files = max(1, max_files)
        self.enabled = enabled
        self.fd = -1
        self.size = 0
        self.dropped = 0  # writes lost to a full disk
        if enabled and self._open(truncate=False):
            self.size = os.fstat(self.fd).st_size
        self.partial = {STDOUT: b"", STDERR: b""}

    def _append(self, entries: list[bytes]) -> None:
        """Write whole entries, rotating between two when the next would pass max_size."""
        if not self.enabled:
            return
        if not self.max_size:
            self._write(b"".join(entries))
            return
        batch: list[bytes] = []
        pending = 0
        for entry in entries:
            if self.size + pending and self.size + pending + len(entry) > self.max_size:
                if batch:
                    self.size += self._write(b"".join(batch))
                self._rotate()
                batch, pending = [], 0
            batch.append(entry)
            pending += len(entry)
        if batch:
            self.size += self._write(b"".join(batch))

    def _write(self, data: bytes) -> int:
        """Append whole entries; returns the bytes kept. On a full disk what does not fit
        is dropped — the container keeps running, its output drained — and an entry cut
        off in the middle is removed again: never half a line in the log."""
        if self.fd < 0 and not self._open(truncate=False):
            self.dropped += 1
            return 0
        try:
            n = os.write(self.fd, data)
        except OSError as e:
            if e.errno not in DISK_FULL:
                raise
            self.dropped += 1
            return 0
        if n < len(data):
            keep = data.rfind(b"\n", 0, n) + 1  # the entries that fit whole
            try:
                os.ftruncate(self.fd, os.fstat(self.fd).st_size - n + keep)
            except OSError:
                pass
            self.dropped += 1
            return keep
        return n

    def _open(self, truncate: bool) -> bool:
        try:
            self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
                              | (os.O_TRUNC if truncate else 0), 0o640)
        except OSError as e:
            if e.errno not in DISK_FULL:
                raise
            self.fd = -1  # tried again at the next write
            return False
        return True

    def _rotate(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        for i in range(self.max_files - 1, 0, -1):
            try:
                os.rename(f"{self.path}.{i - 1}" if i > 1 else self.path, f"{self.path}.{i}")
            except FileNotFoundError:
                pass
        self._open(truncate=True)
        self.size = 0

    def write(self, kind: int, data: bytes) -> None:
        buf = self.partial[kind] + data
        lines = buf.split(b"\n")
        rest = lines.pop()
        out = []
        for line in lines:
            while len(line) >= LOG_LINE_MAX:  # Docker cuts lines at 16 KiB
                out.append(self._entry(kind, line[:LOG_LINE_MAX]))
                line = line[LOG_LINE_MAX:]
            out.append(self._entry(kind, line + b"\n"))
        while len(rest) >= LOG_LINE_MAX:
            out.append(self._entry(kind, rest[:LOG_LINE_MAX]))
            rest = rest[LOG_LINE_MAX:]
        self.partial[kind] = rest
        if out:
            self._append(out)

    def flush(self) -> None:
        for kind, rest in self.partial.items():
            if rest:
                self._append([self._entry(kind, rest)])
                self.partial[kind] = b""

    def _entry(self, kind: int, data: bytes) -> bytes:
        stream = "stdout" if kind == STDOUT else "stderr"
        text = self.encode(data.decode("utf-8", "replace"))
        return f'{{"log":{text},"stream":"{stream}","time":"{log_time()}"}}\n'.encode()


def _health_checker(root: str, cid: str) -> Any:
    """The container's health.Checker (from Config.Healthcheck); None if it has none."""
    from minidocker.engine.health import Checker
    from minidocker.engine.records import Record
    check = (Record(root, cid).config.get("Config") or {}).get("Healthcheck") or {}
    return Checker(root, cid, check) if check else None


class Client:
    def __init__(self, fd: int):
        self.fd = fd
        self.inbuf = b""
        self.outbuf = b""


class Loop:
    """The fds and the processes one process watches (see the module's docstring)."""

    def __init__(self) -> None:
        self.poll = select.epoll()
        self.handlers: dict[int, Callable[[int, int], None]] = {}
        self.children: dict[int, tuple[int, Callable[[int], None]]] = {}  # pid: pidfd, ended

    def add(self, fd: int, handler: Callable[[int, int], None],
            events: int = select.EPOLLIN) -> None:
        self.handlers[fd] = handler
        self.poll.register(fd, events)

    def modify(self, fd: int, events: int) -> None:
        try:
            self.poll.modify(fd, events)
        except (OSError, ValueError):
            pass

    def remove(self, fd: int) -> None:
        """Stop watching `fd` (the caller closes it)."""
        if self.handlers.pop(fd, None) is not None:
            try:
                self.poll.unregister(fd)
            except (OSError, ValueError):
                pass

    def watch_process(self, pid: int, ended: Callable[[int], None]) -> None:
        """Call ended(wait status) once when `pid` ends: our child (reaped here), or not (an
        adopted container's init, whose parent is PID 1 or another subreaper)."""
        pidfd = os.pidfd_open(pid)

        def event(fd: int, _events: int) -> None:
            try:
                got, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:  # not our child
                got, status = pid, _exit_status(pid, pidfd, timeout=0.1)
            if got:
                self.process_ended(pid, status)
        self.children[pid] = (pidfd, ended)
        self.add(pidfd, event)

    def forget_process(self, pid: int) -> None:
        pidfd, _ = self.children.pop(pid, (-1, None))
        if pidfd >= 0:
            self.remove(pidfd)
            os.close(pidfd)

    def process_ended(self, pid: int, status: int) -> None:
        _, ended = self.children.get(pid, (-1, None))
        self.forget_process(pid)
        if ended is not None:
            ended(status)

    def wait(self, timeout: float) -> None:
        """Wait up to `timeout` seconds (-1: for ever) for events, handle them, then reap
        the children that ended (the ones nobody waits for too: we are a subreaper)."""
        for fd, events in self.poll.poll(timeout):
            handler = self.handlers.get(fd)
            if handler is not None:
                handler(fd, events)
        self.reap()

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if not pid:
                return
            if pid in self.children:
                self.process_ended(pid, status)
            else:
                self.unclaimed(pid, status)

    def unclaimed(self, pid: int, status: int) -> None:
        """A child nobody watched ended (a process of a container that outlived its init)."""

    def fds(self) -> list[int]:
        """Every fd the loop watches, and the loop's own (what a forked child closes)."""
        return [*self.handlers, self.poll.fileno()]


class Watch:
    """One container on a Loop: its outputs into the log and to the attach clients, its
    attach socket and stdin, its healthcheck, and its init: once it ended (`status`,
    `on_end` told), drained() says when what it wrote has been read."""

    def __init__(self, loop: Loop, root: str, cid: str, outputs: dict[int, int],
                 stdin_fd: int, master: int, listen_fd: int, client_fds: list[int],
                 log_path: str, options: str = "0:1:1:0"):
        """options: start.monitor_options(), "MAX_SIZE:MAX_FILES:LOG_ON:HEALTH"."""
        self.loop = loop
        self.root = root
        self.cid = cid
        self.pid = 0
        self.outputs: dict[int, int] = {}  # fd -> STDOUT/STDERR
        # the outputs not at their end yet: the ones at it stay open (read ends that keep
        # the FIFO's pipe, and what a restarted init writes before we open it again)
        self.reading: set[int] = set()
        self.stdin_fd = stdin_fd
        self.master = -1
        self.listen_fd = listen_fd
        max_size, max_files, log_on, health = (int(x) for x in options.split(":"))
        self.log = LogWriter(log_path, max_size, max_files, enabled=bool(log_on))
        self.health: Any = _health_checker(root, cid) if health else None
        self.health_out = -1
        self.clients: dict[int, Client] = {}
        self.status: int | None = None  # the init's wait status, once it ended
        self.drain_until = 0.0
        self.on_end: Callable[[], None] | None = None  # told when the init ended
        self.take_outputs(outputs, master)
        if listen_fd >= 0:
            loop.add(listen_fd, lambda fd, ev: self.accept())
        for fd in client_fds:
            self.add_client(fd)

    def take_outputs(self, outputs: dict[int, int], master: int) -> None:
        """The container's stdout/stderr (and pty master) to read: at the start, and after
        a restart (the old ones ended with the old init)."""
        for fd in list(self.outputs) + ([self.master] if self.master >= 0 else []):
            self.loop.remove(fd)
            os.close(fd)
        self.outputs = dict(outputs)
        self.master = master
        self.reading = {fd for fd in [*outputs, master] if fd >= 0}
        for fd in self.reading:
            os.set_blocking(fd, False)
            self.loop.add(fd, self.readable)

    def watch(self, pid: int) -> None:
        """Wait for the init `pid`; once it ended, drained() says when to handle that."""
        self.pid = pid
        self.status = None

        def init_ended(status: int) -> None:
            self.status = status
            self.drain_until = time.monotonic() + 2.0
            if self.on_end is not None:
                self.on_end()
        self.loop.watch_process(pid, init_ended)

    def drained(self) -> bool:
        """The init ended and what its processes wrote was read (every writer gone, or
        the 2 s it may take are over)."""
        if self.status is None:
            return False
        for fd in list(self.reading):
            self.readable(fd, 0)  # a FIFO nobody opened has no event to tell its end
        if not self.reading or time.monotonic() >= self.drain_until:
            self.log.flush()
            return True
        return False

    def timeout(self) -> float:
        """Seconds until this watch needs the loop (a drain's end, a healthcheck), or -1."""
        if self.status is not None:
            return max(0.0, self.drain_until - time.monotonic())
        return self.health.when() if self.health else -1

    def end(self, code: int) -> None:
        """The container ended for good: tell the clients its exit code, close it all."""
        msg = frame(EXIT, str(code).encode())
        for client in list(self.clients.values()):
            try:
                os.set_blocking(client.fd, True)
                os.write(client.fd, client.outbuf + msg)
            except OSError:
                pass
            self.drop_client(client.fd)
        self.close()

    def close(self) -> None:
        self._stop_health()
        if self.pid:
            self.loop.forget_process(self.pid)
        for fd in [*self.outputs, self.master, self.listen_fd, self.stdin_fd, *self.clients]:
            if fd >= 0:
                self.loop.remove(fd)
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.outputs, self.clients, self.reading = {}, {}, set()
        self.master = self.listen_fd = self.stdin_fd = -1

    # ---- output ----

    def readable(self, fd: int, _events: int) -> None:
        if not self.read_output(fd):
            self.loop.remove(fd)
            self.reading.discard(fd)

    def read_output(self, fd: int) -> bool:
        """Read what is there; False at EOF (or error)."""
        kind = STDOUT if fd == self.master else self.outputs[fd]
        while True:
            try:
                data = os.read(fd, 65536)
            except BlockingIOError:
                return True
            except OSError:  # EIO: the pty's last peer closed
                data = b""
            if not data:
                return False
            self.output(kind, data)

    def output(self, kind: int, data: bytes) -> None:
        self.log.write(kind, data)
        msg = frame(kind, data)
        for client in list(self.clients.values()):
            self.send(client, msg)

    def send(self, client: Client, msg: bytes) -> None:
        client.outbuf += msg
        self.flush_client(client)

    def flush_client(self, client: Client) -> None:
        while client.outbuf:
            try:
                n = os.write(client.fd, client.outbuf)
            except BlockingIOError:
                break
            except OSError:
                self.drop_client(client.fd)
                return
            client.outbuf = client.outbuf[n:]
        if len(client.outbuf) > MAX_CLIENT_BACKLOG:
            self.drop_client(client.fd)  # a client that does not read: not our problem
            return
        self.loop.modify(client.fd, select.EPOLLIN | (select.EPOLLOUT if client.outbuf
                                                        else 0))

    # ---- clients and input ----

    def accept(self) -> None:
        import _socket
        sock = _socket.socket(fileno=self.listen_fd)
        try:
            fd, _ = sock._accept()  # type: ignore[attr-defined]
        except OSError:
            return
        finally:
            sock.detach()
        self.add_client(fd)

    def add_client(self, fd: int) -> None:
        os.set_blocking(fd, False)
        os.set_inheritable(fd, False)  # a client fd passed in a message is not close-on-exec
        self.clients[fd] = Client(fd)
        self.loop.add(fd, self.client_event)

    def drop_client(self, fd: int) -> None:
        if self.clients.pop(fd, None) is not None:
            self.loop.remove(fd)
            os.close(fd)

    def client_event(self, fd: int, events: int) -> None:
        client = self.clients[fd]
        if events & select.EPOLLOUT:
            self.flush_client(client)
        if events & (select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR) and \
                fd in self.clients:
            self.client_input(client)

    def client_input(self, client: Client) -> None:
        try:
            data = os.read(client.fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.drop_client(client.fd)
            return
        client.inbuf += data
        while len(client.inbuf) >= 5:
            kind = client.inbuf[0]
            size = int.from_bytes(client.inbuf[1:5], "big")
            if len(client.inbuf) < 5 + size:
                break
            payload = client.inbuf[5:5 + size]
            client.inbuf = client.inbuf[5 + size:]
            self.handle(kind, payload)

    def handle(self, kind: int, payload: bytes) -> None:
        target = self.master if self.master >= 0 else self.stdin_fd
        if kind == STDIN and target >= 0:
            try:
                os.set_blocking(target, True)
                os.write(target, payload)
            except OSError:
                pass
            finally:
                if target == self.master:
                    os.set_blocking(target, False)
        elif kind == STDIN_EOF and self.stdin_fd >= 0 and self.master < 0:
            os.close(self.stdin_fd)
            self.stdin_fd = -1
        elif kind == RESIZE and self.master >= 0:
            try:
                import fcntl
                rows, cols = (int(x) for x in payload.split())
                size = rows.to_bytes(2, "little") + cols.to_bytes(2, "little") + bytes(4)
                fcntl.ioctl(self.master, 0x5414, size)  # TIOCSWINSZ
            except (OSError, ValueError):
                pass
        elif kind == SIGNAL:
            try:
                os.kill(self.pid, int(payload))
            except (OSError, ValueError):
                pass

    # ---- healthcheck ----

    def check_health(self) -> None:
        """Start a check that is due, kill a late one (the loop calls it on wake-ups)."""
        if self.health is None or self.status is not None:
            return
        if self.health.tick() >= 0:  # a check started: its output, then its end
            self.health_out = self.health.out_fd
            self.loop.add(self.health_out, lambda fd, ev: self.health.read())
            self.loop.watch_process(self.health.pid, self.health_ended)

    def health_ended(self, status: int) -> None:
        if self.health_out >= 0:
            self.loop.remove(self.health_out)  # health.end() reads the rest and closes it
            self.health_out = -1
        self.health.end(status)

    def _stop_health(self) -> None:
        """Kill a running check (it is reaped as any orphan) and stop watching it."""
        if self.health is None:
            return
        if self.health_out >= 0:
            self.loop.remove(self.health_out)
            self.health_out = -1
        if self.health.pid:
            self.loop.forget_process(self.health.pid)
        self.health.cancel()

    def reopen(self, master: int) -> None:
        """The exit policy started the container again: its new outputs and pty, and its
        healthcheck from the start (the new init is watched next)."""
        from minidocker.engine.start import open_outputs
        if self.health:
            self._stop_health()
            self.health.restart()
        self.take_outputs(open_outputs(self.root, self.cid), master)


class Monitor:
    """The process that serves a foreground `run`: one Watch, the container's only
    watcher; the init's parent (a child subreaper: the runtime's stage 1 exits at once),
    it applies the exit policy (exits.on_exit) in-process."""

    def __init__(self, root: str, cid: str, pid: int, outputs: dict[int, int], stdin_fd: int,
                 master: int, listen_fd: int, client_fds: list[int], log_path: str,
                 options: str = "0:1:1:0"):
        self.loop = Loop()
        self.watch = Watch(self.loop, root, cid, outputs, stdin_fd, master, listen_fd,
                           client_fds, log_path, options)
        self.watch.watch(pid)

    def run(self) -> int:
        """Serve until the container ends for good; returns its exit code."""
        watch = self.watch
        while True:
            while not watch.drained():
                watch.check_health()
                self.loop.wait(watch.timeout())
            assert watch.status is not None
            code, restarted = self.finish(watch.status)
            if restarted is None:
                break
            pid, master = restarted
            watch.reopen(master)
            watch.watch(pid)
        watch.end(code)
        return code

    def finish(self, status: int) -> tuple[int, tuple[int, int] | None]:
        """Record the end; (exit code, (new pid, new master) if restarted by policy)."""
        from minidocker.engine.exits import on_exit
        return on_exit(self.watch.root, self.watch.cid, status)


# ioctl(pidfd, PIDFD_GET_INFO) with PIDFD_INFO_EXIT (Linux 6.15): the wait status of a
# process that has been reaped, by anyone, for the holder of a pidfd opened before that
PIDFD_GET_INFO = (3 << 30) | (64 << 16) | (0xFF << 8) | 11  # _IOWR(0xFF, 11, 64 bytes)
PIDFD_INFO_EXIT = 1 << 3


def _exit_status(pid: int, pidfd: int, timeout: float = 2.0) -> int:
    """The wait status of an exited process that is not our child (an adopted container's
    init, reaped by PID 1 or another subreaper): from its zombie in /proc while it is one,
    else from the pidfd once its reaper has collected it; 255 when neither tells."""
    deadline = time.monotonic() + timeout
    while True:
        status = _zombie_status(pid)
        if status is None:
            status = _pidfd_exit_status(pidfd)
        if status is not None:
            return status
        if time.monotonic() > deadline:
            return 255 << 8
        time.sleep(0.005)  # between the zombie's end and the kernel's record of its exit


def _zombie_status(pid: int) -> int | None:
    """The wait status of a process that is not our child, read while it is a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2:].split()
    if fields[0] == b"Z" and len(fields) > 49:
        return int(fields[49])
    return None


def _pidfd_exit_status(pidfd: int) -> int | None:
    import fcntl
    buf = bytearray(64)
    buf[0:8] = PIDFD_INFO_EXIT.to_bytes(8, sys.byteorder)
    try:
        fcntl.ioctl(pidfd, PIDFD_GET_INFO, buf)
    except OSError:  # ENOTTY/EINVAL before 6.13; ESRCH: not reaped yet, on some kernels
        return None
    if not int.from_bytes(buf[0:8], sys.byteorder) & PIDFD_INFO_EXIT:
        return None  # not reaped yet
    return int.from_bytes(buf[60:64], sys.byteorder, signed=True)
