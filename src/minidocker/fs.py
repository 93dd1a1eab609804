"""Filesystem helpers shared by the engine and the image store (a leaf: os only)."""

from __future__ import annotations

import os
import stat


def du(path: str) -> int:
    """Bytes used by the files under `path` as Docker counts them (its SizeRw, system df,
    prune's reclaimed space): apparent sizes, each hard-linked inode once, symlinks as
    links. The walk goes by directory fds and never follows a link; what vanishes while
    it walks is skipped. 0 for a path that does not exist."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        try:
            return os.lstat(path).st_size
        except OSError:
            return 0
    seen: set[tuple[int, int]] = set()
    try:
        return _du_fd(fd, seen)
    finally:
        os.close(fd)


def _du_fd(fd: int, seen: set[tuple[int, int]]) -> int:
    total = 0
    try:
        entries = list(os.scandir(fd))
    except OSError:
        return 0
    for entry in entries:
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode):
            try:
                sub = os.open(entry.name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW |
                              os.O_CLOEXEC, dir_fd=fd)
            except OSError:
                continue
            try:
                total += _du_fd(sub, seen)
            finally:
                os.close(sub)
            continue
        if st.st_nlink > 1:
            key = (st.st_dev, st.st_ino)
            if key in seen:
                continue
            seen.add(key)
        total += st.st_size
    return total
