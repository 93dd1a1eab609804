"""The CLI's sink: the engine's progress rendered as Docker shows it, per layer, redrawn
in place on a terminal, one line per finished step otherwise (so logs stay readable);
its warnings as `minidocker: warning: ...` lines on stderr."""

from __future__ import annotations

import _thread  # not threading: `run` would import it for a lock it rarely needs
import sys

from minidocker.sink import Sink

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO


class Progress(Sink):
    """Progress on `out` (stdout; `run` and `create` give stderr, as Docker, to keep
    stdout for the container), nothing with `quiet`; warnings on `err` (stderr)."""

    def __init__(self, out: TextIO | None = None, quiet: bool = False,
                 err: TextIO | None = None):
        self.out = out or sys.stdout
        self.err = err
        self.quiet = quiet
        self.live = not quiet and self.out.isatty()
        self.lock = _thread.allocate_lock()
        self.order: list[str] = []
        self.states: dict[str, str] = {}
        self.done: dict[str, int] = {}
        self.total: dict[str, int] = {}
        self.drawn = 0

    def warning(self, message: str) -> None:
        err = self.err or sys.stderr
        err.write(f"minidocker: warning: {message}\n")
        err.flush()

    def status(self, text: str) -> None:
        if not self.quiet:
            with self.lock:
                self.out.write(text + "\n")
                self.out.flush()
                self.drawn = 0 if not self.live else self.drawn

    def item(self, key: str, status: str, total: int = 0) -> None:
        with self.lock:
            if key not in self.states:
                self.order.append(key)
            self.states[key] = status
            self.total[key] = total
            self.done.setdefault(key, 0)
            self._draw(key)

    def update(self, key: str, status: str) -> None:
        with self.lock:
            if key not in self.states:
                self.order.append(key)
                self.total.setdefault(key, 0)
                self.done.setdefault(key, 0)
            self.states[key] = status
            self._draw(key, final=True)

    def advance(self, key: str, n: int) -> None:
        with self.lock:
            self.done[key] = self.done.get(key, 0) + n
            if self.live:
                self._draw(key)

    def _text(self, key: str) -> str:
        status = self.states[key]
        if status == "Downloading" and self.total.get(key):
            from minidocker.units import human_size
            width = 30
            frac = min(1.0, self.done[key] / self.total[key])
            bar = "=" * int(frac * width)
            bar = (bar[:-1] + ">") if 0 < len(bar) < width else bar
            return (f"{key}: {status} [{bar:<{width}}] {human_size(self.done[key], 3)}/"
                    f"{human_size(self.total[key], 3)}")
        return f"{key}: {status}"

    def _draw(self, key: str, final: bool = False) -> None:
        if self.quiet:
            return
        if not self.live:
            if final:
                self.out.write(f"{key}: {self.states[key]}\n")
                self.out.flush()
            return
        # move up over the lines drawn so far and rewrite them all
        if self.drawn:
            self.out.write(f"\x1b[{self.drawn}A")
        for k in self.order:
            self.out.write("\x1b[2K" + self._text(k) + "\n")
        self.drawn = len(self.order)
        self.out.flush()
