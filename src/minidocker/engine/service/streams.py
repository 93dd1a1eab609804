"""Attach and exec streams as objects a front end reads and writes. The CLI puts its
terminal in raw mode and forwards signals around them; the API server frames what it
reads as Docker's multiplexed stream (8-byte headers) or raw bytes with a tty.

AttachStream is one connection to a container's monitor (see engine/monitor.py for the
frames). ExecStream is the stdio of an exec'd process (pipes, or a pty master with Tty).
Both give read() -> (kind, bytes) until the end, and write()/close_stdin()/resize().
"""

from __future__ import annotations

import os

STDOUT, STDERR = 1, 2  # the kinds read() returns (Docker's stream ids: 1 stdout, 2 stderr)

TYPE_CHECKING = False
if TYPE_CHECKING:
    import _socket


class AttachStream:
    """A client of the container's monitor: its output as (kind, data), input, resize,
    signals; `exit_code` once the container has ended (None if the stream was cut)."""

    def __init__(self, sock: _socket.socket, *, tty: bool, stdin: bool):
        self.sock = sock
        self.tty = tty          # the container has a terminal: one stream, raw bytes
        self.stdin = stdin      # the container's stdin is open and ours to write
        self.exit_code: int | None = None
        self._buf = b""

    def fileno(self) -> int:
        return self.sock.fileno()

    def read(self) -> tuple[int, bytes] | None:
        """The next piece of output: (STDOUT or STDERR, data); None at the end (the
        container exited: see exit_code; or the monitor went away)."""
        from minidocker.engine.monitor import EXIT
        while True:
            frame = self._next_frame()
            if frame is None:
                try:
                    data = self.sock.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    return None
                self._buf += data
                continue
            kind, payload = frame
            if kind == EXIT:
                self.exit_code = int(payload or b"0")
                return None
            return (STDERR if kind == STDERR else STDOUT), payload

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        """For callers with their own poll loop: the output in `data` just received from
        the socket, as (kind, bytes) pieces; sets exit_code when the end is in it."""
        from minidocker.engine.monitor import EXIT
        self._buf += data
        out = []
        while self.exit_code is None:
            frame = self._next_frame()
            if frame is None:
                break
            kind, payload = frame
            if kind == EXIT:
                self.exit_code = int(payload or b"0")
                break
            out.append(((STDERR if kind == STDERR else STDOUT), payload))
        return out

    def _next_frame(self) -> tuple[int, bytes] | None:
        buf = self._buf
        if len(buf) < 5:
            return None
        length = int.from_bytes(buf[1:5], "big")
        if len(buf) < 5 + length:
            return None
        self._buf = buf[5 + length:]
        return buf[0], buf[5:5 + length]

    def _send(self, kind: int, payload: bytes) -> None:
        from minidocker.engine.monitor import frame
        try:
            self.sock.sendall(frame(kind, payload))
        except OSError:
            pass  # the monitor is gone: read() says so

    def write(self, data: bytes) -> None:
        """Input for the container's stdin."""
        from minidocker.engine.monitor import STDIN
        if data:
            self._send(STDIN, data)

    def close_stdin(self) -> None:
        """End of input: the container reads EOF (Docker's half-close)."""
        from minidocker.engine.monitor import STDIN_EOF
        self._send(STDIN_EOF, b"")

    def resize(self, rows: int, cols: int) -> None:
        from minidocker.engine.monitor import RESIZE
        self._send(RESIZE, f"{int(rows)} {int(cols)}".encode())

    def signal(self, signum: int) -> None:
        """Deliver a signal to the container's main process (sig-proxy)."""
        from minidocker.engine.monitor import SIGNAL
        self._send(SIGNAL, str(int(signum)).encode())

    def close(self) -> None:
        """Detach: the container goes on."""
        self.sock.close()

    def __enter__(self) -> AttachStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
