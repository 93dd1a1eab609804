"""The one interface both cgroup managers implement (v1: a directory per controller
hierarchy; v2: one directory in the unified hierarchy)."""

from __future__ import annotations

import _signal as signal  # the signal module's IntEnums import enum: 3 ms
import abc
import os
from collections import namedtuple

from minidocker.linux.cgroups import common

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class CgroupMount(namedtuple("CgroupMount", "kind target source data", defaults=("", ""))):
    """One step of mounting /sys/fs/cgroup inside a container, relative to the mount target:
    kind "tmpfs" | "cgroup2" | "cgroup" (v1, options in data) | "bind" (source = host dir)
    | "mkdir" | "symlink" (source = link text). `target` is relative to the OCI mount's
    destination ("" = the destination). (collections.namedtuple: typing costs 7 ms.)"""

    __slots__ = ()
    kind: str
    target: str
    source: str
    data: str

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
    def add_process(self, pid: int) -> None: ...

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
