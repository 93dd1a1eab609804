"""Attach and exec streams as objects a front end reads and writes. The CLI puts its
terminal in raw mode and forwards signals around them; the API server frames what it
reads as Docker's multiplexed stream (8-byte headers) or raw bytes with a tty.

AttachStream is one connection to a container's monitor (see engine/monitor.py for the
frames). ExecStream is the stdio of an exec'd process (pipes, or a pty master with Tty).
Both give read() -> (kind, bytes) until the end, and write()/close_stdin()/resize().
"""

from __future__ import annotations

import os

# AttachStream lives with the container operations that return it (`run` loads no more
# modules than it needs); it is named here too, with the stream ids
from minidocker.engine.service.containers import STDERR, STDOUT, AttachStream

__all__ = ["STDERR", "STDOUT", "AttachStream", "ExecStream"]


class ExecStream:
    """The stdio of an exec'd process that the caller did not give fds for: pipes
    (stdin, stdout, stderr) or, with a tty, one pty master for both ways. `wait()` gives
    the exit code (and records it for inspect)."""

    def __init__(self, session: object, *, tty: bool, stdin_fd: int, stdout_fd: int,
                 stderr_fd: int):
        self.session = session
        self.tty = tty
        self.stdin_fd = stdin_fd    # -1 when stdin is not attached
        self.stdout_fd = stdout_fd  # the pty master with a tty
        self.stderr_fd = stderr_fd  # -1 with a tty
        self._open = [fd for fd in (stdout_fd, stderr_fd) if fd >= 0]

    def read(self) -> tuple[int, bytes] | None:
        """The next piece of output, (STDOUT or STDERR, data); None when both ends are
        closed (the process and its children are done with them)."""
        import select
        while self._open:
            ready, _, _ = select.select(self._open, [], [])
            for fd in ready:
                try:
                    data = os.read(fd, 65536)
                except OSError:  # EIO: the pty's last writer is gone
                    data = b""
                if data:
                    return (STDERR if fd == self.stderr_fd else STDOUT), data
                self._open.remove(fd)
        return None

    def write(self, data: bytes) -> None:
        fd = self.stdout_fd if self.tty else self.stdin_fd
        while data and fd >= 0:
            try:
                n = os.write(fd, data)
            except OSError:
                return
            data = data[n:]

    def close_stdin(self) -> None:
        if self.tty:
            self.write(b"\x04")  # a terminal has no half-close: EOF is ^D
        elif self.stdin_fd >= 0:
            os.close(self.stdin_fd)
            self.stdin_fd = -1

    def resize(self, rows: int, cols: int) -> None:
        if self.tty and self.stdout_fd >= 0:
            import fcntl
            import termios
            size = int(rows).to_bytes(2, "little") + int(cols).to_bytes(2, "little") + bytes(4)
            try:
                fcntl.ioctl(self.stdout_fd, termios.TIOCSWINSZ, size)
            except OSError:
                pass

    def wait(self) -> int:
        return int(self.session.wait())  # type: ignore[attr-defined]

    def close(self) -> None:
        for name in ("stdin_fd", "stdout_fd", "stderr_fd"):
            fd = getattr(self, name)
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
                setattr(self, name, -1)
        self._open = []

    def __enter__(self) -> ExecStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
