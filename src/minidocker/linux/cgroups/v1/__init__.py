"""The cgroup v1 manager (legacy and hybrid hosts): one directory per controller hierarchy.

On a hybrid host the container also gets a directory in the cgroup2 hierarchy mounted at
<root>/unified (no controllers there, but it is the cgroup its namespace and eBPF see).
"""

from __future__ import annotations

import os

import minidocker
from minidocker.errors import InvalidConfig
from minidocker.linux.cgroups import common
from minidocker.linux.cgroups.base import CgroupManager, CgroupMount

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# in the order they are applied: cpuset before anything else can place tasks
CONTROLLER_ORDER = ["cpuset", "cpu", "cpuacct", "memory", "pids", "blkio", "hugetlb",
                    "net_cls", "net_prio", "rdma", "devices", "freezer"]
# the linux.resources keys each controller module reads: a module is imported to check or
# apply resources only when one of its keys is there (twelve modules cost ~0.7 ms of the
# parent's time in create; each module's needed()/apply() does nothing without its keys)
RESOURCE_KEYS = {"cpuset": ("cpu",), "cpu": ("cpu",), "cpuacct": (), "memory": ("memory",),
                 "pids": ("pids",), "blkio": ("blockIO",), "hugetlb": ("hugepageLimits",),
                 "net_cls": ("network",), "net_prio": ("network",), "rdma": ("rdma",),
                 "devices": ("devices",), "freezer": ()}


def controller(name: str) -> Any:
    """The module of controller `name` (minidocker.linux.cgroups.v1.<name>)."""
    return __import__(f"minidocker.linux.cgroups.v1.{name}", fromlist=["NAME"])


def controllers(resources: dict[str, Any] | None = None) -> list[Any]:
    """All controller modules in order, or only those reading one of `resources`' keys."""
    return [controller(name) for name in CONTROLLER_ORDER if resources is None or
            any(resources.get(key) for key in RESOURCE_KEYS[name])]
UNIFIED = ""  # key of the hybrid host's cgroup2 hierarchy in `mounts`


def discover_mounts(root: str, mountinfo: str | None = None) -> dict[str, tuple[str, str]]:
    """The v1 hierarchies under `root`: {controller: (mount point, root of the mount)},
    plus UNIFIED for a cgroup2 mount inside it (hybrid). From /proc/self/mountinfo, or
    from the directory names under `root` when nothing is mounted there (test fixtures)."""
    if mountinfo is None:
        with open("/proc/self/mountinfo") as f:
            mountinfo = f.read()
    found: dict[str, tuple[str, str]] = {}
    prefix = root.rstrip("/") + "/"
    for line in mountinfo.splitlines():
        if " - cgroup" not in line:  # a host can have hundreds of mounts: split only these
            continue
        fields = line.split()
        if len(fields) < 10:
            continue
        sep = fields.index("-")
        fstype, superopts = fields[sep + 1], fields[sep + 3]
        mount_root, mountpoint = fields[3], fields[4]
        if not mountpoint.startswith(prefix):
            continue
        if fstype == "cgroup2":
            found[UNIFIED] = (mountpoint, mount_root)
        elif fstype == "cgroup":
            for opt in superopts.split(","):
                if opt in CONTROLLER_NAMES or opt.startswith("name="):
                    found[opt] = (mountpoint, mount_root)
    if found:
        return found
    for name in sorted(os.listdir(root)) if os.path.isdir(root) else []:
        path = os.path.join(root, name)
        if os.path.isdir(path) and not os.path.islink(path):
            if name == "unified":
                found[UNIFIED] = (path, "/")
            for ctrl in name.split(","):
                if ctrl in CONTROLLER_NAMES:
                    found[ctrl] = (path, "/")
    return found


CONTROLLER_NAMES = set(CONTROLLER_ORDER)
# the named hierarchy a container joins too (as with runc): its /sys/fs/cgroup/systemd
# then shows the container's own cgroup, not the runtime's (often the hierarchy's root)
SYSTEMD = "name=systemd"


class V1Manager(CgroupManager):
    version = 1

    def __init__(self, root: str, path: str, dirs: dict[str, str],
                 created: list[str] | None = None, unified_root: str | None = None):
        """`dirs`: {controller (or UNIFIED): the container's directory on the host};
        `unified_root`: where a hybrid host's cgroup2 hierarchy is mounted."""
        self.root = root
        self.path = path
        self.dirs = dirs
        self.created = created or []
        self.unified_root = unified_root

    @classmethod
    def open(cls, root: str, cgroups_path: str | None, container_id: str, *,
             mountinfo: str | None = None, proc_self_cgroup: str | None = None,
             systemd_path: str | None = None) -> V1Manager:
        mounts = discover_mounts(root, mountinfo)
        if not any(c in mounts for c in CONTROLLER_NAMES):
            raise common.CgroupError(f"no cgroup v1 controller is mounted under {root}")
        relative = cgroups_path is not None and systemd_path is None and \
            cgroups_path != "" and not cgroups_path.startswith("/")
        own = common.own_cgroups(proc_self_cgroup) if relative else {}
        dirs: dict[str, str] = {}
        path = ""
        for ctrl, (mountpoint, mount_root) in sorted(mounts.items()):
            if ctrl.startswith("name=") and ctrl != SYSTEMD:
                continue  # a named hierarchy of someone else's
            if systemd_path is not None:
                cg = systemd_path
            else:
                cg = common.resolve_path(cgroups_path, container_id, own.get(ctrl, "/"))
            path = path or cg
            rel = os.path.relpath(cg, mount_root) if mount_root != "/" else cg.lstrip("/")
            if rel.startswith(".."):
                raise InvalidConfig(f"cgroupsPath {cg!r} is outside the {ctrl or 'cgroup2'} "
                                    f"hierarchy visible here ({mount_root})")
            dirs[ctrl] = os.path.join(mountpoint, rel)
        unified_root = mounts[UNIFIED][0] if UNIFIED in mounts else None
        return cls(root, path, dirs, unified_root=unified_root)

    # ---- lifecycle --------------------------------------------------------------------

    def _unique_dirs(self) -> list[str]:
        return sorted(set(self.dirs.values()))

    def exists(self) -> bool:
        return any(os.path.isdir(d) for d in self._unique_dirs())

    def create(self) -> None:
        common.retry_vanished(self._create)

    def _create(self) -> None:
        for directory in self._unique_dirs():
            try:  # the usual case: the parent is there (one syscall, no stat walk)
                self._mkdir(directory, directory)
                continue
            except FileNotFoundError:
                pass
            missing = []
            cur = directory
            while not os.path.isdir(cur):
                missing.append(cur)
                cur = os.path.dirname(cur)
            for d in reversed(missing):
                self._mkdir(d, directory)
        if self._hybrid_hugetlb():
            self._delegate_hugetlb()

    def _mkdir(self, d: str, leaf: str) -> None:
        """mkdir one cgroup of the path to `leaf`; FileNotFoundError when its parent is
        missing (or vanished meanwhile: create() starts again)."""
        try:
            os.mkdir(d, 0o755)
        except FileExistsError:
            return
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise common.CgroupError(f"cannot create cgroup {d}: {exc.strerror}")
        self.created.append(d)
        if minidocker.TRACE:
            minidocker.TRACE.step("cgroup", "mkdir", path=d)
        if "cpuset" in self.dirs and leaf == self.dirs["cpuset"]:
            controller("cpuset").init_dir(d)

    # A hybrid host may offer hugetlb in its cgroup2 hierarchy only (no v1 mount): used when
    # the host delegates it from the root (cgroup.subtree_control there has "hugetlb");
    # minidocker never changes the host's root cgroup, only the parents it made itself.

    def _unified_has(self, name: str, controller: str) -> bool:
        if not self.unified_root:
            return False
        try:
            return controller in common.read(self.unified_root, name).split()
        except OSError:
            return False

    def _hybrid_hugetlb(self) -> bool:
        return "hugetlb" not in self.dirs and UNIFIED in self.dirs and \
            self._unified_has("cgroup.subtree_control", "hugetlb")

    def _delegate_hugetlb(self) -> None:
        cur = self.unified_root
        assert cur is not None
        parts = os.path.relpath(self.dirs[UNIFIED], cur).split(os.sep)
        for part in parts[:-1]:
            cur = os.path.join(cur, part)
            if "hugetlb" not in common.read(cur, "cgroup.subtree_control").split():
                common.write(cur, "cgroup.subtree_control", "+hugetlb", "hugepageLimits")

    def validate(self, resources: dict[str, Any] | None) -> None:
        res = common.validate_common(resources)
        if res.get("unified"):
            key = sorted(res["unified"])[0]
            raise common.CgroupError(f"unified.{key}: cannot apply: cgroup v2 key/values need "
                                     f"a cgroup v2 host (this one is cgroup v1)")
        hybrid_hugetlb = self._hybrid_hugetlb()
        for ctrl in controllers(res):
            keys = ctrl.needed(res)
            if ctrl.NAME == "hugetlb" and hybrid_hugetlb:
                continue
            if keys and ctrl.NAME not in self.dirs:
                hint = None
                if ctrl.NAME == "hugetlb" and self._unified_has("cgroup.controllers", "hugetlb"):
                    hint = (f"the kernel offers hugetlb in the cgroup2 hierarchy: delegate it "
                            f"with 'echo +hugetlb > {self.unified_root}/cgroup.subtree_control'")
                raise common.CgroupError(f"{keys[0]}: cannot apply: the {ctrl.NAME} cgroup "
                                         f"controller is not available on this host",
                                         hint=hint)
        for i, page in enumerate(common.items(res.get("hugepageLimits"))):
            if hybrid_hugetlb:  # cgroup2's root has no hugetlb files: ask the kernel
                sizes = sorted(common.hugetlb_sizes_of_kernel())
            else:
                existing = self.dirs["hugetlb"]
                while not os.path.isdir(existing):
                    existing = os.path.dirname(existing)
                sizes = common.hugetlb_sizes(existing)
            if page["pageSize"] not in sizes:
                raise common.CgroupError(f"hugepageLimits[{i}]: cannot apply: no "
                                         f"{page['pageSize']} huge pages on this host")

    def apply(self, resources: dict[str, Any] | None) -> None:
        self.validate(resources)
        res = resources or {}
        if (res.get("cpu") or {}).get("realtimeRuntime") and "cpu" in self.dirs:
            leaf = self.dirs["cpu"]
            shared = os.path.dirname(leaf)  # minidocker's own parent, made by an earlier one
            ours = [*self.created, *([shared] if os.path.basename(shared) ==
                                     common.DEFAULT_PARENT else [])]
            controller("cpu").make_room_for_realtime(leaf, res, ours)
        for ctrl in controllers(res):
            if ctrl.NAME in self.dirs:
                ctrl.apply(self.dirs[ctrl.NAME], res)
        if res.get("hugepageLimits") and "hugetlb" not in self.dirs:
            from minidocker.linux.cgroups.v2 import hugetlb as v2_hugetlb  # the v2 package:
            v2_hugetlb.apply(self.dirs[UNIFIED], res)  # 0.6 ms of imports, only when needed

    def add_process(self, pid: int, except_self_joined: bool = False) -> None:
        skip = set(self._v1_dirs()) if except_self_joined else set()
        for directory in self._unique_dirs():
            if directory in skip:
                continue
            try:
                common.write(directory, "cgroup.procs", pid)
            except common.CgroupError as exc:
                raise common.CgroupError(f"cannot add process {pid} to cgroup {directory}: "
                                         f"{exc.message.rsplit(': ', 1)[-1]}")

    def _v1_dirs(self) -> list[str]:
        unified = self.dirs.get(UNIFIED)
        return [d for d in self._unique_dirs() if d != unified]

    def open_self_join(self) -> list[int]:
        fds: list[int] = []
        try:
            for directory in self._v1_dirs():
                fds.append(os.open(os.path.join(directory, "tasks"),
                                   os.O_WRONLY | os.O_CLOEXEC))
        except OSError as exc:
            for fd in fds:
                os.close(fd)
            raise common.CgroupError(f"cannot open {directory}/tasks: {exc.strerror}")
        if minidocker.TRACE:
            minidocker.TRACE.step("cgroup", "tasks files opened for the init to join",
                                  paths=[f"{d}/tasks" for d in self._v1_dirs()])
        return fds

    def drop_unused_unified(self, resources: dict[str, Any] | None) -> None:
        """On a hybrid host, leave the cgroup2 hierarchy out unless a limit needs it (hugetlb
        offered only there). Joining it means writing our pid to its cgroup.procs, which
        costs the container an RCU grace period (see open_self_join), for a hierarchy with
        no controller of ours; without it the container sees no cgroup2 mount inside."""
        needed = bool((resources or {}).get("hugepageLimits")) and "hugetlb" not in self.dirs
        if UNIFIED in self.dirs and not needed:
            del self.dirs[UNIFIED]

    def _any_dir(self) -> str:
        for name in ("freezer", "pids", "memory", "devices", "cpu", UNIFIED):
            if name in self.dirs:
                return self.dirs[name]
        return self._unique_dirs()[0]

    def pids(self) -> list[int]:
        found: set[int] = set()
        for dirpath, _, _ in os.walk(self._any_dir()):
            found.update(common.read_pids(dirpath))
        return sorted(found)

    def _freezer(self) -> str:
        if "freezer" not in self.dirs:
            raise common.CgroupError("the freezer cgroup controller is not available on this "
                                     "host: cannot pause")
        self._check_freezable()
        return self.dirs["freezer"]

    def freeze(self) -> None:
        controller("freezer").freeze(self._freezer())

    def thaw(self) -> None:
        controller("freezer").thaw(self._freezer())

    def is_frozen(self) -> bool:
        if "freezer" not in self.dirs:
            return False
        try:
            return controller("freezer").state(self.dirs["freezer"]) != "THAWED"
        except FileNotFoundError:
            return False

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for ctrl in controllers():
            if ctrl.NAME in self.dirs and os.path.isdir(self.dirs[ctrl.NAME]):
                ctrl.stats(self.dirs[ctrl.NAME], out)
        if "hugetlb" not in self.dirs and UNIFIED in self.dirs and \
                common.hugetlb_sizes(self.dirs[UNIFIED]):
            from minidocker.linux.cgroups.v2 import hugetlb as v2_hugetlb
            v2_hugetlb.stats(self.dirs[UNIFIED], out)
        return out

    def oom_kill_count(self) -> int:
        if "memory" not in self.dirs:
            return 0
        return int(controller("memory").oom_kill_count(self.dirs["memory"]))

    def destroy(self) -> None:
        common.remove_created(self._unique_dirs(), self.created)

    # ---- state and mounts ---------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        return {"version": 1, "root": self.root, "path": self.path, "dirs": dict(self.dirs),
                "created": list(self.created), "unified_root": self.unified_root}

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> V1Manager:
        return cls(data["root"], data["path"], dict(data["dirs"]), list(data["created"]),
                   data.get("unified_root"))

    def host_paths(self) -> dict[str, str]:
        return dict(self.dirs)

    def mounts(self, cgroupns: bool) -> list[CgroupMount]:
        """A tmpfs with one bind mount per hierarchy of the container's own directory (with or
        without a cgroup namespace: the container sees its cgroup as the hierarchy's root),
        and symlinks for comounted controllers (cpu -> cpu,cpuacct), as on the host."""
        steps = [CgroupMount("tmpfs", "", "tmpfs", "mode=755")]
        by_dir: dict[str, list[str]] = {}
        for ctrl, directory in self.dirs.items():
            by_dir.setdefault(directory, []).append(ctrl)
        for directory, ctrls in sorted(by_dir.items()):
            name = "unified" if ctrls == [UNIFIED] else "systemd" if ctrls == [SYSTEMD] \
                else ",".join(sorted(ctrls))
            steps.append(CgroupMount("mkdir", name))
            steps.append(CgroupMount("bind", name, directory))
            if len(ctrls) > 1:
                for ctrl in sorted(ctrls):
                    steps.append(CgroupMount("symlink", ctrl, name))
        return steps
