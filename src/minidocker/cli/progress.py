"""Per-layer progress lines, as Docker shows them: redrawn in place on a terminal, one
line per finished step otherwise (so logs stay readable)."""

from __future__ import annotations

import sys
import threading
from typing import TextIO


def human_size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.3g}{unit}" if unit != "B" else f"{int(n)}B"
        n /= 1000
    return f"{n}B"


class Progress:
    def __init__(self, out: TextIO | None = None, quiet: bool = False):
        self.out = out or sys.stdout
        self.quiet = quiet
        self.tty = not quiet and self.out.isatty()
        self.lock = threading.Lock()
        self.order: list[str] = []
        self.status: dict[str, str] = {}
        self.done: dict[str, int] = {}
        self.total: dict[str, int] = {}
        self.drawn = 0

    def line(self, text: str) -> None:
        if not self.quiet:
            with self.lock:
                self.out.write(text + "\n")
                self.out.flush()
                self.drawn = 0 if not self.tty else self.drawn

    def add(self, key: str, status: str, total: int = 0) -> None:
        with self.lock:
            if key not in self.status:
                self.order.append(key)
            self.status[key] = status
            self.total[key] = total
            self.done.setdefault(key, 0)
            self._draw(key)

    def set(self, key: str, status: str) -> None:
        with self.lock:
            if key not in self.status:
                self.order.append(key)
                self.total.setdefault(key, 0)
                self.done.setdefault(key, 0)
            self.status[key] = status
            self._draw(key, final=True)

    def advance(self, key: str, n: int) -> None:
        with self.lock:
            self.done[key] = self.done.get(key, 0) + n
            if self.tty:
                self._draw(key)

    def _text(self, key: str) -> str:
        status = self.status[key]
        if status == "Downloading" and self.total.get(key):
            width = 30
            frac = min(1.0, self.done[key] / self.total[key])
            bar = "=" * int(frac * width)
            bar = (bar[:-1] + ">") if 0 < len(bar) < width else bar
            return (f"{key}: {status} [{bar:<{width}}] {human_size(self.done[key])}/"
                    f"{human_size(self.total[key])}")
        return f"{key}: {status}"

    def _draw(self, key: str, final: bool = False) -> None:
        if self.quiet:
            return
        if not self.tty:
            if final:
                self.out.write(f"{key}: {self.status[key]}\n")
                self.out.flush()
            return
        # move up over the lines drawn so far and rewrite them all
        if self.drawn:
            self.out.write(f"\x1b[{self.drawn}A")
        for k in self.order:
            self.out.write("\x1b[2K" + self._text(k) + "\n")
        self.drawn = len(self.order)
        self.out.flush()
