"""The terminal end of an attach stream (`run`, `start -a`, `attach`): copy the
container's output to our stdout/stderr and our stdin to it, put the terminal in raw mode
with a tty, forward signals (sig-proxy) and window size; the exit code when the
container ends. The stream itself is the service layer's AttachStream."""

from __future__ import annotations

import _signal as signal  # the signal module's IntEnums import enum: 3 ms
import os
import select

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from minidocker.engine.service.containers import AttachStream

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
             signal.SIGUSR2)


def _window(fd: int) -> tuple[int, int] | None:
    import fcntl
    import termios
    try:
        raw = fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8)
    except OSError:
        return None
    return int.from_bytes(raw[0:2], "little"), int.from_bytes(raw[2:4], "little")


def stream(att: AttachStream, *, stdin: bool, tty: bool, forward_signals: bool = True,
           outputs: tuple[int, ...] = (1, 2)) -> int | None:
    """Serve the attach stream until the container exits (its code) or the stream is
    cut (None). `outputs`: the streams shown (run -a: 1 stdout, 2 stderr)."""
    from minidocker.engine.service.containers import STDERR
    fd = att.fileno()
    pending: list[tuple[str, Any]] = []

    def wake() -> None:
        try:
            os.write(wake_w, b"x")
        except OSError:
            pass

    def on_signal(signum: int, _frame: Any) -> None:
        pending.append(("signal", signum))
        wake()

    def on_winch(_signum: int, _frame: Any) -> None:
        size = _window(0)
        if size:
            pending.append(("resize", size))
            wake()

    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    old: dict[int, Any] = {}
    if forward_signals and not tty:
        old = {s: signal.signal(s, on_signal) for s in FORWARDED}
    if tty:
        old[signal.SIGWINCH] = signal.signal(signal.SIGWINCH, on_winch)
        size = _window(0)
        if size:
            att.resize(*size)
    raw = None
    if tty and stdin and os.isatty(0):
        from minidocker.runtime.console import RawTerminal
        raw = RawTerminal(0)
        raw.__enter__()
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    poller.register(wake_r, select.POLLIN)
    if stdin:
        try:
            poller.register(0, select.POLLIN)
        except (OSError, ValueError):
            pass
    try:
        while att.exit_code is None:
            try:
                events = poller.poll()
            except InterruptedError:
                events = []
            while pending:
                kind, value = pending.pop(0)
                if kind == "signal":
                    att.signal(value)
                else:
                    att.resize(*value)
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
                        att.write(data)
                    else:
                        poller.unregister(0)
                        att.close_stdin()
                elif efd == fd:
                    try:
                        data = att.sock.recv(65536)
                    except OSError:
                        data = b""
                    if not data:
                        return None
                    for stream_id, payload in att.feed(data):
                        if stream_id in outputs:
                            _write_all(2 if stream_id == STDERR else 1, payload)
        return att.exit_code
    finally:
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
