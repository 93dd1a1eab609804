"""Filesystem helpers shared by the engine, the image store and the network package
(a leaf: os only)."""

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


NO_SPACE = (28, 122)  # ENOSPC, EDQUOT
IN_PLACE_MAX = 4096


def replace(path: str, data: bytes, *, tmp: str | None = None, sync: bool = True,
            mode: int = 0o600, in_place: bool = True) -> None:
    """Replace the file `path` by `data` atomically: a temp file (`tmp`, else
    PATH.tmpPID), fsync'ed with `sync`, renamed over it. A write that fails removes its
    temp file and leaves `path` as it was. On a full disk, with `in_place`, a file of at
    most one page whose allocated blocks already hold `data` is overwritten in place
    instead (one write of one block: a reader or a crash sees the old or the new bytes in
    practice): what shrinks or keeps its size needs no space, so stop, rm and disconnect
    work on a full disk."""
    tmp = tmp or f"{path}.tmp{os.getpid()}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
        try:
            write_all(fd, data)
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, path)
    except OSError as e:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if not in_place or e.errno not in NO_SPACE or len(data) > IN_PLACE_MAX or \
                not _rewrite_in_place(path, data):
            raise
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_all(fd: int, data: bytes) -> None:
    """os.write until all of `data` is written; a write that stops short raises what
    stopped it (ENOSPC, EFBIG ...) when the next one is tried."""
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        if n == 0:
            raise OSError(28, os.strerror(28))
        view = view[n:]


def _rewrite_in_place(path: str, data: bytes) -> bool:
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        st = os.fstat(fd)
        if st.st_blocks * 512 < len(data):
            return False
        old = os.pread(fd, st.st_size, 0)
        if os.pwrite(fd, data, 0) != len(data):
            os.pwrite(fd, old, 0)  # whatever stopped it: the old content back
            return False
        os.ftruncate(fd, len(data))
        os.fsync(fd)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
