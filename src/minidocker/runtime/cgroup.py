"""The runtime's use of cgroups: the container's manager, and /sys/fs/cgroup inside it.

(The short runtime calls import this module: it imports ctypes' libc and the user
namespace helpers only in the functions of create that need them, and `paused` tells the
freezer's state without importing the cgroup managers.)"""

from __future__ import annotations

import os

from minidocker.errors import MinidockerError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def open_manager(spec: dict[str, Any], cid: str, systemd: bool,
                 mountinfo: str | None = None) -> Any:
    """The container's cgroup manager, created and with its resources applied; or None
    when running rootless without any resources asked for (nothing delegated to us).
    `mountinfo`: /proc/self/mountinfo's text if the caller read it already."""
    from minidocker.linux import cgroups, userns

    linux = spec.get("linux") or {}
    asked = linux.get("resources") or {}
    resources = with_default_devices(asked, linux.get("devices") or [])
    if userns.rootless():
        # no device cgroup: an unprivileged user cannot attach the v2 eBPF program (nor
        # write v1's devices.deny), and its container gets no device node it could not
        # open anyway (they are bind-mounted from the host): runc skips it too
        resources = {k: v for k, v in resources.items() if k != "devices"}
    if userns.rootless() and not _writable_cgroup():
        if _asks_for_limits(asked):  # Docker's deny-all device rule alone is no limit
            raise MinidockerError("cannot apply linux.resources: cgroups are not delegated "
                                  "to this user (run as root or with a delegated cgroup)")
        return None
    manager = cgroups.open_manager(linux.get("cgroupsPath") or None, cid, systemd=systemd,
                                   mountinfo=mountinfo)
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


def paused(data: dict[str, Any]) -> bool:
    """Whether the container's cgroup (its manager's to_state()) is frozen or freezing, as
    the managers' is_frozen() tells it: v1's freezer.state is not THAWED, v2's cgroup.freeze
    is 1. Read here without the managers' imports (~1 ms): `state` and `kill` of a running
    container ask it on every call."""
    try:
        if data.get("version") == 1:
            directory = (data.get("dirs") or {}).get("freezer")
            name = "freezer.state"
        elif data.get("version") == 2:
            directory = os.path.join(data["root"], data["path"].lstrip("/"))
            name = "cgroup.freeze"
        else:
            return False
        if not directory:
            return False
        with open(os.path.join(directory, name)) as f:
            value = f.read().strip()
    except (OSError, KeyError, TypeError, AttributeError):
        return False
    return value != "THAWED" if name == "freezer.state" else value == "1"


def _asks_for_limits(resources: dict[str, Any]) -> bool:
    devices = resources.get("devices") or []
    default_devices = devices == [{"allow": False, "access": "rwm"}]
    if resources.get("blockIO"):  # dockerd's {"weight": 0} asks for nothing
        from minidocker.linux.cgroups.common import blkio_needed
        if not blkio_needed(resources):
            resources = {k: v for k, v in resources.items() if k != "blockIO"}
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


CACHE = ".cgroup-mounts.json"  # in the runtime's root


def host_cgroup_mountinfo(root: str) -> tuple[str, dict[str, Any] | None]:
    """The cgroup lines of /proc/self/mountinfo: all that `create` needs of it (its v1
    cgroup manager finds its hierarchies there, the init's /sys/fs/cgroup shows them).

    The kernel prints mountinfo at ~7 us a mount, and a host running containers has
    hundreds or thousands (3-6 ms a read with 300-600 here, CPU on every create). The
    lines are kept in ROOT/.cgroup-mounts.json with the device and inode of every mount
    point they name and the entries of /sys/fs/cgroup, and used while all of those are
    the same (~0.1 ms of stat calls): a mount or unmount of a hierarchy, or another mount
    over one, changes them. Any problem with the cache means reading mountinfo.

    Returns the lines and, when they were read now and nothing changed meanwhile, what
    to cache: save_cgroup_mounts() writes it once the container is created (a failed
    create leaves nothing in the root)."""
    from minidocker import jsonfast as json
    path = os.path.join(root, CACHE)
    try:
        with open(path, "rb") as f:
            cached = json.loads(f.read())
        if isinstance(cached["lines"], str) and \
                cached["keys"] == _cgroup_mount_keys(cached["lines"]):
            return cached["lines"], None
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        pass
    with open("/proc/self/mountinfo") as f:
        text = f.read()
    lines = "\n".join(line for line in text.splitlines() if " - cgroup" in line)
    before = _cgroup_mount_keys(lines)
    if before is None or "\\" in lines:  # escaped names: not what stat() takes
        return lines, None
    with open("/proc/self/mountinfo") as f:  # unchanged while we looked?
        again = "\n".join(line for line in f.read().splitlines() if " - cgroup" in line)
    if again != lines or _cgroup_mount_keys(lines) != before:
        return lines, None
    return lines, {"lines": lines, "keys": before}


def save_cgroup_mounts(root: str, doc: dict[str, Any] | None) -> None:
    """Keep what host_cgroup_mountinfo() read for the next create (best effort)."""
    if doc is None:
        return
    from minidocker import jsonfast as json
    from minidocker.runtime.state import write_atomic
    try:
        write_atomic(os.path.join(root, CACHE), json.dumps(doc).encode(), durable=False)
    except OSError:
        pass


def _cgroup_mount_keys(lines: str) -> dict[str, Any] | None:
    """What tells whether the cgroup mounts changed: (device, inode) of /sys/fs/cgroup and
    of each mount point in `lines`, and the entries of /sys/fs/cgroup when it holds the
    v1 hierarchies (on cgroup v2 they are the root's cgroups, which come and go)."""
    points = {"/sys/fs/cgroup"} | {line.split()[4] for line in lines.splitlines()}
    keys: dict[str, Any] = {}
    try:
        for point in sorted(points):
            st = os.stat(point)
            keys[point] = [st.st_dev, st.st_ino]
        if not any(line.split()[4] == "/sys/fs/cgroup" for line in lines.splitlines()):
            keys[""] = sorted(os.listdir("/sys/fs/cgroup"))
    except OSError:
        return None
    return keys


def cgroup_mounts(mountinfo: str | None = None) -> list[tuple[str, str, str, str]]:
    """[(mount point, fs type, super options, root of the mount)] of the host's cgroup
    hierarchies, from `mountinfo` (the text of /proc/self/mountinfo) or read now. `create`
    reads them in the parent, which needs mountinfo for its cgroup manager anyway, and
    sends them to the init in CGROUPS_DONE: reading mountinfo costs ~3 ms with 300
    mounts on the host, on the init's path when it mounts /sys/fs/cgroup."""
    if mountinfo is None:
        with open("/proc/self/mountinfo") as f:
            mountinfo = f.read()
    out = []
    for line in mountinfo.splitlines():
        if " - cgroup" not in line:  # hundreds of other mounts on a busy host
            continue
        left, _, right = line.partition(" - ")
        fstype, _source, super_opts = (right.split() + ["", "", ""])[:3]
        if fstype in ("cgroup", "cgroup2"):
            fields = left.split()
            out.append((fields[4], fstype, super_opts, fields[3]))
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
    """A function mounting an OCI `cgroup` mount: the container's own cgroup of each host
    hierarchy (never the root of one), read-only if asked. Must run in the container's
    mount namespace, before pivot_root, once the init is in its cgroup. `info`: what the
    parent said in CGROUPS_DONE: `dirs`, the container's cgroup directories on the host,
    or None when it has none of its own (rootless without delegation: the runtime's own
    cgroups are shown then, unless one is a hierarchy's root); `mounts`, cgroup_mounts()
    as the parent read them when the init's mount namespace is a copy of the parent's
    (else None: the init reads its own). A hierarchy where the
    container has no cgroup of its own is left out (a hybrid host's cgroup2 hierarchy
    when no limit needs it)."""
    from minidocker.linux import libc
    told = {} if info is None else info

    def mount_cgroupfs(rootfs: Any, dest: str, flags: int) -> None:
        mounts = told.get("mounts") or cgroup_mounts()
        dirs = told.get("dirs")
        own = _own_paths() if dirs is None else {}
        if any(mp == "/sys/fs/cgroup" and t == "cgroup2" for mp, t, _, _ in mounts):
            mount_root = next(r for mp, t, _, r in mounts if mp == "/sys/fs/cgroup")
            source = _own_dir("/sys/fs/cgroup", mount_root, own.get("", "/"), dirs)
            if source is not None:
                _mount_one(rootfs, dest, "cgroup2", "", source, flags, new_cgroupns)
            else:
                os.close(rootfs.make_target(dest, True))
            return
        # v1 or hybrid: a tmpfs with one directory per hierarchy
        keep = flags & (libc.MS_NOSUID | libc.MS_NODEV | libc.MS_NOEXEC | libc.MS_RELATIME)
        fd = rootfs.make_target(dest, True)
        try:
            libc.mount("tmpfs", f"/proc/self/fd/{fd}", "tmpfs", keep, "mode=755",
                       what=f"tmpfs on {dest}")
        finally:
            os.close(fd)
        # the fresh tmpfs, empty and ours: its directories are made and opened through
        # this fd, not resolved again from the rootfs (8 calls each -> 2, ~0.4 ms)
        tmpfs = rootfs.open(dest, os.O_PATH | os.O_DIRECTORY)
        try:
            for mount_point, fstype, super_opts, mount_root in mounts:
                if not mount_point.startswith("/sys/fs/cgroup/"):
                    continue
                name = mount_point[len("/sys/fs/cgroup/"):]
                if "/" in name:
                    continue
                if fstype == "cgroup2":
                    opts, key = "", ""
                else:
                    opts = ",".join(o for o in super_opts.split(",") if o not in ("rw", "ro")
                                    and not o.startswith("release_agent"))
                    key = ",".join(o for o in opts.split(",") if o) or name
                    key = next((k for k in own if set(k.split(",")) ==
                                set(key.split(","))), key)
                source = _own_dir(mount_point, mount_root, own.get(key, "/"), dirs)
                if source is None:
                    continue
                try:
                    os.mkdir(name, 0o755, dir_fd=tmpfs)
                except FileExistsError:
                    pass
                target = os.open(name, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW |
                                 os.O_CLOEXEC, dir_fd=tmpfs) if new_cgroupns else None
                _mount_one(rootfs, f"{dest}/{name}", fstype, opts, source, flags,
                           new_cgroupns, target)
                if "," in name:
                    for part in name.split(","):
                        try:
                            os.symlink(name, part, dir_fd=tmpfs)
                        except FileExistsError:
                            pass
            if flags & libc.MS_RDONLY:
                libc.mount(None, f"/proc/self/fd/{tmpfs}", None,
                           libc.MS_REMOUNT | libc.MS_RDONLY | keep, "mode=755",
                           what=f"tmpfs on {dest}")
        finally:
            os.close(tmpfs)

    return mount_cgroupfs


def _own_dir(mount_point: str, mount_root: str, own_path: str,
             dirs: list[str] | None) -> str | None:
    """The container's cgroup directory in the hierarchy mounted at `mount_point` (the
    mount shows `mount_root` of it): one of `dirs` below the mount point, or else (no
    `dirs`) `own_path` of /proc/self/cgroup; None when there is none or it would be the
    hierarchy's root."""
    if dirs is not None:
        return next((d for d in dirs if d.startswith(mount_point + "/")), None)
    if own_path == "/" or not (own_path + "/").startswith(mount_root.rstrip("/") + "/"):
        return None
    return mount_point + own_path[len(mount_root.rstrip("/")):]


def _mount_one(rootfs: Any, dest: str, fstype: str, opts: str, source: str, flags: int,
               new_cgroupns: bool, target: int | None = None) -> None:
    """A fresh cgroup filesystem in a cgroup namespace (its root is the container's
    cgroup), else a bind mount of the container's directory `source` with the flags.
    `target`: with a cgroup namespace, an O_PATH fd of `dest` already made (closed
    here)."""
    from minidocker.linux import libc
    if new_cgroupns:
        mflags = flags & (libc.MS_RDONLY | libc.MS_NOSUID | libc.MS_NODEV | libc.MS_NOEXEC |
                          libc.MS_RELATIME)
        fd = rootfs.make_target(dest, True) if target is None else target
        try:
            libc.mount("cgroup", f"/proc/self/fd/{fd}", fstype, mflags, opts or None,
                       what=dest)
            return
        except OSError:
            pass  # e.g. cgroup v1 in a user namespace: a bind mount of our own cgroup
        finally:
            os.close(fd)
    # the bind, then the flags through a new fd of the mount (the one opened before the
    # bind still names the covered directory, where a remount is EINVAL)
    rootfs.bind(source, dest, (flags | libc.MS_BIND) & ~libc.MS_REC)
