"""A file descriptor that becomes readable when the OOM killer acts in a container's cgroup,
for a monitor's selectors loop (no polling): inotify on memory.events (v2), an eventfd
registered with cgroup.event_control for memory.oom_control (v1). After a wake-up, read
the count with manager.oom_kill_count(); a wake-up without a new kill is harmless.

inotify has no wrapper in Python's os module; it lives here (it serves only this)."""

from __future__ import annotations

import ctypes
import os

from minidocker.linux.cgroups import common
from minidocker.linux.cgroups.base import CgroupManager

_libc = ctypes.CDLL(None, use_errno=True)
IN_MODIFY = 0x2
IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = os.O_CLOEXEC


def _inotify_watch(path: str) -> int:
    fd = _libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"inotify_init1: {os.strerror(err)}")
    if _libc.inotify_add_watch(fd, os.fsencode(path), IN_MODIFY) < 0:
        err = ctypes.get_errno()
        os.close(fd)
        raise OSError(err, f"inotify_add_watch {path}: {os.strerror(err)}")
    return fd


class OOMNotifier:
    """fileno() is readable after an OOM event (or when the cgroup goes away)."""

    def __init__(self, manager: CgroupManager):
        self._extra: int | None = None
        paths = manager.host_paths()
        try:
            if manager.version == 2:
                self._fd = _inotify_watch(os.path.join(paths[""], "memory.events"))
            else:
                self._v1(paths["memory"])
        except KeyError:
            raise common.CgroupError("no memory cgroup to watch for OOM kills")
        except OSError as exc:
            raise common.CgroupError(f"cannot watch for OOM kills: {exc.strerror}")

    def _v1(self, memory_dir: str) -> None:
        self._fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        try:
            self._extra = os.open(os.path.join(memory_dir, "memory.oom_control"),
                                  os.O_RDONLY | os.O_CLOEXEC)
            common.write(memory_dir, "cgroup.event_control", f"{self._fd} {self._extra}")
        except BaseException:
            self.close()
            raise

    def fileno(self) -> int:
        return self._fd

    def drain(self) -> None:
        """Consume the pending notifications (call after each wake-up)."""
        try:
            while os.read(self._fd, 4096):
                pass
        except BlockingIOError:
            pass

    def close(self) -> None:
        for fd in (self._fd, self._extra):
            if fd is not None and fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._fd, self._extra = -1, None

    def __enter__(self) -> OOMNotifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
