"""cgroups for containers: one manager interface (base.CgroupManager), a v2 (unified) and a
v1 (legacy and hybrid) implementation, chosen by statfs on /sys/fs/cgroup.

    mgr = open_manager(spec_cgroups_path, container_id)
    mgr.validate(resources)        # before anything exists: bad input creates nothing
    mgr.create(); mgr.add_process(pid); mgr.apply(resources)
    state["cgroup"] = mgr.to_state()   ...   manager_from_state(state["cgroup"]).destroy()
"""

from __future__ import annotations

import os

from minidocker.errors import InvalidConfig
from minidocker.linux.cgroups import common
from minidocker.linux.cgroups.base import CgroupManager, CgroupMount
from minidocker.linux.cgroups.common import DEFAULT_ROOT, CgroupError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# v1 and v2 are imported when needed: a host uses one of them (each import costs at `run`);
# libc (ctypes) too: a runtime call that acts on an existing cgroup (delete, pause, ps)
# reads and writes its files and needs no syscall wrapper
__all__ = ["CgroupError", "CgroupManager", "CgroupMount", "DEFAULT_ROOT", "detect",
           "manager_from_state", "mount_cgroups", "open_manager"]

UNIFIED, HYBRID, LEGACY = "unified", "hybrid", "legacy"


def detect(root: str = DEFAULT_ROOT) -> str:
    """"unified" (cgroup2 at root), "hybrid" (v1 controllers, cgroup2 at root/unified) or
    "legacy" (v1 only)."""
    from minidocker.linux import libc
    try:
        fstype = libc.statfs_type(root)
    except OSError as exc:
        raise CgroupError(f"cannot inspect the cgroup mounts at {root}: {exc.strerror}")
    if fstype == libc.CGROUP2_SUPER_MAGIC:
        return UNIFIED
    try:
        if libc.statfs_type(os.path.join(root, "unified")) == libc.CGROUP2_SUPER_MAGIC:
            return HYBRID
    except OSError:
        pass
    return LEGACY


def open_manager(cgroups_path: str | None, container_id: str, *, systemd: bool = False,
                 root: str = DEFAULT_ROOT, mode: str | None = None,
                 proc_self_cgroup: str | None = None, mountinfo: str | None = None,
                 systemd_marker: str = common.SYSTEMD_RUNNING) -> CgroupManager:
    """The manager of a container's cgroup (nothing is created yet).

    cgroups_path: OCI linux.cgroupsPath: absolute, relative to the runtime's own cgroup,
    or None for /minidocker/<id>; with systemd, "slice:prefix:name". The keyword arguments
    after `systemd` exist for tests (fake hierarchies in a tmp dir)."""
    if cgroups_path is not None and not isinstance(cgroups_path, str):
        raise InvalidConfig("linux.cgroupsPath: must be a string")
    sd_path = common.systemd_path(cgroups_path, container_id, systemd_marker) if systemd \
        else None
    mode = mode or detect(root)
    if mode == UNIFIED:
        from minidocker.linux.cgroups.v2 import V2Manager

        return V2Manager.open(root, cgroups_path, container_id,
                              proc_self_cgroup=proc_self_cgroup, systemd_path=sd_path)
    from minidocker.linux.cgroups.v1 import V1Manager

    return V1Manager.open(root, cgroups_path, container_id, mountinfo=mountinfo,
                          proc_self_cgroup=proc_self_cgroup, systemd_path=sd_path)


def manager_from_state(data: dict[str, Any]) -> CgroupManager:
    """The manager again, from what its to_state() returned (kept in the state file)."""
    try:
        if data["version"] == 2:
            from minidocker.linux.cgroups.v2 import V2Manager

            return V2Manager.from_state(data)
        if data["version"] == 1:
            from minidocker.linux.cgroups.v1 import V1Manager

            return V1Manager.from_state(data)
    except (KeyError, TypeError) as exc:
        raise InvalidConfig(f"corrupt cgroup state: missing {exc}")
    raise InvalidConfig(f"corrupt cgroup state: unknown version {data.get('version')!r}")


def mount_cgroups(steps: list[CgroupMount], target: str, *, readonly: bool = True,
                  flags: int | None = None) -> None:
    """Carry out `mgr.mounts(cgroupns)` at `target` (the OCI "cgroup" mount's destination in
    the container's rootfs, resolved safely by the caller), in the container's mount
    namespace before pivot_root. Read-only unless the OCI mount has "rw"; `flags` default:
    nosuid, nodev, noexec."""
    from minidocker.linux import libc
    if flags is None:
        flags = libc.MS_NOSUID | libc.MS_NODEV | libc.MS_NOEXEC
    ro = libc.MS_RDONLY if readonly else 0
    os.makedirs(target, exist_ok=True)
    tmpfs_at_top = False
    for step in steps:
        path = os.path.join(target, step.target) if step.target else target
        if step.kind == "tmpfs":
            libc.mount("tmpfs", path, "tmpfs", flags, step.data)
            tmpfs_at_top = not step.target
        elif step.kind == "mkdir":
            os.makedirs(path, exist_ok=True)
        elif step.kind == "symlink":
            os.symlink(step.source, path)
        elif step.kind == "cgroup2":
            libc.mount("cgroup2", path, "cgroup2", flags | ro, step.data or None)
        elif step.kind == "cgroup":
            libc.mount("cgroup", path, "cgroup", flags | ro, step.data)
        elif step.kind == "bind":
            libc.mount(step.source, path, None, libc.MS_BIND | libc.MS_REC)
            libc.mount(None, path, None, libc.MS_BIND | libc.MS_REMOUNT | flags | ro)
        else:
            raise ValueError(f"unknown cgroup mount step {step.kind}")
    if tmpfs_at_top and readonly:  # the tmpfs holding the hierarchies, read-only last
        libc.mount(None, target, None, libc.MS_REMOUNT | libc.MS_BIND | flags | ro)
