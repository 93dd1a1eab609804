"""The one interface both cgroup managers implement (v1: a directory per controller
hierarchy; v2: one directory in the unified hierarchy)."""

from __future__ import annotations

import _signal as signal  # the signal module's IntEnums import enum: 3 ms
import abc
import os

from minidocker.linux.cgroups import common

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class CgroupMount(tuple):
    """One step of mounting /sys/fs/cgroup inside a container, relative to the mount target:
    kind "tmpfs" | "cgroup2" | "cgroup" (v1, options in data) | "bind" (source = host dir)
    | "mkdir" | "symlink" (source = link text). `target` is relative to the OCI mount's
    destination ("" = the destination). (A plain tuple: collections.namedtuple costs 1 ms
    of imports on the run path, typing 7 ms.)"""

    __slots__ = ()

    def __new__(cls, kind: str, target: str, source: str = "", data: str = "") -> CgroupMount:
        return tuple.__new__(cls, (kind, target, source, data))

    kind = property(lambda self: self[0], doc="what the step is")
    target = property(lambda self: self[1], doc="path under the mount's destination")
    source = property(lambda self: self[2], doc="host directory or link text")
    data = property(lambda self: self[3], doc="mount options")

    def __repr__(self) -> str:
        return f"CgroupMount{tuple.__repr__(self)}"

    def describe(self) -> str:
        return f"{self.kind} {self.source or '-'} -> /{self.target} {self.data}".rstrip()


class CgroupManager(abc.ABC):
    """A container's cgroup. `path` is its path inside the hierarchy ("/minidocker/<id>")."""

    version: int
    path: str
    root: str

    @abc.abstractmethod
    def validate(self, resources: dict[str, Any] | None) -> None:
        """Check every value (and that this host can apply it) without touching anything."""

    @abc.abstractmethod
    def create(self) -> None:
        """Make the cgroup directories (and the parents that are missing)."""

    @abc.abstractmethod
    def apply(self, resources: dict[str, Any] | None) -> None:
        """Apply OCI linux.resources (validated first: a bad value writes nothing)."""

    @abc.abstractmethod
    def add_process(self, pid: int, except_self_joined: bool = False) -> None:
        """Move process `pid` (all its threads) into the cgroup; with `except_self_joined`,
        only into the hierarchies that open_self_join() does not cover."""

    def drop_unused_unified(self, resources: dict[str, Any] | None) -> None:  # noqa: B027
        """Before create(): leave out a hybrid host's cgroup2 hierarchy when nothing needs
        it (v1 only)."""

    def open_self_join(self) -> list[int]:
        """Write-only fds of files through which a single-threaded process moves itself in by
        writing "0": cgroup v1's `tasks`. A move of the calling thread skips the kernel's
        global cgroup_threadgroup_rwsem, whose first writer after a quiet spell waits an RCU
        grace period (~10 ms); a pid written to cgroup.procs takes it. The fds carry our
        credentials (the kernel checks the opener's), so a process in a user namespace may
        use them. Default: none (cgroup v2 moves threads only within a threaded domain)."""
        return []

    @abc.abstractmethod
    def pids(self) -> list[int]:
        """The processes of the cgroup and of its descendants."""

    @abc.abstractmethod
    def freeze(self) -> None: ...

    @abc.abstractmethod
    def thaw(self) -> None: ...

    @abc.abstractmethod
    def is_frozen(self) -> bool: ...

    @abc.abstractmethod
    def stats(self) -> dict[str, Any]:
        """The `data` of a runc `events --stats` line: cpu, memory, pids, blkio, hugetlb."""

    @abc.abstractmethod
    def oom_kill_count(self) -> int:
        """How many processes of the cgroup the OOM killer has killed."""

    @abc.abstractmethod
    def exists(self) -> bool: ...

    @abc.abstractmethod
    def destroy(self) -> None:
        """Remove the cgroup directories (and the parents this manager created, if empty).
        Already gone is fine; processes still inside make it fail (kill_all first)."""

    @abc.abstractmethod
    def to_state(self) -> dict[str, Any]: ...

    @abc.abstractmethod
    def mounts(self, cgroupns: bool) -> list[CgroupMount]:
        """How to mount /sys/fs/cgroup in the container (see CgroupMount)."""

    @abc.abstractmethod
    def host_paths(self) -> dict[str, str]:
        """The cgroup directories on the host: {controller or "": dir}."""

    def kill_all(self, sig: int = signal.SIGKILL) -> None:
        """Signal every process of the cgroup; frozen meanwhile (where the host has a
        freezer) so that none forks away. A cgroup already gone has nothing to kill."""
        if not self.exists():
            return
        was_frozen = self.is_frozen()
        froze = False
        if not was_frozen:
            try:
                self.freeze()
                froze = True
            except common.CgroupError:
                pass  # no freezer: signal the tasks as they are
        try:
            for pid in self.pids():
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
        finally:
            if froze or (was_frozen and sig == signal.SIGKILL):
                self.thaw()  # a frozen task dies only when thawed

    def _check_freezable(self) -> None:
        if not self.exists():
            raise common.CgroupError(f"cgroup {self.path} does not exist")
