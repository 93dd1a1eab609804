"""Reading the json-file log (monitor.py writes it): --tail, --since, -t, -f."""

from __future__ import annotations

import json
import os
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from minidocker.engine.records import Record


def log_path(record: Record) -> str:
    return record.path(record.id + "-json.log")


def parse_since(text: str) -> float:
    """Docker's --since/--until: a duration (10m, 1h30m), unix seconds, or a timestamp."""
    from minidocker.errors import UsageError
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    units = {"s": 1, "m": 60, "h": 3600, "ms": 0.001}
    total, num, i = 0.0, "", 0
    if text and text[0].isdigit() and text[-1] in "smh":
        while i < len(text):
            ch = text[i]
            if ch.isdigit() or ch == ".":
                num += ch
                i += 1
                continue
            unit = "ms" if text.startswith("ms", i) else ch
            if unit not in units or not num:
                break
            total += float(num) * units[unit]
            num = ""
            i += len(unit)
        else:
            if not num:
                return time.time() - total
    from minidocker.engine.records import parse_time
    try:
        if "T" in text:
            return parse_time(text if text.endswith("Z") else text + "Z")
        return parse_time(text + "T00:00:00Z")
    except ValueError:
        raise UsageError(f"invalid value for --since: {text!r}")


def entries(path: str, offset: int = 0) -> tuple[list[dict[str, str]], int]:
    """Complete entries from `offset`; (entries, offset after the last complete line)."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except FileNotFoundError:
        return [], offset
    end = data.rfind(b"\n") + 1
    out = []
    for line in data[:end].splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out, offset + end


def follow(record: Record, write: Callable[[dict[str, str]], None], *, tail: int | None,
           since: float, until: float | None, follow: bool,
           running: Callable[[], bool]) -> None:
    path = log_path(record)
    items, offset = entries(path)
    if since:
        items = [e for e in items if _time(e) >= since]
    if until:
        items = [e for e in items if _time(e) < until]
    if tail is not None:
        items = items[-tail:] if tail > 0 else []
    for e in items:
        write(e)
    if not follow:
        return
    while True:
        more, offset = entries(path, offset)
        for e in more:
            if until and _time(e) >= until:
                return
            write(e)
        if not more:
            if not running():
                more, offset = entries(path, offset)  # the last words after the exit
                for e in more:
                    write(e)
                return
            time.sleep(0.05)


def _time(entry: dict[str, str]) -> float:
    from minidocker.engine.records import parse_time
    try:
        return parse_time(entry.get("time", ""))
    except ValueError:
        return 0.0


def iter_lines(path: str) -> Iterator[dict[str, str]]:
    yield from entries(path)[0]


def size(record: Record) -> int:
    try:
        return os.stat(log_path(record)).st_size
    except OSError:
        return 0
