"""The CLI end of an attach stream (see monitor.py for the frames): copy the container's
output to our stdout/stderr, our stdin to it, forward signals and window size, and return
the exit code when the container ends."""

from __future__ import annotations

import _signal as signal  # the signal module's IntEnums import enum: 3 ms
import os
import select

from minidocker.engine.monitor import EXIT, RESIZE, SIGNAL, STDERR, STDIN, STDIN_EOF, frame

TYPE_CHECKING = False
if TYPE_CHECKING:
    import _socket
    from typing import Any

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
             signal.SIGUSR2)


def _window(fd: int) -> bytes | None:
    import fcntl
    import termios
    try:
        raw = fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8)
    except OSError:
        return None
    rows = int.from_bytes(raw[0:2], "little")
    cols = int.from_bytes(raw[2:4], "little")
    return f"{rows} {cols}".encode()


def stream(sock: _socket.socket, *, stdin: bool, tty: bool, forward_signals: bool = True
           ) -> int | None:
    """Serve the attach stream until the container exits (its code) or the stream is
    cut (None)."""
    fd = sock.fileno()
    pending: list[bytes] = []

    def send(msg: bytes) -> None:
        try:
            sock.sendall(msg)
        except OSError:
            pass

    def on_signal(signum: int, _frame: Any) -> None:
        pending.append(frame(SIGNAL, str(signum).encode()))
        if wake_w >= 0:
            try:
                os.write(wake_w, b"x")
            except OSError:
                pass

    def on_winch(_signum: int, _frame: Any) -> None:
        size = _window(0)
        if size:
            pending.append(frame(RESIZE, size))
            try:
                os.write(wake_w, b"x")
            except OSError:
                pass

    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    old: dict[int, Any] = {}
    if forward_signals and not tty:
        old = {s: signal.signal(s, on_signal) for s in FORWARDED}
    if tty:
        old[signal.SIGWINCH] = signal.signal(signal.SIGWINCH, on_winch)
        size = _window(0)
        if size:
            send(frame(RESIZE, size))
    raw = None
    if tty and stdin and os.isatty(0):
        from minidocker.runtime.console import RawTerminal
        raw = RawTerminal(0)
        raw.__enter__()
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    poller.register(wake_r, select.POLLIN)
    stdin_open = stdin
    if stdin:
        try:
            poller.register(0, select.POLLIN)
        except (OSError, ValueError):
            stdin_open = False
    buf = b""
    code: int | None = None
    try:
        while code is None:
            try:
                events = poller.poll()
            except InterruptedError:
                events = []
            while pending:
                send(pending.pop(0))
            for efd, _ in events:
                if efd == wake_r:
                    try:
                        os.read(wake_r, 512)
                    except OSError:
                        pass
                elif efd == 0:
                    try:
                        data = os.read(0, 65536)
                    except OSError:
                        data = b""
                    if data:
                        send(frame(STDIN, data))
                    else:
                        poller.unregister(0)
                        stdin_open = False
                        send(frame(STDIN_EOF, b""))
                elif efd == fd:
                    try:
                        data = sock.recv(65536)
                    except OSError:
                        data = b""
                    if not data:
                        return None
                    buf += data
                    while len(buf) >= 5:
                        length = int.from_bytes(buf[1:5], "big")
                        if len(buf) < 5 + length:
                            break
                        kind, payload = buf[0], buf[5:5 + length]
                        buf = buf[5 + length:]
                        if kind == EXIT:
                            code = int(payload or b"0")
                            break
                        _write_all(2 if kind == STDERR else 1, payload)
        return code
    finally:
        del stdin_open
        if raw is not None:
            raw.__exit__(None, None, None)
        for s, h in old.items():
            signal.signal(s, h)
        os.close(wake_r)
        os.close(wake_w)


def _write_all(fd: int, data: bytes) -> None:
    while data:
        try:
            n = os.write(fd, data)
        except BlockingIOError:
            select.select([], [fd], [])
            continue
        except BrokenPipeError:
            return
        data = data[n:]
