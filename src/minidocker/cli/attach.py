"""The terminal end of an attach stream (`run`, `start -a`, `attach`): copy the
container's output to our stdout/stderr and our stdin to it, put the terminal in raw mode
with a tty, forward signals (sig-proxy) and window size, detach on the detach keys
(Ctrl-P Ctrl-Q); the exit code when the container ends. The stream itself is the
service layer's AttachStream."""

from __future__ import annotations

import _signal as signal  # the signal module's IntEnums import enum: 3 ms
import os
import select

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from minidocker.engine.service.containers import AttachStream

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
             signal.SIGUSR2)
DETACHED = -1  # what stream() returns when the user typed the detach keys
DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q"
_CTRL = {"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}


def detach_keys(text: str | None, config_dir: str | None = None) -> bytes:
    """Docker's --detach-keys ("ctrl-p,ctrl-q": a comma-separated list of single
    characters and ctrl-<a-z @ [ \\ ] ^ _>) as bytes; without it, detachKeys of the
    client's config.json (Docker's too), else Ctrl-P Ctrl-Q. UsageError if malformed."""
    from minidocker.errors import UsageError
    if text is None:
        text = _configured(config_dir) or DEFAULT_DETACH_KEYS
    out = bytearray()
    for key in text.split(","):
        low = key.lower()
        if len(key) == 1:
            out.append(ord(key))
        elif low.startswith("ctrl-") and len(key) == 6 and \
                ("a" <= low[5] <= "z" or low[5] in _CTRL):
            out.append(ord(low[5]) - ord("a") + 1 if "a" <= low[5] <= "z" else _CTRL[low[5]])
        else:
            raise UsageError(f"Invalid detach keys ({text}) provided",
                             hint="a comma-separated list of characters and ctrl-<a-z, @, "
                             "[, \\, ], ^ or _>, as ctrl-p,ctrl-q")
    if not out or max(out) > 127:
        raise UsageError(f"Invalid detach keys ({text}) provided")
    return bytes(out)


def _configured(config_dir: str | None) -> str | None:
    from minidocker import jsonfast  # json costs `run` its imports
    path = os.path.join(config_dir or os.environ.get("DOCKER_CONFIG") or
                        os.path.join(os.path.expanduser("~"), ".docker"), "config.json")
    try:
        with open(path, "rb") as f:
            keys = jsonfast.loads(f.read()).get("detachKeys")
    except (OSError, ValueError, AttributeError):
        return None
    return keys if isinstance(keys, str) and keys else None


class EscapeMatcher:
    """Docker's escape proxy on what the user types: the bytes of the detach sequence
    are held back while they match it, and passed on with the next byte that does not;
    the whole sequence detaches."""

    def __init__(self, keys: bytes):
        self.keys = keys
        self.held = 0  # how many of keys are held back

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        """(what to send the container, whether the sequence is complete)."""
        out = bytearray()
        for byte in data:
            if byte == self.keys[self.held]:
                self.held += 1
                if self.held == len(self.keys):
                    self.held = 0
                    return bytes(out), True
                continue
            out += self.keys[:self.held]
            self.held = 0
            if byte == self.keys[0]:
                if len(self.keys) == 1:
                    return bytes(out), True
                self.held = 1
            else:
                out.append(byte)
        return bytes(out), False


def _window(fd: int) -> tuple[int, int] | None:
    import fcntl
    import termios
    try:
        raw = fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8)
    except OSError:
        return None
    return int.from_bytes(raw[0:2], "little"), int.from_bytes(raw[2:4], "little")


def stream(att: AttachStream, *, stdin: bool, tty: bool, forward_signals: bool = True,
           outputs: tuple[int, ...] = (1, 2), keys: bytes | None = None) -> int | None:
    """Serve the attach stream until the container exits (its code), the stream is cut
    (None) or the user types the detach `keys` (DETACHED; as Docker's, only with a tty:
    Docker's default when None). `outputs`: the streams shown (run -a: 1 stdout, 2
    stderr)."""
    from minidocker.engine.service.containers import STDERR
    fd = att.fileno()
    escape = EscapeMatcher(keys or detach_keys(None)) if tty and stdin else None
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
                    if data and escape is not None:
                        data, detached = escape.feed(data)
                        if data:
                            att.write(data)
                        if detached:
                            return DETACHED
                    elif data:
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


def finish(code: int | None, why: Callable[[], str] | None = None) -> int:
    """The command's exit code from stream()'s result, with Docker's words for a
    detach (the container goes on), or for a stream that ended without the container's
    exit code: `why` says why (an rm -f removed it), else the monitor was lost."""
    import sys
    if code == DETACHED:
        sys.stdout.write("read escape sequence\n")
        sys.stdout.flush()
        return 0
    if code is None:
        message = why() if why is not None else "lost the container's monitor"
        sys.stderr.write(f"minidocker: error: {message}\n")
        return 125
    return code


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
