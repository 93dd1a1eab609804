"""The runtime's use of cgroups: the container's manager, and /sys/fs/cgroup inside it."""

from __future__ import annotations

import os

from minidocker.errors import MinidockerError
from minidocker.linux import libc

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def open_manager(spec: dict[str, Any], cid: str, systemd: bool) -> Any:
    """The container's cgroup manager, created and with its resources applied; or None
    when running rootless without any resources asked for (nothing delegated to us)."""
    from minidocker.linux import cgroups

    linux = spec.get("linux") or {}
    resources = with_default_devices(linux.get("resources") or {}, linux.get("devices") or [])
    if os.geteuid() != 0 and not _writable_cgroup():
        if _asks_for_limits(resources):
            raise MinidockerError("cannot apply linux.resources: cgroups are not delegated "
                                  "to this user (run as root or with a delegated cgroup)")
        return None
    manager = cgroups.open_manager(linux.get("cgroupsPath") or None, cid, systemd=systemd)
    manager.validate(resources)  # a bad value must not create anything
    manager.drop_unused_unified(resources)
    manager.create()
    try:
        manager.apply(resources)
    except BaseException:
        manager.destroy()
        raise
    return manager


def preload() -> None:
    """Import this host's cgroup manager now (a pre-forked monitor does, while it waits)."""
    from minidocker.linux import cgroups
    try:
        mode = cgroups.detect()
    except MinidockerError:
        return
    if mode == cgroups.UNIFIED:
        import minidocker.linux.cgroups.v2  # noqa: F401
    else:
        import minidocker.linux.cgroups.v1  # noqa: F401


# Devices every container may use, after the rules of the config (as runc does).
DEFAULT_DEVICE_RULES = [
    {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},  # null
    {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rwm"},  # zero
    {"allow": True, "type": "c", "major": 1, "minor": 7, "access": "rwm"},  # full
    {"allow": True, "type": "c", "major": 1, "minor": 8, "access": "rwm"},  # random
    {"allow": True, "type": "c", "major": 1, "minor": 9, "access": "rwm"},  # urandom
    {"allow": True, "type": "c", "major": 5, "minor": 0, "access": "rwm"},  # tty
    {"allow": True, "type": "c", "major": 5, "minor": 1, "access": "rwm"},  # console
    {"allow": True, "type": "c", "major": 5, "minor": 2, "access": "rwm"},  # ptmx
    {"allow": True, "type": "c", "major": 136, "access": "rwm"},  # pts/*
]


def with_default_devices(resources: dict[str, Any],
                         devices: list[dict[str, Any]]) -> dict[str, Any]:
    """resources with the default devices and linux.devices allowed after its own rules."""
    if "devices" not in resources:
        return resources
    rules = list(resources.get("devices") or [])
    rules += DEFAULT_DEVICE_RULES
    for dev in devices:
        if dev.get("type") in ("c", "b", "u"):
            rules.append({"allow": True, "type": "c" if dev["type"] == "u" else dev["type"],
                          "major": dev.get("major"), "minor": dev.get("minor"),
                          "access": "rwm"})
    return {**resources, "devices": rules}


def from_state(data: dict[str, Any] | None) -> Any:
    if not data:
        return None
    from minidocker.linux import cgroups
    return cgroups.manager_from_state(data)


def _asks_for_limits(resources: dict[str, Any]) -> bool:
    devices = resources.get("devices") or []
    default_devices = devices == [{"allow": False, "access": "rwm"}]
    return any(k != "devices" and v for k, v in resources.items()) or (
        bool(devices) and not default_devices)


def _writable_cgroup() -> bool:
    try:
        with open("/proc/self/cgroup") as f:
            line = f.read().splitlines()[0]
        path = line.split(":", 2)[2]
        return os.access(f"/sys/fs/cgroup{path}", os.W_OK)
    except (OSError, IndexError):
        return False


def _cgroup_mounts() -> list[tuple[str, str, str]]:
    """[(mount point, fs type, super options)] of the host's cgroup hierarchies."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fstype, _source, super_opts = (right.split() + ["", "", ""])[:3]
            if fstype in ("cgroup", "cgroup2"):
                out.append((left.split()[4], fstype, super_opts))
    return out


def _own_paths() -> dict[str, str]:
    """{controller list or '' for v2: path} from /proc/self/cgroup."""
    out = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            out[ctrls] = path
    return out


def make_mounter(new_cgroupns: bool, info: dict[str, Any] | None = None) -> Any:
    """A function mounting an OCI `cgroup` mount: the container's own cgroups, read-only
    if asked. Must run in the container's mount namespace, before pivot_root. `info`:
    what the parent said in CGROUPS_DONE; unified=False: the container has no cgroup of
    its own in a hybrid host's cgroup2 hierarchy, whose mount is then left out (it would
    show the runtime's cgroup and its other children)."""
    told = {} if info is None else info

    def mount_cgroupfs(rootfs: Any, dest: str, flags: int) -> None:
        mounts = _cgroup_mounts()
        own = _own_paths()
        bind_flags = libc.MS_BIND | libc.MS_REC
        keep = flags & (libc.MS_NOSUID | libc.MS_NODEV | libc.MS_NOEXEC | libc.MS_RELATIME)
        if any(mp == "/sys/fs/cgroup" and t == "cgroup2" for mp, t, _ in mounts):
            fd = rootfs.make_target(dest, True)
            try:
                _mount_one(fd, "cgroup2", "", own.get("", "/"), "/sys/fs/cgroup",
                           flags, new_cgroupns, dest)
            finally:
                os.close(fd)
            return
        # v1 or hybrid: a tmpfs with one directory per hierarchy
        fd = rootfs.make_target(dest, True)
        try:
            libc.mount("tmpfs", f"/proc/self/fd/{fd}", "tmpfs", keep, "mode=755",
                       what=f"tmpfs on {dest}")
        finally:
            os.close(fd)
        for mount_point, fstype, super_opts in mounts:
            if not mount_point.startswith("/sys/fs/cgroup/"):
                continue
            name = mount_point[len("/sys/fs/cgroup/"):]
            if "/" in name:
                continue
            if fstype == "cgroup2":
                if told.get("unified") is False:
                    continue
                opts, key = "", ""
            else:
                opts = ",".join(o for o in super_opts.split(",")
                                if o not in ("rw", "ro") and not o.startswith("release_agent"))
                key = ",".join(o for o in opts.split(",") if o) or name
                key = next((k for k in own if set(k.split(",")) ==
                            set(key.split(","))), key)
            sub = rootfs.make_target(f"{dest}/{name}", True)
            try:
                _mount_one(sub, fstype, opts, own.get(key, "/"), mount_point,
                           flags, new_cgroupns, f"{dest}/{name}")
            finally:
                os.close(sub)
            if "," in name:
                dfd = rootfs.mkdir_all(dest)
                try:
                    for part in name.split(","):
                        try:
                            os.symlink(name, part, dir_fd=dfd)
                        except FileExistsError:
                            pass
                finally:
                    os.close(dfd)
        if flags & libc.MS_RDONLY:
            fd = rootfs.open(dest)
            try:
                libc.mount(None, f"/proc/self/fd/{fd}", None,
                           libc.MS_REMOUNT | libc.MS_RDONLY | keep, "mode=755",
                           what=f"tmpfs on {dest}")
            finally:
                os.close(fd)
        del bind_flags

    return mount_cgroupfs


def _mount_one(fd: int, fstype: str, opts: str, own_path: str, host_mount: str,
               flags: int, new_cgroupns: bool, what: str) -> None:
    target = f"/proc/self/fd/{fd}"
    mflags = flags & (libc.MS_RDONLY | libc.MS_NOSUID | libc.MS_NODEV | libc.MS_NOEXEC |
                      libc.MS_RELATIME)
    if new_cgroupns:
        try:
            libc.mount("cgroup", target, fstype, mflags, opts or None, what=what)
            return
        except OSError:
            pass  # e.g. in a user namespace: fall back to a bind mount of our own cgroup
    source = host_mount + (own_path if own_path != "/" else "")
    libc.mount(source, target, None, libc.MS_BIND | libc.MS_REC, what=what)
    if mflags:
        libc.mount(None, target, None, libc.MS_BIND | libc.MS_REMOUNT | mflags, what=what)
