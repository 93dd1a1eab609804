"""The per-container monitor: holds the container's stdio, writes its json-file log, serves
attach clients, reaps the init and records how it ended (through exits.on_exit).

It is the container init's parent (a child subreaper: the runtime's stage 1 exits at once).
For a detached container it runs as `python -S -I monitor.py ...` with only os, select,
_socket, _json and time imported (about 3.7 MB PSS); the rest of the engine is imported
only when the container exits. A foreground `run` calls serve() in the forked process
itself (no exec: faster).

stdout/stderr are FIFOs in the record that the container holds open read-write, so a dead
monitor never makes the container's writes fail: they wait in the pipe for the next one.

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
    _import_path()
    from minidocker.engine.health import Checker
    from minidocker.engine.records import Record
    check = (Record(root, cid).config.get("Config") or {}).get("Healthcheck") or {}
    return Checker(root, cid, check) if check else None


class Client:
    def __init__(self, fd: int):
        self.fd = fd
        self.inbuf = b""
        self.outbuf = b""


class Monitor:
    def __init__(self, root: str, cid: str, pid: int, outputs: dict[int, int], stdin_fd: int,
                 master: int, listen_fd: int, client_fds: list[int], log_path: str,
                 options: str = "0:1:1:0"):
        """options: start.monitor_options(), "MAX_SIZE:MAX_FILES:LOG_ON:HEALTH"."""
        self.root = root
        self.cid = cid
        self.pid = pid
        self.outputs = outputs  # fd -> STDOUT/STDERR
        self.stdin_fd = stdin_fd
        self.master = master
        self.listen_fd = listen_fd
        max_size, max_files, log_on, health = (int(x) for x in options.split(":"))
        self.log = LogWriter(log_path, max_size, max_files, enabled=bool(log_on))
        self.health: Any = _health_checker(root, cid) if health else None
        self.health_pidfd = -1
        self.poll = select.epoll()
        self.clients: dict[int, Client] = {}
        self.pidfd = -1
        for fd in outputs:
            os.set_blocking(fd, False)
            self.poll.register(fd, select.EPOLLIN)
        if master >= 0:
            os.set_blocking(master, False)
            self.poll.register(master, select.EPOLLIN)
        if listen_fd >= 0:
            self.poll.register(listen_fd, select.EPOLLIN)
        for fd in client_fds:
            self.add_client(fd)
        self.watch(pid)

    def watch(self, pid: int) -> None:
        if self.pidfd >= 0:
            self.poll.unregister(self.pidfd)
            os.close(self.pidfd)
        self.pid = pid
        self.pidfd = os.pidfd_open(pid)
        self.poll.register(self.pidfd, select.EPOLLIN)

    def add_client(self, fd: int) -> None:
        os.set_blocking(fd, False)
        self.clients[fd] = Client(fd)
        self.poll.register(fd, select.EPOLLIN)

    def drop_client(self, fd: int) -> None:
        client = self.clients.pop(fd, None)
        if client is not None:
            try:
                self.poll.unregister(fd)
            except (OSError, ValueError):
                pass
            os.close(fd)

    # ---- output ----

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
        try:
            self.poll.modify(client.fd, select.EPOLLIN | (select.EPOLLOUT if client.outbuf
                                                           else 0))
        except (OSError, ValueError):
            pass

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
                try:
                    self.poll.unregister(fd)
                except (OSError, ValueError):
                    pass
                return False
            self.output(kind, data)

    # ---- input ----

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

    # ---- the loop ----

    def run(self) -> int:
        """Serve until the container ends for good; returns its exit code."""
        while True:
            status = self.wait_exit()
            self.drain()
            self.log.flush()
            code, restarted = self.finish(status)
            if restarted is None:
                break
            self.start_again(*restarted)
        msg = frame(EXIT, str(code).encode())
        for client in list(self.clients.values()):
            try:
                os.set_blocking(client.fd, True)
                os.write(client.fd, client.outbuf + msg)
            except OSError:
                pass
            self.drop_client(client.fd)
        return code

    def wait_exit(self) -> int:
        while True:
            timeout = self.health.when() if self.health else -1
            for fd, events in self.poll.poll(timeout):
                if fd == self.health_pidfd:
                    self.health_ended()
                elif fd == self.pidfd:
                    try:
                        got, status = os.waitpid(self.pid, os.WNOHANG)
                    except ChildProcessError:  # not our child: an adopted container
                        return _exit_status(self.pid, self.pidfd)
                    if got:
                        return status
                elif fd in self.outputs or fd == self.master:
                    self.read_output(fd)
                elif fd == self.listen_fd:
                    self.accept()
                elif fd in self.clients:
                    client = self.clients[fd]
                    if events & select.EPOLLOUT:
                        self.flush_client(client)
                    if events & (select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR) and \
                            fd in self.clients:
                        self.client_input(client)
            if self.health:
                self.health.poll_output()
                if self.health.tick() >= 0:  # a check started: wake up when it ends
                    self.health_pidfd = os.pidfd_open(self.health.pid)
                    self.poll.register(self.health_pidfd, select.EPOLLIN)
            self.reap_others()

    def health_ended(self) -> None:
        """The running healthcheck's process ended: reap it, record the result."""
        self.poll.unregister(self.health_pidfd)
        os.close(self.health_pidfd)
        self.health_pidfd = -1
        try:
            _, status = os.waitpid(self.health.pid, 0)
        except ChildProcessError:
            status = 255 << 8
        self.health.end(status)

    def reap_others(self) -> None:
        """Zombies reparented to us (we are a subreaper) other than the init."""
        while True:
            try:
                info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                return
            if info is None or info.si_pid == self.pid:
                return
            if self.health and info.si_pid == self.health.pid and self.health_pidfd >= 0:
                self.health_ended()  # a check: its status is the result
                continue
            try:
                os.waitpid(info.si_pid, 0)
            except ChildProcessError:
                return

    def drain(self) -> None:
        """After the init died: read what its processes wrote until every writer is gone."""
        deadline = time.monotonic() + 2.0
        open_fds = [fd for fd in self.outputs] + ([self.master] if self.master >= 0 else [])
        while open_fds and time.monotonic() < deadline:
            for fd in list(open_fds):
                if not self.read_output(fd):
                    open_fds.remove(fd)
            if open_fds:
                time.sleep(0.005)

    def finish(self, status: int) -> tuple[int, tuple[int, int] | None]:
        """Record the end; (exit code, (new pid, new master) if restarted by policy)."""
        _import_path()
        import importlib
        exits = importlib.import_module("minidocker.engine.exits")
        result: tuple[int, tuple[int, int] | None] = exits.on_exit(self.root, self.cid,
                                                                    status)
        return result

    def start_again(self, pid: int, master: int) -> None:
        if self.health:
            self.health.restart()
        import importlib
        start = importlib.import_module("minidocker.engine.start")
        outputs: dict[int, int] = start.open_outputs(self.root, self.cid)
        for fd in self.outputs:
            os.close(fd)
        self.outputs = {}
        for fd, kind in outputs.items():
            os.set_blocking(fd, False)
            self.outputs[fd] = kind
            self.poll.register(fd, select.EPOLLIN)
        if self.master >= 0:
            os.close(self.master)
        self.master = master
        if master >= 0:
            os.set_blocking(master, False)
            self.poll.register(master, select.EPOLLIN)
        self.watch(pid)


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


def _import_path() -> None:
    import sys
    src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if src not in sys.path:
        sys.path.insert(0, src)


def main(argv: list[str]) -> int:
    """monitor.py ROOT ID PID OUT ERR STDIN MASTER LISTEN LOG OPTIONS [CLIENT]  (fds as
    numbers; OPTIONS: start.monitor_options())."""
    root, cid = argv[0], argv[1]
    pid, out_fd, err_fd, in_fd, master, listen_fd = (int(x) for x in argv[2:8])
    log_path, options = argv[8], argv[9]
    clients = [int(x) for x in argv[10:]]
    outputs = {fd: kind for fd, kind in ((out_fd, STDOUT), (err_fd, STDERR)) if fd >= 0}
    mon = Monitor(root, cid, pid, outputs, in_fd, master, listen_fd, clients, log_path,
                  options)
    try:
        mon.run()
    except BaseException as e:  # keep a record of why, then let the next command reconcile
        try:
            with open(os.path.join(root, "containers", cid, "monitor.err"), "a") as f:
                f.write(f"{log_time()} {type(e).__name__}: {e}\n")
        except OSError:
            pass
        return 1
    return 0


if __name__ == "__main__":
    import sys
    sys.exit(main(sys.argv[1:]))
