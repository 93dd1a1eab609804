"""The rootfs setup as data, checked without root: the mount sequence a config.json
makes (rootfs.plan), and what executing it asks of the kernel, through a recording
syscall layer in place of the real one (mounts, device nodes, owners and the root switch
recorded; path resolution stays real, in a temporary directory)."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest

from minidocker.linux import libc
from minidocker.runtime import rootfs as rootfs_mod
from minidocker.runtime.rootfs import Rootfs, Syscalls, open_devnull, plan
from minidocker.runtime.spec import default_spec


class Recording(Syscalls):
    """Records each call, with /proc/self/fd/N targets shown as paths in the rootfs; a
    device node is made as an empty file (so that its mode can be set as for a node)."""

    def __init__(self, root: str):
        self.root = root
        self.calls: list[tuple[Any, ...]] = []
        self.targets: list[str] = []  # the real path of every mount's target

    def where(self, path: str | None) -> str | None:
        if path and path.startswith("/proc/self/fd/"):
            path = os.readlink(path)
        if path and (path == self.root or path.startswith(self.root + "/")):
            return "/" + os.path.relpath(path, self.root).lstrip(".")
        return path

    def mount(self, source: str | None, target: str, fstype: str | None, flags: int,
              data: str | None = None, what: str = "") -> None:
        self.targets.append(os.readlink(target) if target.startswith("/proc/self/fd/")
                            else target)
        self.calls.append(("mount", self.where(source), self.where(target), fstype, flags,
                           data))

    def umount2(self, target: str, flags: int) -> None:
        self.calls.append(("umount2", self.where(target), flags))

    def mount_setattr(self, fd: int, attr_set: int, attr_clr: int, recursive: bool) -> None:
        self.calls.append(("mount_setattr", self.where(f"/proc/self/fd/{fd}"), attr_set,
                           attr_clr))

    def move_mount(self, tree: int, fd: int, what: str) -> None:
        self.calls.append(("move_mount", what))

    def fstatfs_flags(self, fd: int) -> int:
        return 0

    def mknodat(self, dirfd: int, name: str, mode: int, device: int) -> None:
        self.calls.append(("mknod", f"{self.where(f'/proc/self/fd/{dirfd}')}/{name}", mode,
                           os.major(device), os.minor(device)))
        os.close(os.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600, dir_fd=dirfd))

    def chown(self, path: str, uid: int, gid: int) -> None:
        self.calls.append(("chown", self.where(path), uid, gid))

    def pivot_root(self, new_root: str, put_old: str) -> None:
        self.calls.append(("pivot_root", new_root, put_old))

    def chroot(self, path: str) -> None:
        self.calls.append(("chroot", path))

    def chdir(self, path: str) -> None:
        self.calls.append(("chdir", self.where(path)))

    def fchdir(self, fd: int) -> None:
        self.calls.append(("fchdir", self.where(f"/proc/self/fd/{fd}")))

    def mounts(self) -> list[tuple[str, str]]:
        """(fstype or the source of a bind, target) of each new mount, in order."""
        return [(c[3] or c[1], c[2]) for c in self.calls
                if c[0] == "mount" and not c[4] & (libc.MS_REMOUNT | libc.MS_PRIVATE |
                                                   libc.MS_SLAVE | libc.MS_SHARED)]


def test_plan_of_the_default_config() -> None:
    """`minidocker-runtime spec`'s config.json, step by step, in the order init runs it."""
    steps = [s.describe() for s in plan(default_spec(), mount_ns=True).steps()]
    assert steps[:9] == [
        "prepare: / rslave, the rootfs bound onto itself",
        "mount proc on /proc",
        "mount tmpfs on /dev (nosuid,strictatime,mode=755,size=65536k)",
        "mount devpts on /dev/pts (nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5)",
        "mount tmpfs shm on /dev/shm (nosuid,noexec,nodev,mode=1777,size=65536k)",
        "mount mqueue on /dev/mqueue (nosuid,noexec,nodev)",
        "mount sysfs on /sys (nosuid,noexec,nodev,ro)",
        "mount cgroup on /sys/fs/cgroup (nosuid,noexec,nodev,relatime,ro)",
        "devices /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty",
    ]
    assert steps[9] == "symlinks in /dev with ptmx"
    assert [s for s in steps if s.startswith("mask ")][:3] == [
        "mask /proc/acpi", "mask /proc/asound", "mask /proc/kcore"]
    assert steps[-6:] == ["readonly /proc/bus", "readonly /proc/fs", "readonly /proc/irq",
                          "readonly /proc/sys", "readonly /proc/sysrq-trigger", "pivot_root"]


def test_plan_follows_the_config() -> None:
    spec = default_spec()
    spec["mounts"].append({"destination": "/dev", "type": "bind", "source": "/dev",
                           "options": ["rbind"]})
    spec["linux"]["devices"] = [{"path": "/dev/fuse", "type": "c", "major": 10,
                                 "minor": 229}]
    spec["linux"]["rootfsPropagation"] = "private"
    steps = [s.describe() for s in plan(spec, mount_ns=False).steps()]
    assert "prepare" not in steps[0]  # no mount namespace of its own: nothing to prepare
    assert "mount bind /dev on /dev (rbind)" in steps
    # /dev from the host: only the config's devices, no symlinks made in it
    assert "devices /dev/fuse" in steps and "symlinks in /dev with ptmx" not in steps
    assert steps[-1] == "chroot (no mount namespace)"
    assert plan(spec, mount_ns=True, no_pivot=True).switch.describe() == \
        "chroot (--no-pivot)"
    prepared = plan(spec, mount_ns=True).mounts[0].describe()
    assert prepared == "prepare: / private, the rootfs bound onto itself"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A rootfs with a few of the paths the default config masks or makes read-only."""
    root = tmp_path / "rootfs"
    (root / "proc" / "acpi").mkdir(parents=True)   # a directory: an empty read-only tmpfs
    (root / "proc" / "kcore").write_text("")        # a file: /dev/null bound over it
    (root / "proc" / "sys").mkdir()
    (root / "dev").mkdir()
    return root


def test_executing_the_plan_asks_the_kernel_for_these_mounts(tree: Path) -> None:
    spec = copy.deepcopy(default_spec())
    fake = Recording(str(tree))
    cgroups: list[str] = []
    rootfs = Rootfs(str(tree), sys=fake,
                    cgroup_mount=lambda fs, dest, flags: cgroups.append(dest))
    mounts = plan(spec, mount_ns=True)
    devnull = open_devnull()
    try:
        for step in mounts.steps():
            step.execute(rootfs, devnull=devnull)
    finally:
        os.close(devnull)
    assert fake.mounts() == [
        ("/", "/"),  # prepare: the rootfs bound onto itself (a mount of its own)
        ("proc", "/proc"), ("tmpfs", "/dev"), ("devpts", "/dev/pts"), ("tmpfs", "/dev/shm"),
        ("mqueue", "/dev/mqueue"), ("sysfs", "/sys"),
        ("tmpfs", "/proc/acpi"),            # masked directory
        ("/dev/null", "/proc/kcore"),       # masked file
        ("/proc/sys", "/proc/sys"),         # read-only: bound onto itself, remounted ro
    ]
    assert cgroups == ["/sys/fs/cgroup"]
    masked = next(c for c in fake.calls if c[0] == "mount" and c[2] == "/proc/acpi")
    assert masked[4] & libc.MS_RDONLY
    readonly = [c for c in fake.calls if c[0] == "mount" and c[2] == "/proc/sys"]
    assert readonly[-1][4] & libc.MS_REMOUNT and readonly[-1][4] & libc.MS_RDONLY
    nodes = [(c[1], c[3], c[4]) for c in fake.calls if c[0] == "mknod"]
    assert nodes == [("/dev/null", 1, 3), ("/dev/zero", 1, 5), ("/dev/full", 1, 7),
                     ("/dev/random", 1, 8), ("/dev/urandom", 1, 9), ("/dev/tty", 5, 0)]
    assert os.readlink(tree / "dev" / "ptmx") == "pts/ptmx"
    assert os.readlink(tree / "dev" / "stdout") == "/proc/self/fd/1"
    # the switch: pivot_root(".", ".") in the rootfs, the old root detached
    assert ("pivot_root", ".", ".") in fake.calls
    assert fake.calls[-2][0] == "umount2" and fake.calls[-1] == ("chdir", "/")
    # nothing was mounted outside the rootfs but the propagation of the host's "/", of
    # the mount that holds the rootfs (one of its parents), and of the old root after
    # pivot_root (".": all in the container's own mount namespace)
    parents = {str(p) for p in tree.parents}
    outside = {t for t in fake.targets if t != str(tree) and not t.startswith(f"{tree}/")}
    assert outside <= {"/", ".", *parents}


def test_the_default_layer_is_the_hosts() -> None:
    assert type(rootfs_mod.HOST) is Syscalls
    assert Rootfs.__init__.__kwdefaults__["sys"] is rootfs_mod.HOST


class MountPoints(Syscalls):
    """A propagation change succeeds on the given mount points only; anything else is not
    the root of a mount: EINVAL, as from the kernel."""

    def __init__(self, mount_points: set[str], error: int = 22):
        self.mount_points = mount_points
        self.error = error
        self.tried: list[str] = []

    def mount(self, source: str | None, target: str, fstype: str | None, flags: int,
              data: str | None = None, what: str = "") -> None:
        assert flags == libc.MS_PRIVATE and source is None and fstype is None
        self.tried.append(target)
        if target not in self.mount_points:
            raise OSError(self.error, os.strerror(self.error))


@pytest.mark.parametrize("mount_points, tried", [
    ({"/", "/var/lib/x/rootfs"}, ["/var/lib/x/rootfs"]),                 # a mount itself
    ({"/", "/var/lib"}, ["/var/lib/x/rootfs", "/var/lib/x", "/var/lib"]),  # the nearest one
    ({"/"}, ["/var/lib/x/rootfs", "/var/lib/x", "/var/lib", "/var", "/"]),
])
def test_the_mount_holding_the_rootfs_is_made_private(mount_points: set[str],
                                                       tried: list[str]) -> None:
    """pivot_root needs the mount holding the new root non-shared: the nearest of the
    rootfs and its parents that is a mount point, found without reading mountinfo."""
    fake = MountPoints(mount_points)
    rootfs_mod._make_parent_private("/var/lib/x/rootfs", fake)
    assert fake.tried == tried


def test_making_the_holder_private_stops_at_another_error() -> None:
    fake = MountPoints(set(), error=1)  # EPERM: not ours to change; pivot_root will say
    rootfs_mod._make_parent_private("/var/lib/x/rootfs", fake)
    assert fake.tried == ["/var/lib/x/rootfs"]
