"""The json-file log: its options (--log-driver, --log-opt max-size/max-file, which
monitor.py applies when it writes), and reading it: --tail, --since, -t, -f."""

from __future__ import annotations

import os
import time

from minidocker import jsonfast as json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

    from minidocker.engine.records import Record


def log_path(record: Record) -> str:
    return record.path(record.id + "-json.log")


DRIVERS = ("json-file", "none")


def parse_config(driver: str | None, opts: list[str]) -> dict[str, Any]:
    """HostConfig.LogConfig from --log-driver and --log-opt, checked as Docker does."""
    from minidocker.errors import UsageError
    driver = driver or "json-file"
    if driver not in DRIVERS:
        raise UsageError(f"unknown log driver {driver!r}: this engine has "
                         f"{' and '.join(DRIVERS)}")
    config: dict[str, str] = {}
    for opt in opts:
        key, eq, value = opt.partition("=")
        if not eq:
            raise UsageError(f"invalid --log-opt {opt!r}: expected key=value")
        if driver == "none" or key not in ("max-size", "max-file"):
            raise UsageError(f"unknown log opt {key!r} for {driver} log driver")
        config[key] = value
    limits(config)  # the values, checked now
    if "max-file" in config and "max-size" not in config:
        raise UsageError("max-file can only be used with max-size")
    return {"Type": driver, "Config": config}


def limits(config: dict[str, str]) -> tuple[int, int]:
    """(max-size in bytes, 0: none; max-file, the number of files kept, current included)."""
    from minidocker.errors import UsageError
    size = 0
    if config.get("max-size"):
        text = config["max-size"].strip().lower().removesuffix("b")
        scale = {"k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}.get(text[-1:], 1)
        digits = text[:-1] if scale > 1 else text
        if not digits.isdigit() or int(digits) <= 0:
            raise UsageError(f"invalid max-size {config['max-size']!r}: a size like 10m, 512k")
        size = int(digits) * scale
    files = 1
    if config.get("max-file"):
        if not config["max-file"].isdigit() or int(config["max-file"]) < 1:
            raise UsageError(f"invalid max-file {config['max-file']!r}: a number, at least 1")
        files = int(config["max-file"])
    return size, files


def files(path: str) -> list[str]:
    """The log's files, oldest first: path.N ... path.1 (rotated by max-size), path."""
    rotated = []
    i = 1
    while os.path.exists(f"{path}.{i}"):
        rotated.append(f"{path}.{i}")
        i += 1
    return [*reversed(rotated), path]


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
    from minidocker.units import parse_time
    try:
        if "T" in text:
            return parse_time(text if text.endswith("Z") else text + "Z")
        return parse_time(text + "T00:00:00Z")
    except ValueError:
        raise UsageError(f"invalid value for --since: {text!r}")


def entries(path: str, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Complete entries from `offset`; (entries, offset after the last complete line)."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except FileNotFoundError:
        return [], offset
    end = data.rfind(b"\n") + 1
    return _parse(data[:end]), offset + end


class Tail:
    """A JSON-lines file being followed (a container's log, the events file), held open:
    its data stays readable after a rotation renames (or removes) it, so nothing written
    before the rotation is missed."""

    def __init__(self, path: str):
        self.path = path
        self.fd = -1
        self.ino = 0
        self.rest = b""

    def open(self) -> bool:
        try:
            self.fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return False  # between the rename and the new file of a rotation
        self.ino = os.fstat(self.fd).st_ino
        self.rest = b""
        return True

    def read(self) -> list[dict[str, Any]]:
        """The complete entries written since the last read."""
        if self.fd < 0 and not self.open():
            return []
        if os.fstat(self.fd).st_size < os.lseek(self.fd, 0, os.SEEK_CUR):
            os.lseek(self.fd, 0, os.SEEK_SET)  # emptied in place (max-file=1): from the top
            self.rest = b""
        chunks = [self.rest]
        while True:
            data = os.read(self.fd, 1 << 16)
            if not data:
                break
            chunks.append(data)
        data = b"".join(chunks)
        end = data.rfind(b"\n") + 1
        self.rest = data[end:]
        return _parse(data[:end])

    def rotated(self) -> list[dict[str, Any]]:
        """After a rotation: the rest of the file we held, then every file rotated after
        it (two rotations between two reads), oldest first; the new file is opened."""
        if self.fd < 0 or _inode(self.path) in (0, self.ino):
            return []
        out = self.read()
        os.close(self.fd)
        self.fd = -1
        older = files(self.path)[:-1]
        inodes = [_inode(name) for name in older]
        start = inodes.index(self.ino) + 1 if self.ino in inodes else 0
        for name in older[start:]:
            out += entries(name)[0]
        self.open()
        return out

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _parse(data: bytes) -> list[dict[str, Any]]:
    out = []
    for line in data.splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def follow(record: Record, *, tail: int | None, since: float, until: float | None,
           follow: bool, running: Callable[[], bool]) -> Iterator[dict[str, str]]:
    """The log's entries (the last `tail`, those from `since` and before `until`), then,
    with `follow`, new ones as they are written until the container stops. A generator:
    closing it stops following."""
    from minidocker.errors import MinidockerError
    if ((record.config.get("HostConfig") or {}).get("LogConfig") or {}).get("Type") == "none":
        raise MinidockerError("configured logging driver does not support reading")
    path = log_path(record)
    current = Tail(path)
    try:
        current.open()
        items: list[dict[str, str]] = []
        for older in files(path)[:-1]:
            items += entries(older)[0]
        items += current.read()
        if since:
            items = [e for e in items if _time(e) >= since]
        if until:
            items = [e for e in items if _time(e) < until]
        if tail is not None:
            items = items[-tail:] if tail > 0 else []
        for e in items:
            yield e
        if not follow:
            return
        while True:
            more = current.rotated() + current.read()  # max-size rotations, then the rest
            for e in more:
                if until and _time(e) >= until:
                    return
                yield e
            if not more:
                if not running():
                    for e in current.rotated() + current.read():  # the last words
                        yield e
                    return
                time.sleep(0.05)
    finally:
        current.close()


def _inode(path: str) -> int:
    try:
        return os.stat(path).st_ino
    except OSError:
        return 0


def _time(entry: dict[str, str]) -> float:
    from minidocker.units import parse_time
    try:
        return parse_time(entry.get("time", ""))
    except ValueError:
        return 0.0


def size(record: Record) -> int:
    total = 0
    for name in files(log_path(record)):
        try:
            total += os.stat(name).st_size
        except OSError:
            pass
    return total
