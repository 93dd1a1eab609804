"""Typed wrappers for the Linux system calls Python's os module lacks.

One libc handle, one small function per syscall; every failure raises OSError whose
strerror names the syscall (and its object) from the single helper `_check`.
This is the only module of the project that touches ctypes for syscalls.
"""

from __future__ import annotations

import ctypes
import os

_libc = ctypes.CDLL(None, use_errno=True)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long

_MACHINE = os.uname().machine
# syscall numbers of calls glibc has no wrapper for (x86_64, aarch64)
_NR = {
    "x86_64": {"pivot_root": 155, "setns": 308, "openat2": 437, "seccomp": 317,
               "pidfd_open": 434, "pidfd_send_signal": 424, "close_range": 436,
               "capget": 125, "capset": 126, "move_mount": 429, "open_tree": 428,
               "mount_setattr": 442, "keyctl": 250, "rt_sigaction": 13},
    "aarch64": {"pivot_root": 41, "setns": 268, "openat2": 437, "seccomp": 277,
                "pidfd_open": 434, "pidfd_send_signal": 424, "close_range": 436,
                "capget": 90, "capset": 91, "move_mount": 429, "open_tree": 428,
                "mount_setattr": 442, "keyctl": 219, "rt_sigaction": 134},
}[_MACHINE]


def _check(ret: int, name: str, what: str = "") -> int:
    if ret < 0:
        err = ctypes.get_errno()
        where = f"{name} {what}" if what else name
        raise OSError(err, f"{where}: {os.strerror(err)}")
    return ret


def _b(path: str | bytes | None) -> bytes | None:
    if path is None:
        return None
    return os.fsencode(path)


# ---- files ----------------------------------------------------------------------------

RENAME_NOREPLACE = 0x1
_libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                            ctypes.c_uint]


def rename_noreplace(old: str, new: str) -> None:
    """renameat2(2) with RENAME_NOREPLACE: `old` becomes `new` only if nothing is at
    `new` (EEXIST otherwise), in one step: a directory renamed so appears whole."""
    _check(_libc.renameat2(-100, _b(old), -100, _b(new), RENAME_NOREPLACE), "rename", new)


# ---- mounts ---------------------------------------------------------------------------

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_SYNCHRONOUS = 0x10
MS_REMOUNT = 0x20
MS_MANDLOCK = 0x40
MS_DIRSYNC = 0x80
MS_NOSYMFOLLOW = 0x100
MS_NOATIME = 0x400
MS_NODIRATIME = 0x800
MS_BIND = 0x1000
MS_MOVE = 0x2000
MS_REC = 0x4000
MS_SILENT = 0x8000
MS_UNBINDABLE = 0x20000
MS_PRIVATE = 0x40000
MS_SLAVE = 0x80000
MS_SHARED = 0x100000
MS_RELATIME = 0x200000
MS_STRICTATIME = 0x1000000
MS_LAZYTIME = 0x2000000
MNT_DETACH = 0x2

_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                        ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]


def mount(source: str | None, target: str, fstype: str | None, flags: int = 0,
          data: str | None = None, *, what: str | None = None) -> None:
    """mount(2). `what` names the mount in errors when `target` is a /proc/self/fd path."""
    ret = _libc.mount(_b(source), _b(target), _b(fstype), flags, _b(data))
    _check(ret, "mount", what or target)


def umount2(target: str, flags: int = 0) -> None:
    _check(_libc.umount2(_b(target), flags), "umount", target)


def pivot_root(new_root: str, put_old: str) -> None:
    _check(_syscall(_NR["pivot_root"], _b(new_root), _b(put_old)), "pivot_root", new_root)


# ---- namespaces -----------------------------------------------------------------------

CLONE_NEWTIME = 0x80
CLONE_NEWNS = 0x20000
CLONE_NEWCGROUP = 0x2000000
CLONE_NEWUTS = 0x4000000
CLONE_NEWIPC = 0x8000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

_libc.unshare.argtypes = [ctypes.c_int]


def unshare(flags: int) -> None:
    _check(_libc.unshare(flags), "unshare")


def setns(fd: int, nstype: int = 0, what: str = "") -> None:
    _check(_syscall(_NR["setns"], ctypes.c_int(fd), ctypes.c_int(nstype)), "setns", what)


def sethostname(name: str) -> None:
    data = name.encode()
    _check(_libc.sethostname(data, ctypes.c_size_t(len(data))), "sethostname", name)


def setdomainname(name: str) -> None:
    data = name.encode()
    _check(_libc.setdomainname(data, ctypes.c_size_t(len(data))), "setdomainname", name)


SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1


def loopback_up() -> None:
    """Bring up `lo` of the current network namespace (a new one starts with it down).
    _socket, not socket: that module imports enum and selectors (~3 ms on every run)."""
    import _socket
    import fcntl
    import sys

    name = b"lo".ljust(16, b"\0")  # struct ifreq: the name, then a short of flags
    s = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM | _socket.SOCK_CLOEXEC)
    try:
        req = fcntl.ioctl(s.fileno(), SIOCGIFFLAGS, name + bytes(24))
        flags = int.from_bytes(req[16:18], sys.byteorder)
        if not flags & IFF_UP:
            fcntl.ioctl(s.fileno(), SIOCSIFFLAGS,
                        name + (flags | IFF_UP).to_bytes(2, sys.byteorder) + bytes(22))
    except OSError as e:
        raise OSError(e.errno, f"ioctl(SIOCSIFFLAGS): lo up: {e.strerror}") from None
    finally:
        s.close()


# ---- prctl ------------------------------------------------------------------------------

PR_SET_PDEATHSIG = 1
PR_SET_KEEPCAPS = 8
PR_SET_NAME = 15
PR_CAPBSET_READ = 23
PR_CAPBSET_DROP = 24
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_GET_NO_NEW_PRIVS = 39
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_RAISE = 2
PR_CAP_AMBIENT_CLEAR_ALL = 4
PR_SET_DUMPABLE = 4

_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                        ctypes.c_ulong]


def prctl(option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0,
          what: str = "prctl") -> int:
    return _check(_libc.prctl(option, arg2, arg3, arg4, arg5), what)


# ---- capabilities ---------------------------------------------------------------------

_LINUX_CAPABILITY_VERSION_3 = 0x20080522


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def capget(pid: int = 0) -> tuple[int, int, int]:
    """(effective, permitted, inheritable) as 64-bit masks."""
    hdr = _CapHeader(_LINUX_CAPABILITY_VERSION_3, pid)
    data = (_CapData * 2)()
    _check(_syscall(_NR["capget"], ctypes.byref(hdr), data), "capget")
    eff, perm, inh = (getattr(data[0], f) | (getattr(data[1], f) << 32)
                      for f in ("effective", "permitted", "inheritable"))
    return eff, perm, inh


def capset(effective: int, permitted: int, inheritable: int) -> None:
    hdr = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    for i in (0, 1):
        data[i].effective = (effective >> (32 * i)) & 0xFFFFFFFF
        data[i].permitted = (permitted >> (32 * i)) & 0xFFFFFFFF
        data[i].inheritable = (inheritable >> (32 * i)) & 0xFFFFFFFF
    _check(_syscall(_NR["capset"], ctypes.byref(hdr), data), "capset")


# ---- openat2 ----------------------------------------------------------------------------

RESOLVE_NO_XDEV = 0x01
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04
RESOLVE_BENEATH = 0x08
RESOLVE_IN_ROOT = 0x10


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64),
                ("resolve", ctypes.c_uint64)]


def openat2(dirfd: int, path: str, flags: int, resolve: int, mode: int = 0) -> int:
    """openat2(2): open `path` relative to `dirfd` with RESOLVE_* restrictions. With
    RESOLVE_IN_ROOT or RESOLVE_BENEATH the kernel answers EAGAIN when a mount or rename
    anywhere on the host raced a ".." of the lookup: tried again then (as runc does)."""
    how = _OpenHow(flags | os.O_CLOEXEC, mode, resolve)
    raw = _b(path)
    for _ in range(_OPENAT2_TRIES):
        ret = _syscall(_NR["openat2"], ctypes.c_int(dirfd), raw, ctypes.byref(how),
                       ctypes.c_size_t(ctypes.sizeof(how)))
        if ret >= 0 or ctypes.get_errno() != _EAGAIN:
            break
    return _check(ret, "openat2", path)


_OPENAT2_TRIES = 128
_EAGAIN = 11  # errno.EAGAIN on Linux (the errno module is one more import per run)


# ---- seccomp, pidfd, fds ----------------------------------------------------------------


def seccomp(operation: int, flags: int, args: object) -> int:
    return _check(_syscall(_NR["seccomp"], ctypes.c_uint(operation), ctypes.c_uint(flags),
                           args), "seccomp")


def pidfd_open(pid: int) -> int:
    return _check(_syscall(_NR["pidfd_open"], ctypes.c_int(pid), ctypes.c_uint(0)),
                  "pidfd_open", str(pid))


def pidfd_send_signal(pidfd: int, sig: int) -> None:
    _check(_syscall(_NR["pidfd_send_signal"], ctypes.c_int(pidfd), ctypes.c_int(sig), None,
                    ctypes.c_uint(0)), "pidfd_send_signal")


CLOSE_RANGE_CLOEXEC = 4


SIG_DFL = 0
SIG_IGN = 1


def rt_sigaction(sig: int, handler: int = SIG_DFL) -> None:
    """Set a signal's disposition to SIG_DFL or SIG_IGN by the raw system call, which also
    reaches the C library's own signals (32 and 33: glibc's sigaction(), and so Python's
    signal.signal(), refuse them). An ignored disposition survives execve, so a caller
    that ignores one (GNU make does) would hand it to the container."""
    # the kernel's struct sigaction: handler, flags, restorer (x86_64), mask; all zero
    # but the handler, so the layout difference between architectures does not matter
    act = (ctypes.c_ulong * 4)(handler, 0, 0, 0)
    _check(_syscall(_NR["rt_sigaction"], ctypes.c_int(sig), act, None, ctypes.c_size_t(8)),
           "rt_sigaction", str(sig))


def close_range(first: int, last: int = 0xFFFFFFFF, flags: int = 0) -> None:
    _check(_syscall(_NR["close_range"], ctypes.c_uint(first), ctypes.c_uint(last),
                    ctypes.c_uint(flags)), "close_range")


AT_EMPTY_PATH = 0x1000
AT_RECURSIVE = 0x8000


OPEN_TREE_CLONE = 0x1
OPEN_TREE_CLOEXEC = os.O_CLOEXEC
MOVE_MOUNT_F_EMPTY_PATH = 0x4
MOVE_MOUNT_T_EMPTY_PATH = 0x40


def open_tree(path: str, recursive: bool) -> int:
    """open_tree(2) with OPEN_TREE_CLONE: a detached copy of the mount at `path` (and,
    recursively, those below it), attachable later with move_mount in another namespace."""
    flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (AT_RECURSIVE if recursive else 0)
    return _check(_syscall(_NR["open_tree"], ctypes.c_int(-100), _b(path),
                           ctypes.c_uint(flags)), "open_tree", path)


def move_mount(tree_fd: int, target_fd: int, what: str = "") -> None:
    """move_mount(2) of the detached tree `tree_fd` onto the file or directory `target_fd`."""
    _check(_syscall(_NR["move_mount"], ctypes.c_int(tree_fd), b"", ctypes.c_int(target_fd),
                    b"", ctypes.c_uint(MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH)),
           "move_mount", what)


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def mount_setattr(fd: int, attr_set: int, attr_clr: int, recursive: bool = True) -> None:
    """mount_setattr(2) on the mount at `fd` (and, recursively, every mount below it)."""
    attr = _MountAttr(attr_set, attr_clr, 0, 0)
    flags = AT_EMPTY_PATH | (AT_RECURSIVE if recursive else 0)
    _check(_syscall(_NR["mount_setattr"], ctypes.c_int(fd), b"", ctypes.c_uint(flags),
                    ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr))),
           "mount_setattr")


KEYCTL_JOIN_SESSION_KEYRING = 1
KEYCTL_SETPERM = 5


def join_session_keyring(name: str) -> int:
    """A new session keyring named `name`; returns its serial."""
    return _check(_syscall(_NR["keyctl"], ctypes.c_int(KEYCTL_JOIN_SESSION_KEYRING),
                           _b(name)), "keyctl(JOIN_SESSION_KEYRING)", name)


def keyctl_setperm(serial: int, perm: int) -> None:
    _check(_syscall(_NR["keyctl"], ctypes.c_int(KEYCTL_SETPERM), ctypes.c_int(serial),
                    ctypes.c_uint(perm)), "keyctl(SETPERM)")


# ---- filesystems ------------------------------------------------------------------------

PROC_SUPER_MAGIC = 0x9FA0
DEVPTS_SUPER_MAGIC = 0x1CD1
TMPFS_MAGIC = 0x01021994
CGROUP2_SUPER_MAGIC = 0x63677270
CGROUP_SUPER_MAGIC = 0x27E0EB
SYSFS_MAGIC = 0x62656572
OVERLAYFS_SUPER_MAGIC = 0x794C7630


class _Statfs(ctypes.Structure):
    _fields_ = [("f_type", ctypes.c_long), ("f_bsize", ctypes.c_long),
                ("f_blocks", ctypes.c_ulong), ("f_bfree", ctypes.c_ulong),
                ("f_bavail", ctypes.c_ulong), ("f_files", ctypes.c_ulong),
                ("f_ffree", ctypes.c_ulong), ("f_fsid", ctypes.c_int * 2),
                ("f_namelen", ctypes.c_long), ("f_frsize", ctypes.c_long),
                ("f_flags", ctypes.c_long), ("f_spare", ctypes.c_long * 4)]


def statfs_type(path: str) -> int:
    buf = _Statfs()
    _check(_libc.statfs(_b(path), ctypes.byref(buf)), "statfs", path)
    return int(buf.f_type) & 0xFFFFFFFF


def fstatfs_type(fd: int) -> int:
    buf = _Statfs()
    _check(_libc.fstatfs(ctypes.c_int(fd), ctypes.byref(buf)), "fstatfs")
    return int(buf.f_type) & 0xFFFFFFFF


def fstatfs_flags(fd: int) -> int:
    """The ST_* mount flags (ST_RDONLY=1, ST_NOSUID=2, ST_NODEV=4, ST_NOEXEC=8 ...)."""
    buf = _Statfs()
    _check(_libc.fstatfs(ctypes.c_int(fd), ctypes.byref(buf)), "fstatfs")
    return int(buf.f_flags)


_libc.mknodat.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint, ctypes.c_ulong]


def mknodat(dirfd: int, name: str, mode: int, device: int) -> None:
    _check(_libc.mknodat(dirfd, _b(name), mode, device), "mknod", name)
