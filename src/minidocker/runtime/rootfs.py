"""The container's root filesystem: mounts, devices, masked paths, pivot_root.

Every path inside the rootfs is resolved with openat2(RESOLVE_IN_ROOT) from a directory
fd of the rootfs, and every mount targets the resulting fd through /proc/self/fd/N, so a
symlink in the image (or one swapped in while we work) can never lead a mount, a mkdir or
a device node outside the rootfs.
"""

from __future__ import annotations

import errno
import os
import stat

import minidocker
from minidocker.errors import MinidockerError
from minidocker.linux import libc

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

O_PATH = os.O_PATH
IN_ROOT = libc.RESOLVE_IN_ROOT | libc.RESOLVE_NO_MAGICLINKS

# option -> (clear, set) flags; propagation options are applied after the mount
_FLAGS: dict[str, tuple[bool, int]] = {
    "ro": (False, libc.MS_RDONLY), "rw": (True, libc.MS_RDONLY),
    "nosuid": (False, libc.MS_NOSUID), "suid": (True, libc.MS_NOSUID),
    "nodev": (False, libc.MS_NODEV), "dev": (True, libc.MS_NODEV),
    "noexec": (False, libc.MS_NOEXEC), "exec": (True, libc.MS_NOEXEC),
    "sync": (False, libc.MS_SYNCHRONOUS), "async": (True, libc.MS_SYNCHRONOUS),
    "dirsync": (False, libc.MS_DIRSYNC), "remount": (False, libc.MS_REMOUNT),
    "mand": (False, libc.MS_MANDLOCK), "nomand": (True, libc.MS_MANDLOCK),
    "noatime": (False, libc.MS_NOATIME), "atime": (True, libc.MS_NOATIME),
    "nodiratime": (False, libc.MS_NODIRATIME), "diratime": (True, libc.MS_NODIRATIME),
    "relatime": (False, libc.MS_RELATIME), "norelatime": (True, libc.MS_RELATIME),
    "strictatime": (False, libc.MS_STRICTATIME),
    "nostrictatime": (True, libc.MS_STRICTATIME),
    "lazytime": (False, libc.MS_LAZYTIME), "nolazytime": (True, libc.MS_LAZYTIME),
    "nosymfollow": (False, libc.MS_NOSYMFOLLOW), "symfollow": (True, libc.MS_NOSYMFOLLOW),
    "bind": (False, libc.MS_BIND), "rbind": (False, libc.MS_BIND | libc.MS_REC),
}
PROPAGATION = {
    "private": libc.MS_PRIVATE, "rprivate": libc.MS_PRIVATE | libc.MS_REC,
    "shared": libc.MS_SHARED, "rshared": libc.MS_SHARED | libc.MS_REC,
    "slave": libc.MS_SLAVE, "rslave": libc.MS_SLAVE | libc.MS_REC,
    "unbindable": libc.MS_UNBINDABLE, "runbindable": libc.MS_UNBINDABLE | libc.MS_REC,
}
# options the runtime understands but the kernel's mount data must not see
# options the runtime understands but the kernel's mount data must not see
_IGNORED = {"tmpcopyup", "defaults"}
# recursive attributes (mount_setattr with AT_RECURSIVE): option -> (set, clear)
_ATTR_RDONLY, _ATTR_NOSUID, _ATTR_NODEV, _ATTR_NOEXEC = 0x1, 0x2, 0x4, 0x8
_ATTR_ATIME, _ATTR_NOATIME, _ATTR_STRICTATIME = 0x70, 0x10, 0x20
_ATTR_NODIRATIME, _ATTR_NOSYMFOLLOW = 0x80, 0x200000
RECURSIVE: dict[str, tuple[int, int]] = {
    "rro": (_ATTR_RDONLY, 0), "rrw": (0, _ATTR_RDONLY),
    "rnosuid": (_ATTR_NOSUID, 0), "rsuid": (0, _ATTR_NOSUID),
    "rnodev": (_ATTR_NODEV, 0), "rdev": (0, _ATTR_NODEV),
    "rnoexec": (_ATTR_NOEXEC, 0), "rexec": (0, _ATTR_NOEXEC),
    "rnodiratime": (_ATTR_NODIRATIME, 0), "rdiratime": (0, _ATTR_NODIRATIME),
    "rrelatime": (0, _ATTR_ATIME), "rnorelatime": (_ATTR_NOATIME, _ATTR_ATIME),
    "rnoatime": (_ATTR_NOATIME, _ATTR_ATIME), "ratime": (0, _ATTR_ATIME),
    "rstrictatime": (_ATTR_STRICTATIME, _ATTR_ATIME),
    "rnostrictatime": (0, _ATTR_ATIME),
    "rnosymfollow": (_ATTR_NOSYMFOLLOW, 0), "rsymfollow": (0, _ATTR_NOSYMFOLLOW),
}
_UNSUPPORTED = {"idmap", "ridmap"}
_LOCKABLE = libc.MS_NOSUID | libc.MS_NODEV | libc.MS_NOEXEC | libc.MS_RDONLY | \
    libc.MS_NOATIME | libc.MS_NODIRATIME | libc.MS_RELATIME
_ST_TO_MS = {1: libc.MS_RDONLY, 2: libc.MS_NOSUID, 4: libc.MS_NODEV, 8: libc.MS_NOEXEC,
             1024: libc.MS_NOATIME, 2048: libc.MS_NODIRATIME, 4096: libc.MS_RELATIME}

DEFAULT_DEVICES = [
    # path, type, major, minor, mode
    ("/dev/null", "c", 1, 3, 0o666), ("/dev/zero", "c", 1, 5, 0o666),
    ("/dev/full", "c", 1, 7, 0o666), ("/dev/random", "c", 1, 8, 0o666),
    ("/dev/urandom", "c", 1, 9, 0o666), ("/dev/tty", "c", 5, 0, 0o666),
]
DEV_SYMLINKS = [("/proc/self/fd", "/dev/fd"), ("/proc/self/fd/0", "/dev/stdin"),
                ("/proc/self/fd/1", "/dev/stdout"), ("/proc/self/fd/2", "/dev/stderr")]


class Syscalls:
    """The system calls that change mounts and devices, in one small replaceable layer:
    Rootfs makes every such call through one (HOST: the real ones), so that a test can
    give it a recording fake and check, without root, what a config.json makes it do.
    Path resolution (openat2, mkdir, O_PATH fds) stays real: it is what keeps every
    mount inside the rootfs, and it needs no privilege."""

    def mount(self, source: str | None, target: str, fstype: str | None, flags: int,
              data: str | None = None, what: str = "") -> None:
        libc.mount(source, target, fstype, flags, data, what=what)

    def umount2(self, target: str, flags: int) -> None:
        libc.umount2(target, flags)

    def mount_setattr(self, fd: int, attr_set: int, attr_clr: int, recursive: bool) -> None:
        libc.mount_setattr(fd, attr_set, attr_clr, recursive=recursive)

    def move_mount(self, tree: int, fd: int, what: str) -> None:
        libc.move_mount(tree, fd, what)

    def fstatfs_flags(self, fd: int) -> int:
        return int(libc.fstatfs_flags(fd))

    def mknodat(self, dirfd: int, name: str, mode: int, device: int) -> None:
        libc.mknodat(dirfd, name, mode, device)

    def chown(self, path: str, uid: int, gid: int) -> None:
        os.chown(path, uid, gid)

    def pivot_root(self, new_root: str, put_old: str) -> None:
        libc.pivot_root(new_root, put_old)

    def chroot(self, path: str) -> None:
        os.chroot(path)

    def chdir(self, path: str) -> None:
        os.chdir(path)

    def fchdir(self, fd: int) -> None:
        os.fchdir(fd)


HOST = Syscalls()


def parse_options(options: list[str]) -> tuple[int, int, list[str]]:
    """(mount flags, propagation flags, data options) of an OCI mount's options."""
    flags, propagation, data = 0, 0, []
    for opt in options:
        if opt in _FLAGS:
            clear, bit = _FLAGS[opt]
            flags = flags & ~bit if clear else flags | bit
        elif opt in PROPAGATION:
            propagation |= PROPAGATION[opt]
        elif opt in _UNSUPPORTED:
            raise MinidockerError(f"mount option {opt!r} (id-mapped mounts) is not "
                                  "supported by this runtime")
        elif opt not in _IGNORED and opt not in RECURSIVE:
            data.append(opt)
    return flags, propagation, data


def recursive_attrs(options: list[str]) -> tuple[int, int]:
    """(attr_set, attr_clr) for mount_setattr from the r* options (rro, rnosuid ...)."""
    attr_set = attr_clr = 0
    for opt in options:
        if opt not in RECURSIVE:
            continue
        add, remove = RECURSIVE[opt]
        if remove == _ATTR_ATIME:  # an atime option replaces the whole atime field
            attr_set = (attr_set & ~_ATTR_ATIME) | add
            attr_clr |= _ATTR_ATIME
        else:
            attr_set = (attr_set | add) & ~remove
            attr_clr = (attr_clr | remove) & ~add
    return attr_set, attr_clr


def clean(path: str) -> list[str]:
    """The components of `path` with "." and ".." resolved lexically, never above root."""
    out: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if out:
                out.pop()
            continue
        out.append(part)
    return out


def fd_path(fd: int) -> str:
    return f"/proc/self/fd/{fd}"


class Rootfs:
    """Mount work inside one rootfs, resolved safely from its directory fd."""

    def __init__(self, path: str, *, userns: bool = False, cgroup_mount: Any = None,
                 sys: Syscalls = HOST):
        self.path = path
        self.sys = sys  # the mount and device calls (a recording fake in tests)
        self.userns = userns
        self.cgroup_mount = cgroup_mount  # callable(Rootfs, dest, flags) for "cgroup" mounts
        self.fd = os.open(path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        self.dev_from_host = False  # /dev bind-mounted: make no devices in it

    # ---- safe resolution ----

    def open(self, rel: str, flags: int = O_PATH, resolve: int = IN_ROOT) -> int:
        return libc.openat2(self.fd, rel.lstrip("/") or ".", flags, resolve)

    def mkdir_all(self, rel: str, mode: int = 0o755, _links: int = 0) -> int:
        """Create every missing directory of `rel` inside the rootfs; an O_PATH fd of it.
        A dangling symlink on the way is followed inside the rootfs (as runc does)."""
        parts = clean(rel)
        if not _links and "/".join(parts) == rel.strip("/"):
            try:  # the usual case, all there: one openat2 (it stays inside the root too)
                return self.open(rel, O_PATH | os.O_DIRECTORY)
            except FileNotFoundError:
                pass
        cur = "."
        fd = os.dup(self.fd)
        try:
            for i, part in enumerate(parts):
                nxt = f"{cur}/{part}"
                try:
                    new = self.open(nxt, O_PATH | os.O_DIRECTORY)
                except FileNotFoundError:
                    try:
                        os.mkdir(part, mode, dir_fd=fd)
                    except FileExistsError:
                        target = os.readlink(part, dir_fd=fd)
                        if _links >= 40:
                            raise OSError(errno.ELOOP, f"{rel}: too many symlinks")
                        base = "" if target.startswith("/") else cur
                        rest = "/".join(parts[i + 1:])
                        os.close(fd)
                        fd = -1
                        return self.mkdir_all(f"{base}/{target}/{rest}", mode, _links + 1)
                    new = self.open(nxt, O_PATH | os.O_DIRECTORY)
                os.close(fd)
                fd, cur = new, nxt
            result, fd = fd, -1
            return result
        finally:
            if fd >= 0:
                os.close(fd)

    def make_target(self, rel: str, is_dir: bool, _links: int = 0) -> int:
        """Create the mount point `rel` (a directory, or an empty file) and return its fd.
        A dangling symlink is followed inside the rootfs and what it names is made (as
        runc does: /etc/resolv.conf -> ../run/... in many images)."""
        if is_dir:
            return self.mkdir_all(rel)
        if "/".join(clean(rel)) == rel.strip("/"):
            try:  # the usual case: it is there
                return self.open(rel, O_PATH)
            except FileNotFoundError:
                pass
        parent, _, name = rel.rstrip("/").rpartition("/")
        pfd = self.mkdir_all(parent)
        try:
            try:
                return self.open(rel, O_PATH)
            except FileNotFoundError:
                pass
            try:
                fd = os.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_CLOEXEC |
                             os.O_NOFOLLOW, 0o644, dir_fd=pfd)
                os.close(fd)
            except FileExistsError:
                try:
                    target = os.readlink(name, dir_fd=pfd)
                except OSError:
                    target = None  # not a symlink: made meanwhile, opened below
                if target is not None:
                    if _links >= 40:
                        raise OSError(errno.ELOOP, f"{rel}: too many symlinks")
                    base = "" if target.startswith("/") else parent
                    return self.make_target(f"{base}/{target}", False, _links + 1)
            return self.open(rel, O_PATH)
        finally:
            os.close(pfd)

    # ---- mounts ----

    def prepare(self, propagation: str | None) -> None:
        """Make the rootfs a private mount point of its own in our new mount namespace."""
        flag = PROPAGATION.get(propagation or "rslave", libc.MS_SLAVE | libc.MS_REC)
        self.sys.mount(None, "/", None, flag, what="/ (root propagation)")
        _make_parent_private(self.path, self.sys)
        self.sys.mount(self.path, self.path, None, libc.MS_BIND | libc.MS_REC)
        os.close(self.fd)
        self.fd = os.open(self.path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        if minidocker.TRACE:
            minidocker.TRACE.step("mount", "rootfs bound onto itself", rootfs=self.path,
                                  root_propagation=propagation or "rslave")

    def mount(self, m: dict[str, Any], tree: int | None = None) -> None:
        """Mount `m`; a bind mount from `tree`, its source opened beforehand, if given."""
        dest = m["destination"]
        mtype = m.get("type") or ""
        source = m.get("source") or ""
        options = m.get("options") or []
        flags, propagation, data = parse_options(options)
        bind = bool(flags & libc.MS_BIND) or mtype == "bind"
        if mtype == "bind" and not flags & libc.MS_BIND:
            flags |= libc.MS_BIND
        if dest == "/dev" and bind:
            self.dev_from_host = True
        try:
            if bind:
                self.bind(source, dest, flags, tree)
            elif mtype == "cgroup":
                if self.cgroup_mount is None:
                    raise MinidockerError("cgroup mounts are not supported here")
                self.cgroup_mount(self, dest, flags)
            else:
                if mtype == "tmpfs" and not any(o.startswith("mode=") for o in data):
                    data = self._mode_of(dest) + data
                fd = self.make_target(dest, True)
                try:
                    what = f"{mtype} on {dest}"
                    try:
                        self.sys.mount(source or mtype, fd_path(fd), mtype, flags,
                                   ",".join(data) or None, what=what)
                    except OSError as e:
                        # sysfs cannot be mounted in a user ns that does not own the net ns
                        if mtype == "sysfs" and e.errno == 1 and self.userns:
                            self.sys.mount("/sys", fd_path(fd), None,
                                       libc.MS_BIND | libc.MS_REC, what=what)
                            mounted = self.open(dest)  # fd is what lies under the bind
                            try:
                                self._remount(mounted, dest, flags | libc.MS_BIND)
                            finally:
                                os.close(mounted)
                        else:
                            raise
                finally:
                    os.close(fd)
            attr_set, attr_clr = recursive_attrs(options)
            if attr_set or attr_clr:
                fd = self.open(dest)
                try:
                    self.sys.mount_setattr(fd, attr_set, attr_clr, recursive=True)
                finally:
                    os.close(fd)
            if propagation:
                fd = self.open(dest)
                try:
                    self.sys.mount(None, fd_path(fd), None, propagation, what=dest)
                finally:
                    os.close(fd)
        except OSError as e:
            raise MinidockerError(f"mount {source or mtype} to {dest}: {e.strerror}")
        if minidocker.TRACE:
            minidocker.TRACE.mount(source, dest, mtype, flags, data, options=options,
                                   propagation=propagation)

    def _mode_of(self, dest: str) -> list[str]:
        """["mode=NNNN"] of an existing mount point (a tmpfs takes it, as with runc), or
        [] when it is still to be made (the tmpfs default, 1777, then)."""
        try:
            fd = self.open(dest)
        except (FileNotFoundError, NotADirectoryError):
            return []
        try:
            return [f"mode={stat.S_IMODE(os.fstat(fd).st_mode):04o}"]
        finally:
            os.close(fd)

    def bind(self, source: str, dest: str, flags: int, tree: int | None = None) -> None:
        """Bind-mount the host path `source` at `dest` with `flags` (ro, nosuid...); from
        `tree` (open_bind_sources) when given."""
        if not source.startswith("/"):
            raise MinidockerError(f"bind mount source {source!r} must be an absolute path")
        try:
            st = os.stat(source) if tree is None else os.fstat(tree)
        except OSError as e:
            raise MinidockerError(f"bind mount source {source}: {e.strerror}")
        fd = self.make_target(dest, stat.S_ISDIR(st.st_mode))
        try:
            if tree is None:
                self.sys.mount(source, fd_path(fd), None, libc.MS_BIND | flags & libc.MS_REC,
                           what=dest)
            else:
                self.sys.move_mount(tree, fd, dest)
            extra = flags & ~(libc.MS_BIND | libc.MS_REC | libc.MS_REMOUNT)
            if extra:
                os.close(fd)
                fd = self.open(dest)
                self._remount(fd, dest, flags)
        finally:
            os.close(fd)

    def _remount(self, fd: int, dest: str, flags: int) -> None:
        """Apply ro/nosuid/... to a bind mount, keeping flags the kernel locked on it."""
        current = 0
        st_flags = self.sys.fstatfs_flags(fd)
        for st_bit, ms_bit in _ST_TO_MS.items():
            if st_flags & st_bit:
                current |= ms_bit
        keep = current & _LOCKABLE if self.userns else 0
        if keep & libc.MS_RDONLY and not flags & libc.MS_RDONLY:
            keep &= ~libc.MS_RDONLY if not self.userns else keep
        new = (flags | keep) & ~libc.MS_REC
        self.sys.mount(None, fd_path(fd), None, new | libc.MS_REMOUNT | libc.MS_BIND, what=dest)

    # ---- /dev ----

    def create_devices(self, devices: list[dict[str, Any]], default: bool) -> None:
        wanted: list[dict[str, Any]] = []
        if default:
            wanted = [{"path": p, "type": t, "major": a, "minor": b, "fileMode": m}
                      for p, t, a, b, m in DEFAULT_DEVICES]
        given = {d["path"] for d in devices}
        wanted = [d for d in wanted if d["path"] not in given] + list(devices)
        for dev in wanted:
            self._device(dev)

    def _device(self, dev: dict[str, Any]) -> None:
        path = dev["path"]
        parent, _, name = path.rstrip("/").rpartition("/")
        kind = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK,
                "p": stat.S_IFIFO}[dev["type"]]
        mode = dev.get("fileMode", 0o666) & 0o7777
        number = os.makedev(dev.get("major", 0), dev.get("minor", 0))
        pfd = self.mkdir_all(parent)
        try:
            if self.userns and kind != stat.S_IFIFO:
                self._bind_device(path)
                return
            try:
                self.sys.mknodat(pfd, name, kind | mode, number)
            except FileExistsError:
                return  # the image's own node (or a planted symlink): never follow it
            except PermissionError:
                self._bind_device(path)
                return
            # mknod obeys the umask; set the exact mode and owner without following links
            nfd = libc.openat2(pfd, name, O_PATH, libc.RESOLVE_NO_SYMLINKS |
                               libc.RESOLVE_BENEATH)
            try:
                os.chmod(fd_path(nfd), mode)
                self.sys.chown(fd_path(nfd), dev.get("uid", 0), dev.get("gid", 0))
            finally:
                os.close(nfd)
            if minidocker.TRACE:
                minidocker.TRACE.step("device", "mknod", path=path, type=dev["type"],
                                      major=dev.get("major", 0), minor=dev.get("minor", 0),
                                      mode=oct(mode))
        except OSError as e:
            raise MinidockerError(f"create device {path}: {e.strerror}")
        finally:
            os.close(pfd)

    def _bind_device(self, path: str) -> None:
        fd = self.make_target(path, False)
        try:
            self.sys.mount(path, fd_path(fd), None, libc.MS_BIND, what=path)
        finally:
            os.close(fd)
        if minidocker.TRACE:
            minidocker.TRACE.step("device", "bind from the host", path=path)

    def dev_symlinks(self, with_ptmx: bool) -> None:
        links = list(DEV_SYMLINKS)
        if with_ptmx:
            links.append(("pts/ptmx", "/dev/ptmx"))
        if os.path.exists("/proc/kcore"):
            links.append(("/proc/kcore", "/dev/core"))
        dfd = self.mkdir_all("/dev")
        try:
            for target, link in links:
                name = link.rsplit("/", 1)[1]
                if name == "ptmx":
                    # devpts gives us /dev/pts/ptmx; replace any /dev/ptmx node of the image
                    try:
                        os.unlink(name, dir_fd=dfd)
                    except OSError:
                        pass
                try:
                    os.symlink(target, name, dir_fd=dfd)
                except FileExistsError:
                    pass
        finally:
            os.close(dfd)
        if minidocker.TRACE:
            minidocker.TRACE.step("device", "symlinks",
                                  links={link: target for target, link in links})

    # ---- masked and read-only paths ----

    def mask(self, path: str, devnull_fd: int) -> None:
        try:
            fd = self.open(path)
        except (FileNotFoundError, NotADirectoryError):
            return
        try:
            st = os.fstat(fd)
            if stat.S_ISDIR(st.st_mode):
                self.sys.mount("tmpfs", fd_path(fd), "tmpfs", libc.MS_RDONLY,
                           "size=0k,nr_inodes=1" if not self.userns else None, what=path)
            else:
                self.sys.mount(fd_path(devnull_fd), fd_path(fd), None, libc.MS_BIND, what=path)
        except OSError as e:
            raise MinidockerError(f"mask {path}: {e.strerror}")
        finally:
            os.close(fd)
        if minidocker.TRACE:
            minidocker.TRACE.step("mount", "mask", path=path, using="an empty read-only tmpfs"
                                  if stat.S_ISDIR(st.st_mode) else "/dev/null (bind)")

    def readonly(self, path: str) -> None:
        try:
            fd = self.open(path)
        except (FileNotFoundError, NotADirectoryError):
            return
        try:
            self.sys.mount(fd_path(fd), fd_path(fd), None, libc.MS_BIND | libc.MS_REC, what=path)
            os.close(fd)
            fd = self.open(path)
            self._remount(fd, path, libc.MS_RDONLY | libc.MS_NOSUID | libc.MS_NODEV |
                          libc.MS_NOEXEC | libc.MS_REC)
        except OSError as e:
            raise MinidockerError(f"make {path} read-only: {e.strerror}")
        finally:
            os.close(fd)
        if minidocker.TRACE:
            minidocker.TRACE.step("mount", "read-only", path=path)

    # ---- the switch ----

    def pivot(self, no_pivot: bool) -> None:
        self.sys.chdir(self.path)
        if no_pivot:
            self.sys.mount(self.path, "/", None, libc.MS_MOVE, what="rootfs (move)")
            self.sys.chroot(".")
        else:
            old = os.open("/", os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
            new = os.open(self.path, os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
            try:
                self.sys.fchdir(new)
                self.sys.pivot_root(".", ".")
                self.sys.fchdir(old)
                # the old root must not propagate our unmount back to the host
                self.sys.mount(None, ".", None, libc.MS_SLAVE | libc.MS_REC, what="old root")
                self.sys.umount2(".", libc.MNT_DETACH)
            finally:
                os.close(old)
                os.close(new)
        self.sys.chdir("/")
        os.close(self.fd)
        if minidocker.TRACE:
            minidocker.TRACE.step("mount", "chroot (--no-pivot)" if no_pivot else
                                  "pivot_root", new_root=self.path,
                                  old_root="moved over" if no_pivot else "detached (MNT_DETACH)")

    def chroot(self) -> None:
        """Enter the rootfs without pivot_root: for a container in the host's mount
        namespace, where pivot_root would move the root of every host process (runc
        chroots there too)."""
        self.sys.fchdir(self.fd)
        self.sys.chroot(".")
        self.sys.chdir("/")
        os.close(self.fd)
        if minidocker.TRACE:
            minidocker.TRACE.step("mount", "chroot (no mount namespace)", new_root=self.path)

    @staticmethod
    def set_root_propagation(propagation: str) -> None:
        libc.mount(None, "/", None, PROPAGATION[propagation],
                   what=f"/ (rootfsPropagation {propagation})")

    @staticmethod
    def remount_root_readonly() -> None:
        keep = 0
        st_flags = os.statvfs("/").f_flag
        for st_bit, ms_bit in _ST_TO_MS.items():
            if st_flags & st_bit:
                keep |= ms_bit
        libc.mount(None, "/", None, keep | libc.MS_BIND | libc.MS_REMOUNT | libc.MS_RDONLY,
                   what="/ (readonly)")


def open_bind_sources(mounts: list[dict[str, Any]]) -> dict[int, int]:
    """{index in mounts: a detached copy (open_tree) of its source} of each bind mount,
    made while we are still the host's root in the host's namespaces: from inside a user
    namespace the container's root may not reach a source (a 0700 directory on the way)
    that it is allowed to see once mounted. The init attaches them with move_mount."""
    trees: dict[int, int] = {}
    try:
        for i, m in enumerate(mounts):
            flags = parse_options(m.get("options") or [])[0]
            if not (flags & libc.MS_BIND or m.get("type") == "bind"):
                continue
            source = m.get("source") or ""
            if not source.startswith("/"):
                raise MinidockerError(f"bind mount source {source!r} must be an absolute "
                                      "path")
            try:
                trees[i] = libc.open_tree(source, recursive=bool(flags & libc.MS_REC))
            except OSError as e:
                if e.errno in (errno.EPERM, errno.ENOSYS):  # rootless: no better than later
                    for fd in trees.values():
                        os.close(fd)
                    return {}
                raise MinidockerError(f"bind mount source {source}: "
                                      f"{os.strerror(e.errno or 0)}")
    except BaseException:
        for fd in trees.values():
            os.close(fd)
        raise
    return trees


class MountStep:
    """One step of the root filesystem's setup, as data (mkosi keeps its mounts so):
    `describe()` says what it does (--debug, tests), `execute(rootfs)` does it through
    the rootfs's syscall layer. Kinds: prepare (the rootfs a private mount of its own),
    mount (an OCI mount, `index` in the spec), devices, dev-symlinks, mask, readonly,
    pivot (or chroot: no mount namespace)."""

    __slots__ = ("kind", "arg", "index")

    def __init__(self, kind: str, arg: Any = None, index: int = -1):
        self.kind = kind
        self.arg = arg
        self.index = index

    def describe(self) -> str:
        kind, arg = self.kind, self.arg
        if kind == "prepare":
            return f"prepare: / {arg or 'rslave'}, the rootfs bound onto itself"
        if kind == "mount":
            options = ",".join(arg.get("options") or [])
            what = arg.get("type") or "bind"
            source = arg.get("source") or ""
            src = f" {source}" if source and source != what else ""
            return f"mount {what}{src} on {arg['destination']}" + (
                f" ({options})" if options else "")
        if kind == "devices":
            devices, default = arg
            names = [d[0] for d in DEFAULT_DEVICES] if default else []
            names += [d["path"] for d in devices if d["path"] not in names]
            return "devices " + " ".join(names) if names else "devices (none)"
        if kind == "dev-symlinks":
            return "symlinks in /dev" + (" with ptmx" if arg else "")
        if kind in ("mask", "readonly"):
            return f"{kind} {arg}"
        return "pivot_root" if kind == "pivot" and not arg else \
            "chroot (--no-pivot)" if kind == "pivot" else "chroot (no mount namespace)"

    def execute(self, rootfs: Rootfs, *, tree: int | None = None, devnull: int = -1) -> None:
        kind, arg = self.kind, self.arg
        if kind == "prepare":
            rootfs.prepare(arg)
        elif kind == "mount":
            rootfs.mount(arg, tree)
        elif kind == "devices":
            devices, _ = arg
            rootfs.create_devices(devices, default=not rootfs.dev_from_host)
        elif kind == "dev-symlinks":
            if not rootfs.dev_from_host:
                rootfs.dev_symlinks(with_ptmx=arg)
        elif kind == "mask":
            rootfs.mask(arg, devnull)
        elif kind == "readonly":
            rootfs.readonly(arg)
        elif kind == "pivot":
            rootfs.pivot(arg)
        else:
            rootfs.chroot()

    def __repr__(self) -> str:
        return f"MountStep({self.describe()!r})"


class MountPlan:
    """The mount sequence of a config.json, in four phases that init runs with its other
    work between them: mounts (and the rootfs's own preparation), devices, paths (masked,
    read-only), switch (pivot_root or chroot)."""

    __slots__ = ("mounts", "devices", "paths", "switch")

    def __init__(self, mounts: list[MountStep], devices: list[MountStep],
                 paths: list[MountStep], switch: MountStep):
        self.mounts, self.devices, self.paths, self.switch = mounts, devices, paths, switch

    def steps(self) -> list[MountStep]:
        return [*self.mounts, *self.devices, *self.paths, self.switch]


def plan(spec: dict[str, Any], *, mount_ns: bool, no_pivot: bool = False) -> MountPlan:
    """What setting up the rootfs of `spec` does, step by step, as data."""
    linux = spec.get("linux") or {}
    mounts = spec.get("mounts") or []
    steps = [MountStep("prepare", linux.get("rootfsPropagation"))] if mount_ns else []
    steps += [MountStep("mount", m, i) for i, m in enumerate(mounts)]
    dev_from_host = any(m.get("destination") == "/dev" and (
        m.get("type") == "bind" or parse_options(m.get("options") or [])[0] & libc.MS_BIND)
        for m in mounts)
    devices = [MountStep("devices", (list(linux.get("devices") or []), not dev_from_host))]
    if not dev_from_host:
        has_devpts = any(m.get("type") == "devpts" and m.get("destination") == "/dev/pts"
                         for m in mounts)
        devices.append(MountStep("dev-symlinks", has_devpts))
    paths = [MountStep("mask", p) for p in linux.get("maskedPaths") or []]
    paths += [MountStep("readonly", p) for p in linux.get("readonlyPaths") or []]
    switch = MountStep("pivot", no_pivot) if mount_ns else MountStep("chroot")
    return MountPlan(steps, devices, paths, switch)


def unmount_from_host(rootfs: str, spec: dict[str, Any]) -> list[str]:
    """Undo, at delete, the mounts that create made for a container without a mount
    namespace of its own: they are in the host's mount namespace, under its rootfs
    (runtime.md: delete undoes the steps of create). Newest first: read-only paths, masked
    paths, then the spec's mounts, each popped once (MNT_DETACH, which takes what was
    mounted below it too) and only while it is still a mount point strictly below the
    rootfs; the rootfs itself, often a mount of the caller's, is never touched. Paths are
    resolved inside the rootfs. A container whose rootfs is the host's "/" is left alone:
    its mounts are host mounts. Returns the errors, one line each."""
    if not rootfs.strip("/"):
        return []
    linux = spec.get("linux") or {}
    paths = [*reversed(linux.get("readonlyPaths") or []),
             *reversed(linux.get("maskedPaths") or []),
             *(m.get("destination") or "" for m in reversed(spec.get("mounts") or []))]
    below = rootfs.rstrip("/") + "/"
    try:
        root_fd = os.open(rootfs, O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return []
    errors: list[str] = []
    try:
        for path in paths:
            if not path.strip("/"):
                continue
            try:
                fd = libc.openat2(root_fd, path.lstrip("/"), O_PATH, IN_ROOT)
            except OSError:
                continue  # gone with a mount above it, or never made
            try:
                where = os.readlink(fd_path(fd))
                if where.startswith(below) and where in _mount_points():
                    libc.umount2(fd_path(fd), libc.MNT_DETACH)
            except OSError as e:
                errors.append(f"unmount {path} of the container: {e.strerror}")
            finally:
                os.close(fd)
    finally:
        os.close(root_fd)
    return errors


def _mount_points() -> set[str]:
    with open("/proc/self/mountinfo") as f:
        return {unescape_mountinfo(line.split()[4]) for line in f}


def unescape_mountinfo(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash as \\ooo."""
    if "\\" not in field:
        return field
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and field[i + 1:i + 4].isdigit():
            out.append(chr(int(field[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def _make_parent_private(path: str, sys: Syscalls = HOST) -> None:
    """pivot_root needs the mount holding the new root to be non-shared. That mount is
    found as crun finds it, not from /proc/self/mountinfo (3 ms to read and parse with
    300 mounts on the host): each of `path` (real, absolute) and its parents in turn is
    made private until one is a mount point; the others fail with EINVAL at once."""
    while True:
        try:
            sys.mount(None, path, None, libc.MS_PRIVATE, what=path)
            return
        except OSError as e:
            if e.errno != errno.EINVAL or path == "/":
                return
        path = os.path.dirname(path)


def open_devnull() -> int:
    """An O_PATH fd of the host's real /dev/null (checked), for masking files."""
    fd = os.open("/dev/null", os.O_PATH | os.O_CLOEXEC | os.O_NOFOLLOW)
    st = os.fstat(fd)
    if not stat.S_ISCHR(st.st_mode) or st.st_rdev != os.makedev(1, 3):
        os.close(fd)
        raise MinidockerError("/dev/null on the host is not the null device")
    return fd


def open_procfs() -> int:
    """A directory fd of a real procfs (checked with fstatfs), for every /proc write."""
    fd = os.open("/proc", os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    if libc.fstatfs_type(fd) != libc.PROC_SUPER_MAGIC:
        os.close(fd)
        raise MinidockerError("/proc is not a procfs")
    return fd


def proc_write(procfd: int, rel: str, value: str) -> None:
    """Write to a file under the verified procfs without following symlinks we don't expect."""
    fd = libc.openat2(procfd, rel, os.O_WRONLY,
                      libc.RESOLVE_BENEATH | libc.RESOLVE_NO_MAGICLINKS)
    try:
        if libc.fstatfs_type(fd) != libc.PROC_SUPER_MAGIC:
            raise MinidockerError(f"/proc/{rel} is not on procfs")
        try:
            os.write(fd, value.encode())
        except OSError as e:  # e.g. lowering oom_score_adj without CAP_SYS_RESOURCE
            raise MinidockerError(f"write {value} to /proc/{rel}: {e.strerror}")
    finally:
        os.close(fd)
