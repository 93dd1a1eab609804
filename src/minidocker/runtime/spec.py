"""The OCI runtime-spec config.json: loading, validation, and the default document.

Every reader of config.json goes through `load_bundle`, which checks the shape of the
fields the runtime acts on, so that a bad document fails before anything is created.
"""

from __future__ import annotations

import os

from minidocker import OCI_VERSION
from minidocker import jsonfast as json
from minidocker.errors import InvalidConfig

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

NAMESPACE_TYPES = ("pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time")

DEFAULT_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]

DEFAULT_MASKED_PATHS = [
    "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
    "/sys/devices/virtual/powercap", "/proc/scsi",
]
DEFAULT_READONLY_PATHS = [
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
]


def default_spec(rootless: bool = False) -> dict[str, Any]:
    """The config.json that `minidocker-runtime spec` writes (runc's, for busybox-like images)."""
    spec: dict[str, Any] = {
        "ociVersion": OCI_VERSION,
        "process": {
            "terminal": True,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "TERM=xterm"],
            "cwd": "/",
            "capabilities": {k: list(DEFAULT_CAPS)
                             for k in ("bounding", "effective", "permitted")},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "minidocker",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620",
                         "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
        ],
        "linux": {
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [{"type": t} for t in
                           ("pid", "network", "ipc", "uts", "mount", "cgroup")],
            "maskedPaths": list(DEFAULT_MASKED_PATHS),
            "readonlyPaths": list(DEFAULT_READONLY_PATHS),
        },
    }
    if rootless:
        linux = spec["linux"]
        linux["namespaces"] = [{"type": t} for t in ("pid", "ipc", "uts", "mount", "user")]
        linux["uidMappings"] = [{"containerID": 0, "hostID": os.getuid(), "size": 1}]
        linux["gidMappings"] = [{"containerID": 0, "hostID": os.getgid(), "size": 1}]
        del linux["resources"]
        spec["mounts"] = [m for m in spec["mounts"]
                          if m["destination"] not in ("/sys", "/sys/fs/cgroup")]
        spec["mounts"].append({"destination": "/sys", "type": "none", "source": "/sys",
                               "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]})
        for m in spec["mounts"]:
            if m["destination"] == "/dev/pts":
                m["options"].remove("gid=5")
    return spec


# ---- validation -------------------------------------------------------------------------


def _fail(path: str, why: str) -> InvalidConfig:
    return InvalidConfig(f"invalid config.json: {path}: {why}")


def _expect(value: Any, kind: type | tuple[type, ...], path: str) -> Any:
    # bool is an int in Python; refuse it where a number is wanted
    if isinstance(value, bool) and kind in (int, (int, float)):
        raise _fail(path, "must be a number")
    if not isinstance(value, kind):
        names = {dict: "an object", list: "an array", str: "a string", int: "an integer",
                 bool: "a boolean"}
        want = names.get(kind, "a number") if isinstance(kind, type) else "a number"
        raise _fail(path, f"must be {want}")
    return value


def _opt(obj: dict[str, Any], key: str, kind: type | tuple[type, ...], path: str) -> Any:
    if key in obj and obj[key] is not None:
        return _expect(obj[key], kind, f"{path}.{key}")
    return None


def _strings(obj: dict[str, Any], key: str, path: str) -> None:
    items = _opt(obj, key, list, path)
    for i, item in enumerate(items or []):
        _expect(item, str, f"{path}.{key}[{i}]")


def validate_process(proc: Any, path: str = "process") -> None:
    _expect(proc, dict, path)
    args = _opt(proc, "args", list, path)
    if not args and not proc.get("commandLine"):
        raise _fail(f"{path}.args", "must name the program to run")
    _strings(proc, "args", path)
    _strings(proc, "env", path)
    for i, env in enumerate(proc.get("env") or []):
        if "=" not in env:
            raise _fail(f"{path}.env[{i}]", f"{env!r} is not NAME=VALUE")
    cwd = _opt(proc, "cwd", str, path)
    if cwd is not None and not cwd.startswith("/"):
        raise _fail(f"{path}.cwd", f"{cwd!r} must be an absolute path")
    _opt(proc, "terminal", bool, path)
    _opt(proc, "noNewPrivileges", bool, path)
    _opt(proc, "oomScoreAdj", int, path)
    user = _opt(proc, "user", dict, path)
    if user is not None:
        for key in ("uid", "gid", "umask"):
            value = _opt(user, key, int, f"{path}.user")
            if value is not None and value < 0:
                raise _fail(f"{path}.user.{key}", "must not be negative")
        for i, gid in enumerate(_opt(user, "additionalGids", list, f"{path}.user") or []):
            _expect(gid, int, f"{path}.user.additionalGids[{i}]")
    caps = _opt(proc, "capabilities", dict, path)
    if caps is not None:
        from minidocker.linux.caps import cap_number
        for key in ("bounding", "effective", "inheritable", "permitted", "ambient"):
            _strings(caps, key, f"{path}.capabilities")
            for name in caps.get(key) or []:
                if cap_number(name) is None:
                    raise _fail(f"{path}.capabilities.{key}", f"unknown capability {name!r}")
    from minidocker.linux.rlimitnames import RLIMITS
    for i, rl in enumerate(_opt(proc, "rlimits", list, path) or []):
        where = f"{path}.rlimits[{i}]"
        _expect(rl, dict, where)
        kind = rl.get("type")
        if kind not in RLIMITS:
            raise _fail(f"{where}.type", f"unknown rlimit {kind!r}")
        for key in ("soft", "hard"):
            _expect(rl.get(key), int, f"{where}.{key}")
        if rl["soft"] > rl["hard"]:
            raise _fail(where, "soft limit is above the hard limit")


def _validate_mounts(mounts: Any) -> None:
    for i, m in enumerate(_expect(mounts, list, "mounts")):
        where = f"mounts[{i}]"
        _expect(m, dict, where)
        dest = _expect(m.get("destination"), str, f"{where}.destination")
        if not dest.startswith("/"):
            raise _fail(f"{where}.destination", f"{dest!r} must be an absolute path")
        _opt(m, "type", str, where)
        _opt(m, "source", str, where)
        _strings(m, "options", where)


def _validate_linux(linux: Any) -> None:
    _expect(linux, dict, "linux")
    seen = set()
    for i, ns in enumerate(_opt(linux, "namespaces", list, "linux") or []):
        where = f"linux.namespaces[{i}]"
        _expect(ns, dict, where)
        kind = ns.get("type")
        if kind not in NAMESPACE_TYPES:
            raise _fail(f"{where}.type", f"unknown namespace type {kind!r}")
        if kind in seen:
            raise _fail(where, f"namespace {kind!r} listed twice")
        seen.add(kind)
        _opt(ns, "path", str, where)
    for key in ("uidMappings", "gidMappings"):
        for i, mp in enumerate(_opt(linux, key, list, "linux") or []):
            where = f"linux.{key}[{i}]"
            _expect(mp, dict, where)
            for field in ("containerID", "hostID", "size"):
                value = _expect(mp.get(field), int, f"{where}.{field}")
                if value < 0:
                    raise _fail(f"{where}.{field}", "must not be negative")
    if (linux.get("uidMappings") or linux.get("gidMappings")) and "user" not in seen:
        raise _fail("linux.uidMappings", "mappings need a user namespace")
    _strings(linux, "maskedPaths", "linux")
    _strings(linux, "readonlyPaths", "linux")
    _opt(linux, "sysctl", dict, "linux")
    _opt(linux, "resources", dict, "linux")
    _opt(linux, "cgroupsPath", str, "linux")
    prop = _opt(linux, "rootfsPropagation", str, "linux")
    if prop is not None and prop not in ("", "private", "rprivate", "slave", "rslave",
                                         "shared", "rshared", "unbindable", "runbindable"):
        raise _fail("linux.rootfsPropagation", f"unknown propagation {prop!r}")
    for i, dev in enumerate(_opt(linux, "devices", list, "linux") or []):
        where = f"linux.devices[{i}]"
        _expect(dev, dict, where)
        path = _expect(dev.get("path"), str, f"{where}.path")
        if not path.startswith("/dev/") and not path.startswith("/"):
            raise _fail(f"{where}.path", "must be an absolute path")
        if dev.get("type") not in ("c", "b", "u", "p"):
            raise _fail(f"{where}.type", f"unknown device type {dev.get('type')!r}")
        if dev.get("type") != "p":
            _expect(dev.get("major"), int, f"{where}.major")
            _expect(dev.get("minor"), int, f"{where}.minor")
    offsets = _opt(linux, "timeOffsets", dict, "linux")
    if offsets and "time" not in seen:
        raise _fail("linux.timeOffsets", "needs a time namespace")


def _validate_hooks(hooks: Any) -> None:
    _expect(hooks, dict, "hooks")
    for stage, items in hooks.items():
        if stage not in ("prestart", "createRuntime", "createContainer", "startContainer",
                         "poststart", "poststop"):
            raise _fail(f"hooks.{stage}", "unknown hook stage")
        for i, hook in enumerate(_expect(items, list, f"hooks.{stage}")):
            where = f"hooks.{stage}[{i}]"
            _expect(hook, dict, where)
            path = _expect(hook.get("path"), str, f"{where}.path")
            if not path.startswith("/"):
                raise _fail(f"{where}.path", f"{path!r} must be an absolute path")
            _strings(hook, "args", where)
            _strings(hook, "env", where)
            timeout = _opt(hook, "timeout", int, where)
            if timeout is not None and timeout <= 0:
                raise _fail(f"{where}.timeout", "must be greater than zero")


def validate(spec: Any) -> dict[str, Any]:
    """Check the fields the runtime acts on; raise InvalidConfig naming the first bad one."""
    _expect(spec, dict, "config")
    version = spec.get("ociVersion")
    if not isinstance(version, str) or not version:
        raise _fail("ociVersion", "is required")
    if not version.startswith("1."):
        raise _fail("ociVersion", f"unsupported version {version!r}")
    root = spec.get("root")
    if root is not None:
        _expect(root, dict, "root")
        _expect(root.get("path"), str, "root.path")
        _opt(root, "readonly", bool, "root")
    if spec.get("process") is not None:
        validate_process(spec["process"])
    if spec.get("mounts") is not None:
        _validate_mounts(spec["mounts"])
    if spec.get("linux") is not None:
        _validate_linux(spec["linux"])
    if spec.get("hooks") is not None:
        _validate_hooks(spec["hooks"])
    for key in ("hostname", "domainname"):
        _opt(spec, key, str, "config")
    if (root or {}).get("readonly") and "mount" not in namespaces(spec):
        # a remount of "/" would hit the host's mount holding the rootfs
        raise _fail("root.readonly", "needs a mount namespace")
    _opt(spec, "annotations", dict, "config")
    return spec


def load_bundle(bundle: str) -> tuple[dict[str, Any], str]:
    """Read and validate BUNDLE/config.json; return (spec, absolute rootfs path)."""
    path = os.path.join(bundle, "config.json")
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise InvalidConfig(f"bundle {bundle}: config.json not found")
    except OSError as e:
        raise InvalidConfig(f"bundle {bundle}: cannot read config.json: {e.strerror}")
    try:
        spec = json.loads(raw)
    except ValueError as e:
        raise InvalidConfig(f"{path}: not valid JSON: {e}")
    validate(spec)
    if spec.get("root") is None:
        raise _fail("root", "is required")
    if spec.get("linux") is None:
        spec["linux"] = {}
    rootfs = os.path.join(bundle, spec["root"]["path"])
    rootfs = os.path.realpath(rootfs)
    if not os.path.isdir(rootfs):
        raise InvalidConfig(f"rootfs {rootfs}: no such directory")
    return spec, rootfs


def sysctl_namespace(key: str) -> str | None:
    """The namespace type holding sysctl `key` (dots or slashes), or None when the key is
    not namespaced: writing it would change the host. As runc: the IPC keys (kernel.msg*,
    kernel.sem*, kernel.shm*, fs.mqueue.*), net.*, user.* (ucounts); and the UTS ones,
    kernel.hostname and kernel.domainname."""
    if "/" in key:  # net/ipv4/ip_forward: slashes separate, dots are part of names
        key = key.strip("/").replace(".", "\0").replace("/", ".").replace("\0", "/")
    if key.startswith(("kernel.msg", "kernel.sem", "kernel.shm", "fs.mqueue.")):
        return "ipc"
    if key.startswith("net."):
        return "network"
    if key in ("kernel.hostname", "kernel.domainname"):
        return "uts"  # check_sysctls refuses kernel.hostname, as runc and crun do
    if key.startswith("user."):
        return "user"
    return None


def check_sysctls(spec: dict[str, Any]) -> None:
    """Refuse a linux.sysctl key that is not written into a namespace of the container's
    own (a new one, or one given by path that is not the runtime's)."""
    wanted = namespaces(spec)
    for key in (spec.get("linux") or {}).get("sysctl") or {}:
        if key.replace("/", ".").strip(".") == "kernel.hostname":  # as runc and crun
            raise _fail(f"linux.sysctl.{key}", "is not allowed: it conflicts with the "
                        "hostname field (set that)")
        kind = sysctl_namespace(key)
        if kind is None:
            raise _fail(f"linux.sysctl.{key}", "is not namespaced: it would change the "
                        "host (allowed: IPC keys, net.*, kernel.domainname and user.* "
                        "in such a namespace of the container's own)")
        if kind not in wanted or is_runtime_namespace(kind, wanted[kind]):
            raise _fail(f"linux.sysctl.{key}", f"needs a {kind} namespace of the "
                        f"container's own: it would change the host's")


def is_runtime_namespace(kind: str, path: str | None) -> bool:
    """Whether the namespace given by `path` is the runtime's own (the host's)."""
    if path is None:
        return False
    name = {"network": "net", "mount": "mnt"}.get(kind, kind)
    try:
        given, ours = os.stat(path), os.stat(f"/proc/self/ns/{name}")
    except OSError:
        return False  # a missing path is reported when the namespaces are opened
    return (given.st_dev, given.st_ino) == (ours.st_dev, ours.st_ino)


def namespaces(spec: dict[str, Any]) -> dict[str, str | None]:
    """{type: path or None} of linux.namespaces."""
    return {ns["type"]: ns.get("path") or None
            for ns in (spec.get("linux") or {}).get("namespaces") or []}
