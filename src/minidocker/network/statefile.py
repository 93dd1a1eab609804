"""JSON state files of the network package: read-modify-write under flock, atomic writes.

Every file is replaced with temp file + fsync + rename, so a reader never sees half a
document and a crash never corrupts what was there before.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from typing import Any

from minidocker.errors import InvalidConfig


@contextlib.contextmanager
def locked(lock_path: str) -> Iterator[None]:
    """Hold an exclusive flock on `lock_path` (created on first use) for the block."""
    os.makedirs(os.path.dirname(lock_path), exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the last fd drops the lock


def read_json(path: str, default: Any) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return default
    except ValueError as e:
        raise InvalidConfig(f"corrupt state file {path}: {e}")


def write_json(path: str, data: Any) -> None:
    """Atomically replace `path` with `data` as JSON (temp file, fsync, rename; on a full
    disk, in place when it fits: a disconnect needs no space)."""
    from minidocker.fs import replace
    os.makedirs(os.path.dirname(path), exist_ok=True)
    replace(path, json.dumps(data, indent=1, sort_keys=True).encode() + b"\n",
            tmp=f"{path}.{os.getpid()}.tmp", mode=0o644)


def dead_temp_files(directory: str) -> list[str]:
    """Temp files of write_json() whose writer is gone (killed before its rename; a
    zombie not reaped yet is gone too)."""
    from minidocker.linux.proc import start_time
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    found = []
    for name in names:
        parts = name.rsplit(".", 2)
        if len(parts) != 3 or parts[2] != "tmp" or not parts[1].isdigit():
            continue
        if start_time(int(parts[1])) is None:
            found.append(os.path.join(directory, name))
    return found


def write_in_place(path: str, text: str, create: bool = True) -> bool:
    """Rewrite a file keeping its inode: bind-mounted files (a container's /etc/hosts)
    would keep showing the old inode if the file were replaced by rename. Returns False
    if the file is missing and `create` is false."""
    data = text.encode()
    flags = os.O_WRONLY | os.O_CLOEXEC | (os.O_CREAT if create else 0)
    try:
        fd = os.open(path, flags, 0o644)
    except FileNotFoundError:
        if create:
            raise
        return False
    try:
        os.pwrite(fd, data, 0)
        os.ftruncate(fd, len(data))
    finally:
        os.close(fd)
    return True
