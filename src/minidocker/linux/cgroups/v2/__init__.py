"""The cgroup v2 manager: one directory in the unified hierarchy. Controllers are enabled
in every ancestor's cgroup.subtree_control on the way down; devices are an eBPF program."""

from __future__ import annotations

import _signal as signal  # the signal module's IntEnums import enum: 3 ms
import os

import minidocker
from minidocker.linux.cgroups import common
from minidocker.linux.cgroups.base import CgroupManager, CgroupMount
from minidocker.linux.cgroups.devices.rules import parse_rules
from minidocker.linux.cgroups.v1 import rdma
from minidocker.linux.cgroups.v2 import cpu, cpuset, freezer, hugetlb, io, memory, pids

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

CONTROLLERS = [cpuset, cpu, memory, pids, io, hugetlb]
# what a container cgroup gets from parents minidocker did not make, unless it needs more
BASIC = {"cpuset", "cpu", "io", "memory", "pids"}


class V2Manager(CgroupManager):
    version = 2

    def __init__(self, root: str, path: str, created: list[str] | None = None):
        self.root = root
        self.path = path
        self.dir = os.path.join(root, path.lstrip("/"))
        self.created = created or []

    @classmethod
    def open(cls, root: str, cgroups_path: str | None, container_id: str, *,
             proc_self_cgroup: str | None = None, systemd_path: str | None = None
             ) -> V2Manager:
        if systemd_path is not None:
            return cls(root, systemd_path)
        own = None
        if cgroups_path and not cgroups_path.startswith("/"):
            own = common.own_cgroups(proc_self_cgroup).get("", "/")
        return cls(root, common.resolve_path(cgroups_path, container_id, own))

    # ---- controllers --------------------------------------------------------------------

    def _nearest_existing(self) -> str:
        cur = self.dir
        while not os.path.isdir(cur) and cur != self.root:
            cur = os.path.dirname(cur)
        return cur

    def available(self) -> set[str]:
        """The controllers the container's cgroup has or can get: those of the root, which
        create() and apply() delegate down to it as needed."""
        try:
            return set(common.read(self.root, "cgroup.controllers").split())
        except OSError:
            return set()

    def validate(self, resources: dict[str, Any] | None) -> None:
        res = common.validate_common(resources)
        available = self.available()
        for ctrl in [*CONTROLLERS, rdma]:
            unsupported = getattr(ctrl, "unsupported", lambda r: None)(res)
            if unsupported:
                raise common.CgroupError(f"{unsupported} (cannot apply on this host)")
            keys = ctrl.needed(res)
            if keys and ctrl.NAME not in available:
                raise common.CgroupError(f"{keys[0]}: cannot apply: the {ctrl.NAME} cgroup "
                                         f"controller is not available on this host")
        net = res.get("network") or {}
        if net.get("classID") is not None or net.get("priorities"):
            key = "classID" if net.get("classID") is not None else "priorities"
            raise common.CgroupError(f"network.{key}: cannot apply: cgroup v2 has no net_cls "
                                     f"or net_prio controller")
        mem = res.get("memory") or {}
        memory.swap_max(mem.get("limit"), mem.get("swap"))
        for key in res.get("unified") or {}:
            ctrl = key.split(".", 1)[0]
            # cpu.pressure, io.pressure ... exist without their controller
            if ctrl not in available and not key.endswith(".pressure"):
                raise common.CgroupError(f"unified.{key}: cannot apply: the {ctrl} cgroup "
                                         f"controller is not available on this host")
            if os.path.isdir(self.dir) and not common.exists(self.dir, key):
                raise common.CgroupError(f"unified.{key}: cannot apply: no such cgroup file")
        for i, page in enumerate(common.items(res.get("hugepageLimits"))):
            # the files of a cgroup with hugetlb tell the sizes; else ask the kernel
            sizes = common.hugetlb_sizes(self._nearest_existing()) or \
                sorted(common.hugetlb_sizes_of_kernel())
            if page["pageSize"] not in sizes:
                raise common.CgroupError(f"hugepageLimits[{i}]: cannot apply: no "
                                         f"{page['pageSize']} huge pages on this host")

    def _enable_controllers(self, directory: str, wanted: set[str] | None = None) -> None:
        """Let the children of `directory` use the `wanted` controllers it has (all)."""
        have = set(common.read(directory, "cgroup.controllers").split())
        enabled = set(common.read(directory, "cgroup.subtree_control").split())
        if wanted is not None:
            have &= wanted
        for ctrl in sorted(have - enabled):
            try:
                common.write(directory, "cgroup.subtree_control", f"+{ctrl}")
            except common.CgroupError as exc:
                raise common.CgroupError(f"cannot enable the {ctrl} controller for the "
                                         f"children of {directory}: "
                                         f"{exc.message.rsplit(': ', 1)[-1]}",
                                         hint="a cgroup with processes cannot delegate "
                                              "controllers (cgroup v2's no-internal-process "
                                              "rule)")

    # ---- lifecycle ------------------------------------------------------------------------

    def exists(self) -> bool:
        return os.path.isdir(self.dir)

    def create(self) -> None:
        common.retry_vanished(self._create)

    def _create(self) -> None:
        """The directories; the parents minidocker makes delegate every controller, the ones
        that existed (the host's root ...) only the basic ones, and others when a resource
        needs them (see apply)."""
        cur = self.root
        for part in common.split_path(self.path):
            self._enable_controllers(cur, None if cur in self.created else BASIC)
            cur = os.path.join(cur, part)
            try:
                os.mkdir(cur, 0o755)
            except FileExistsError:
                continue
            except FileNotFoundError:
                raise  # a parent vanished meanwhile: create() starts again
            except OSError as exc:
                raise common.CgroupError(f"cannot create cgroup {cur}: {exc.strerror}")
            self.created.append(cur)
            if minidocker.TRACE:
                minidocker.TRACE.step("cgroup", "mkdir", path=cur)

    def _needed_controllers(self, res: dict[str, Any]) -> set[str]:
        needed = {ctrl.NAME for ctrl in [*CONTROLLERS, rdma] if ctrl.needed(res)}
        needed |= {key.split(".", 1)[0] for key in res.get("unified") or {}
                   if not key.endswith(".pressure")}
        return needed & self.available()

    def _delegate(self, needed: set[str]) -> None:
        """Enable `needed` controllers the container's cgroup lacks, down from the root."""
        try:
            have = set(common.read(self.dir, "cgroup.controllers").split())
        except OSError:
            return
        if not needed - have:
            return
        cur = self.root
        for part in common.split_path(self.path):
            self._enable_controllers(cur, needed - have)
            cur = os.path.join(cur, part)

    def apply(self, resources: dict[str, Any] | None) -> None:
        self.validate(resources)
        res = resources or {}
        self._delegate(self._needed_controllers(res))
        for ctrl in [*CONTROLLERS, rdma]:
            ctrl.apply(self.dir, res)
        for key, value in sorted((res.get("unified") or {}).items()):
            common.write(self.dir, key, value, f"unified.{key}")
        rules = parse_rules(res.get("devices"))
        if rules:
            from minidocker.linux.cgroups.devices import ebpf  # ctypes only when needed

            try:
                ebpf.install(self.dir, rules)
            except OSError as exc:
                raise common.CgroupError(f"devices: cannot attach the eBPF device program to "
                                         f"{self.dir}: {exc.strerror}")
            if minidocker.TRACE:
                minidocker.TRACE.step("cgroup", "device program attached (eBPF)",
                                      path=self.dir, rules=len(rules))

    def add_process(self, pid: int, except_self_joined: bool = False) -> None:
        try:
            common.write(self.dir, "cgroup.procs", pid)
        except common.CgroupError as exc:
            raise common.CgroupError(f"cannot add process {pid} to cgroup {self.dir}: "
                                     f"{exc.message.rsplit(': ', 1)[-1]}")

    def pids(self) -> list[int]:
        found: set[int] = set()
        for dirpath, _, _ in os.walk(self.dir):
            found.update(common.read_pids(dirpath))
        return sorted(found)

    def freeze(self) -> None:
        self._check_freezable()
        freezer.freeze(self.dir)

    def thaw(self) -> None:
        self._check_freezable()
        freezer.thaw(self.dir)

    def is_frozen(self) -> bool:
        return self.exists() and freezer.is_freezing(self.dir)

    def kill_all(self, sig: int = signal.SIGKILL) -> None:
        if sig == signal.SIGKILL and common.exists(self.dir, "cgroup.kill"):
            common.write(self.dir, "cgroup.kill", "1")  # kills frozen tasks too
            if self.is_frozen():  # as on v1: a killed container is not left paused
                freezer.thaw(self.dir)
            return
        super().kill_all(sig)

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.exists():
            for ctrl in CONTROLLERS:
                ctrl.stats(self.dir, out)
        return out

    def oom_kill_count(self) -> int:
        return memory.oom_kill_count(self.dir)

    def destroy(self) -> None:
        common.remove_created([self.dir], self.created)

    # ---- state and mounts -----------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        return {"version": 2, "root": self.root, "path": self.path,
                "created": list(self.created)}

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> V2Manager:
        return cls(data["root"], data["path"], list(data["created"]))

    def host_paths(self) -> dict[str, str]:
        return {"": self.dir}

    def mounts(self, cgroupns: bool) -> list[CgroupMount]:
        """In a cgroup namespace a fresh cgroup2 mount shows the container's cgroup as the
        root; without one, the container's directory is bind-mounted (as runc does)."""
        if cgroupns:
            return [CgroupMount("cgroup2", "", "cgroup2")]
        return [CgroupMount("bind", "", self.dir)]
