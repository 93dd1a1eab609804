"""Bundle generation: an OCI config.json from the image config and the container's flags,
with Docker's defaults (capabilities, seccomp profile, masked and read-only paths, and
/etc/hosts, /etc/hostname, /etc/resolv.conf bind-mounted from the record).

Input is the record's config (Docker's shape: Config + HostConfig); nothing here touches
the system except reading the image's /etc/passwd and /etc/group.
"""

from __future__ import annotations

import os

from minidocker.errors import MinidockerError, UsageError
from minidocker.linux.capnames import CAPS as ALL_CAPS
from minidocker.linux.rlimitnames import RLIMITS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# --ulimit names: Docker's are the RLIMIT_ names in lower case ("nofile")
ULIMITS = {name.removeprefix("RLIMIT_").lower(): name for name in RLIMITS}

def cap_name(text: str) -> str:
    name = text.strip().upper()
    return name if name.startswith("CAP_") or name == "ALL" else "CAP_" + name


def capabilities(cap_add: list[str], cap_drop: list[str], privileged: bool) -> list[str]:
    """The bounding set as Docker computes it: defaults, +add, -drop ("ALL" works both ways)."""
    from minidocker.runtime.defaults import DOCKER_CAPABILITIES
    if privileged:
        return host_capabilities()
    adds = [cap_name(c) for c in cap_add]
    drops = [cap_name(c) for c in cap_drop]
    for cap in adds + drops:
        if cap != "ALL" and cap not in ALL_CAPS:
            raise UsageError(f"unknown capability: {cap!r}")
    caps = [] if "ALL" in drops else list(DOCKER_CAPABILITIES)
    caps = [c for c in caps if c not in drops]
    if "ALL" in adds:
        caps = [c for c in host_capabilities() if c not in drops or c in adds]
    for cap in adds:
        if cap != "ALL" and cap not in caps:
            caps.append(cap)
    return caps


def host_capabilities() -> list[str]:
    """ALL as this host can give it: the known capabilities in our own bounding set (a
    capability outside it cannot be granted: capset fails with EPERM)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapBnd:"):
                    mask = int(line.split()[1], 16)
                    return [c for i, c in enumerate(ALL_CAPS) if mask >> i & 1]
    except OSError:
        pass
    return list(ALL_CAPS)


# ---- users ---------------------------------------------------------------------------------


def _read_db(lowers: list[str], name: str) -> list[list[str]]:
    """Lines of /etc/<name> of the image (first lower dir that has it: topmost first)."""
    for lower in lowers:
        path = os.path.join(lower, "etc", name)
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                return [line.rstrip("\n").split(":") for line in f if line.strip()
                        and not line.startswith("#")]
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            continue
    return []


def resolve_user(user: str, lowers: list[str]) -> dict[str, Any]:
    """`name|uid[:group|gid]` -> OCI process.user, resolved through the image's files."""
    if not user:
        user = "0"
    name, _, group = user.partition(":")
    passwd = _read_db(lowers, "passwd")
    uid = gid = None
    home_user = None
    if name.isdigit():
        uid = int(name)
        for entry in passwd:
            if len(entry) >= 4 and entry[2] == name:
                home_user = entry[0]
                gid = int(entry[3]) if entry[3].isdigit() else 0
                break
    else:
        for entry in passwd:
            if len(entry) >= 4 and entry[0] == name:
                uid = int(entry[2])
                gid = int(entry[3])
                home_user = name
                break
        if uid is None:
            raise MinidockerError(f"unable to find user {name}: no matching entries in "
                                  "passwd file", exit_code=126)
    groups = _read_db(lowers, "group")
    if group:
        if group.isdigit():
            gid = int(group)
        else:
            for entry in groups:
                if len(entry) >= 3 and entry[0] == group:
                    gid = int(entry[2])
                    break
            else:
                raise MinidockerError(f"unable to find group {group}: no matching entries "
                                      "in group file", exit_code=126)
    result: dict[str, Any] = {"uid": uid, "gid": gid or 0}
    if home_user:
        extra = sorted({int(e[2]) for e in groups if len(e) >= 4 and e[2].isdigit()
                        and home_user in e[3].split(",") and int(e[2]) != result["gid"]})
        if extra:
            result["additionalGids"] = extra
    return result


# ---- sizes ---------------------------------------------------------------------------------


def parse_bytes(text: str) -> int:
    """Docker's RAMInBytes: 512, 512k, 64m, 1.5g (binary units, case-insensitive)."""
    value = text.strip().lower().removesuffix("b").removesuffix("i")
    mult = 1
    if value and value[-1] in "kmgtp":
        mult = 1024 ** ("kmgtp".index(value[-1]) + 1)
        value = value[:-1]
    try:
        n = float(value)
    except ValueError:
        raise UsageError(f"invalid size: {text!r}")
    if n < 0:
        raise UsageError(f"invalid size: {text!r}")
    return int(n * mult)


def parse_ulimit(text: str) -> dict[str, Any]:
    name, _, values = text.partition("=")
    if name not in ULIMITS or not values:
        raise UsageError(f"invalid ulimit {text!r}: use NAME=SOFT[:HARD]")
    soft, _, hard = values.partition(":")
    try:
        s = int(soft)
        h = int(hard) if hard else s
    except ValueError:
        raise UsageError(f"invalid ulimit {text!r}: limits must be numbers")
    if h < s:
        raise UsageError(f"invalid ulimit {text!r}: soft limit above hard limit")
    return {"Name": name, "Soft": s, "Hard": h}


# ---- the spec ------------------------------------------------------------------------------


def base_mounts(privileged: bool) -> list[dict[str, Any]]:
    sys_opts = ["nosuid", "noexec", "nodev"] + ([] if privileged else ["ro"])
    return [
        {"destination": "/proc", "type": "proc", "source": "proc",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620",
                     "gid=5"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": sys_opts},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["nosuid", "noexec", "nodev", "relatime",
                     "rw" if privileged else "ro"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    ]


def _keep_id_user(host: dict[str, Any], user: str) -> str:
    if host.get("UsernsMode") != "keep-id":
        return user
    from minidocker.engine import keepid
    return keepid.default_user(user)


def _limit_flags(limits: dict[str, Any]) -> str:
    names = {"memory": "--memory", "cpu": "--cpus/--cpu-shares/--cpuset-cpus",
             "pids": "--pids-limit", "blockIO": "--blkio-weight"}
    return ", ".join(names.get(k, k) for k in limits if k != "devices")


def resources(host: dict[str, Any]) -> dict[str, Any]:
    res: dict[str, Any] = {"devices": [{"allow": bool(host.get("Privileged")),
                                        "access": "rwm"}]}
    memory: dict[str, Any] = {}
    if host.get("Memory"):
        memory["limit"] = int(host["Memory"])
        swap = host.get("MemorySwap")
        if swap and int(swap) != 0:
            memory["swap"] = int(swap)  # -1 = unlimited, as runc reads it
        else:
            memory["swap"] = int(host["Memory"]) * 2  # Docker: swap as much as memory
    if host.get("MemoryReservation"):
        memory["reservation"] = int(host["MemoryReservation"])
    if host.get("MemorySwappiness") is not None and host["MemorySwappiness"] >= 0:
        memory["swappiness"] = int(host["MemorySwappiness"])
    if host.get("OomKillDisable"):
        memory["disableOOMKiller"] = True
    if memory:
        res["memory"] = memory
    cpu: dict[str, Any] = {}
    if host.get("NanoCpus"):
        cpu["period"] = 100000
        cpu["quota"] = int(host["NanoCpus"]) * 100000 // 10**9
    else:
        if host.get("CpuPeriod"):
            cpu["period"] = int(host["CpuPeriod"])
        if host.get("CpuQuota"):
            cpu["quota"] = int(host["CpuQuota"])
    if host.get("CpuRealtimePeriod"):
        cpu["realtimePeriod"] = int(host["CpuRealtimePeriod"])
    if host.get("CpuRealtimeRuntime"):
        cpu["realtimeRuntime"] = int(host["CpuRealtimeRuntime"])
    if host.get("CpuShares"):
        cpu["shares"] = int(host["CpuShares"])
    if host.get("CpusetCpus"):
        cpu["cpus"] = host["CpusetCpus"]
    if host.get("CpusetMems"):
        cpu["mems"] = host["CpusetMems"]
    if cpu:
        res["cpu"] = cpu
    if host.get("PidsLimit"):
        res["pids"] = {"limit": int(host["PidsLimit"])}
    block: dict[str, Any] = {}
    if host.get("BlkioWeight"):
        block["weight"] = int(host["BlkioWeight"])
    if host.get("BlkioWeightDevice"):
        block["weightDevice"] = [{**device_numbers(d["Path"]), "weight": int(d["Weight"])}
                                 for d in host["BlkioWeightDevice"]]
    for key, field in (("BlkioDeviceReadBps", "throttleReadBpsDevice"),
                       ("BlkioDeviceWriteBps", "throttleWriteBpsDevice"),
                       ("BlkioDeviceReadIOps", "throttleReadIOPSDevice"),
                       ("BlkioDeviceWriteIOps", "throttleWriteIOPSDevice")):
        if host.get(key):
            block[field] = [{**device_numbers(d["Path"]), "rate": int(d["Rate"])}
                            for d in host[key]]
    if block:
        res["blockIO"] = block
    return res


# ---- devices -------------------------------------------------------------------------------


def device_numbers(path: str) -> dict[str, int]:
    """{"major", "minor"} of a host device node; UsageError naming it if it is none."""
    import stat
    try:
        st = os.stat(path)
    except OSError as e:
        raise UsageError(f"error gathering device information while adding custom device "
                         f"\"{path}\": {(e.strerror or str(e)).lower()}") from None
    if not (stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)):
        raise UsageError(f"error gathering device information while adding custom device "
                         f"\"{path}\": not a device node")
    return {"major": os.major(st.st_rdev), "minor": os.minor(st.st_rdev)}


def host_devices(devices: list[dict[str, Any]], res: dict[str, Any]) -> list[dict[str, Any]]:
    """--device (HostConfig.Devices): the nodes to make in the container (OCI
    linux.devices), each allowed in the device cgroup with its permissions."""
    import stat
    out = []
    for device in devices:
        host_path = device.get("PathOnHost") or ""
        numbers = device_numbers(host_path)
        st = os.stat(host_path)
        kind = "c" if stat.S_ISCHR(st.st_mode) else "b"
        access = device.get("CgroupPermissions") or "rwm"
        out.append({"path": device.get("PathInContainer") or host_path, "type": kind,
                    **numbers, "fileMode": stat.S_IMODE(st.st_mode), "uid": st.st_uid,
                    "gid": st.st_gid})
        res["devices"].append({"allow": True, "type": kind, **numbers, "access": access})
    return out


def parse_device_rule(rule: str) -> dict[str, Any]:
    """--device-cgroup-rule "c 1:3 rwm" (a or b or c, numbers or *): a device cgroup rule."""
    parts = rule.split()
    numbers = parts[1].split(":") if len(parts) == 3 else []
    if len(parts) != 3 or parts[0] not in ("a", "b", "c") or len(numbers) != 2 or not all(
            n == "*" or n.isdigit() for n in numbers) or not parts[2] or \
            not set(parts[2]) <= set("rwm") or len(parts[2]) > 3:
        raise UsageError(f"invalid device cgroup format '{rule}'")
    entry: dict[str, Any] = {"allow": True, "type": parts[0], "access": parts[2]}
    for key, value in zip(("major", "minor"), numbers, strict=True):
        if value != "*":
            entry[key] = int(value)
    return entry


def add_groups(user: dict[str, Any], groups: list[str], lowers: list[str]) -> dict[str, Any]:
    """--group-add: more supplementary groups, by name (the image's /etc/group) or id."""
    if not groups:
        return user
    known = {e[0]: int(e[2]) for e in _read_db(lowers, "group") if len(e) >= 3
             and e[2].isdigit()}
    extra = list(user.get("additionalGids") or [])
    for group in groups:
        if group.isdigit():
            gid = int(group)
        elif group in known:
            gid = known[group]
        else:
            raise MinidockerError(f"Unable to find group {group}: no matching entries in "
                                  "group file", exit_code=126)
        if gid not in extra:
            extra.append(gid)
    return {**user, "additionalGids": extra}


def make_spec(config: dict[str, Any], record_dir: str, lowers: list[str],
              mounts: list[dict[str, Any]]) -> dict[str, Any]:
    """The OCI config for a record's config. `mounts` are the resolved user mounts
    (OCI shape, see volumes.py); `lowers` are the image's dirs (for /etc/passwd)."""
    from minidocker import OCI_VERSION
    cfg = config["Config"]
    host = config["HostConfig"]
    privileged = bool(host.get("Privileged"))
    caps = capabilities(host.get("CapAdd") or [], host.get("CapDrop") or [], privileged)
    args = list(config.get("Path") and [config["Path"]] or []) + list(config.get("Args") or [])
    if not args:
        raise UsageError("no command specified", hint="give a command after the image")
    env = list(cfg.get("Env") or [])
    if not any(e.startswith("PATH=") for e in env):
        env.insert(0, DEFAULT_PATH)
    env.append(f"HOSTNAME={cfg.get('Hostname', '')}")
    if cfg.get("Tty") and not any(e.startswith("TERM=") for e in env):
        env.append("TERM=xterm")
    proc: dict[str, Any] = {
        "terminal": bool(cfg.get("Tty")),
        "user": add_groups(resolve_user(_keep_id_user(host, cfg.get("User") or ""), lowers),
                           host.get("GroupAdd") or [], lowers),
        "args": args,
        "env": env,
        "cwd": cfg.get("WorkingDir") or "/",
        "capabilities": {k: list(caps) for k in ("bounding", "effective", "permitted")},
    }
    rlimits = [{"type": ULIMITS[u["Name"]], "soft": u["Soft"], "hard": u["Hard"]}
               for u in host.get("Ulimits") or []]
    if rlimits:
        proc["rlimits"] = rlimits
    security = host.get("SecurityOpt") or []
    if "no-new-privileges" in security or "no-new-privileges:true" in security or \
            "no-new-privileges=true" in security:
        proc["noNewPrivileges"] = True
    if host.get("OomScoreAdj"):
        proc["oomScoreAdj"] = int(host["OomScoreAdj"])

    spec_mounts = base_mounts(privileged)
    from minidocker.linux import userns
    if not userns.in_initial() and userns.outside(5, "gid") is None:
        # a session that maps one id (no /etc/subgid range): devpts refuses an unmapped
        # gid=5, as runc's rootless spec leaves it out
        for m in spec_mounts:
            if m["type"] == "devpts":
                m["options"] = [o for o in m["options"] if o != "gid=5"]
    for name in ("hosts", "hostname", "resolv.conf"):
        spec_mounts.append({"destination": f"/etc/{name}", "type": "bind",
                            "source": os.path.join(record_dir, name),
                            "options": ["rbind", "rprivate"]})
    for tmpfs_dest, opts in (host.get("Tmpfs") or {}).items():
        spec_mounts.append({"destination": tmpfs_dest, "type": "tmpfs", "source": "tmpfs",
                            "options": ["nosuid", "nodev", "noexec"] +
                            [o for o in opts.split(",") if o]})
    user_dests = {m["destination"] for m in mounts}
    spec_mounts = [m for m in spec_mounts if m["destination"] not in user_dests] + mounts

    namespaces = [{"type": "mount"}]
    for kind, mode in (("pid", host.get("PidMode")), ("ipc", host.get("IpcMode")),
                       ("uts", host.get("UTSMode")), ("cgroup", host.get("CgroupnsMode"))):
        if mode != "host":  # container:ID: its path is set at start (join_namespaces)
            namespaces.append({"type": kind})
    if host.get("NetworkMode", "none") != "host":
        namespaces.append({"type": "network"})
    ipc = host.get("IpcMode") or "private"
    shm = next((m for m in spec_mounts if m["destination"] == "/dev/shm"
                and m["source"] == "shm"), None)
    if shm is None:
        pass  # a mount of the user's own at /dev/shm
    elif ipc == "none" or ipc.startswith("container:"):  # none: no /dev/shm; container:
        spec_mounts.remove(shm)  # the other's (join_namespaces)
    elif ipc == "host":
        shm.update(type="bind", source="/dev/shm", options=["rbind", "rprivate"])
    elif ipc == "shareable":  # a tmpfs on the host that others can bind (start.mount_shm)
        shm.update(type="bind", source=os.path.join(record_dir, "shm"),
                   options=["rbind", "rprivate"])
    elif host.get("ShmSize"):
        shm["options"] = [o for o in shm["options"] if not o.startswith("size=")] + \
            [f"size={int(host['ShmSize'])}"]
    parent = (host.get("CgroupParent") or "/minidocker").rstrip("/")
    limits = resources(host)
    devices = host_devices(host.get("Devices") or [], limits)
    for rule in host.get("DeviceCgroupRules") or []:
        limits["devices"].append(parse_device_rule(rule))
    linux: dict[str, Any] = {
        "namespaces": namespaces,
        "resources": limits,
        "cgroupsPath": f"{parent if parent.startswith('/') else '/' + parent}/{config['Id']}",
    }
    if devices:
        linux["devices"] = devices
    if userns.rootless():
        from minidocker.engine import rootless
        delegated = rootless.cgroup_parent()
        if delegated is not None:  # a delegated cgroup v2 subtree: the containers go there
            linux["cgroupsPath"] = f"{delegated.rstrip('/')}/minidocker/{config['Id']}"
        elif set(limits) - {"devices"}:
            raise UsageError(
                f"cannot apply {_limit_flags(limits)}: limits of a rootless container need "
                f"a cgroup v2 subtree delegated to this user, and there is none"
                f"{' (this host runs cgroup v1)' if not rootless.cgroup_v2() else ''}",
                hint="run without limits, or as root, or on a cgroup v2 host with the "
                "user's cgroup delegated (systemd's user@.service does: docs/rootless.md)")
    if not privileged:
        from minidocker.runtime.defaults import DOCKER_READONLY_PATHS, docker_masked_paths
        linux["maskedPaths"] = docker_masked_paths()
        linux["readonlyPaths"] = list(DOCKER_READONLY_PATHS)
    seccomp = seccomp_profile(security, caps, privileged)
    if seccomp is not None:
        linux["seccomp"] = seccomp
    sysctls = host.get("Sysctls") or {}
    if sysctls:
        _check_sysctls(sysctls, {ns["type"] for ns in namespaces})
        linux["sysctl"] = dict(sysctls)
    if host.get("UsernsMode") == "keep-id":
        from minidocker.engine import keepid
        keepid.apply_to_spec(linux)
    spec: dict[str, Any] = {
        **({"domainname": cfg["Domainname"]} if cfg.get("Domainname") and
           host.get("UTSMode") != "host" else {}),
        "ociVersion": OCI_VERSION,
        "process": proc,
        "root": {"path": os.path.join(record_dir, "rootfs"),
                 "readonly": bool(host.get("ReadonlyRootfs"))},
        **({"hostname": cfg.get("Hostname") or config["Id"][:12]}
           if host.get("UTSMode") != "host" else {}),
        "mounts": spec_mounts,
        "linux": linux,
        "annotations": {"io.minidocker.name": config.get("Name", "").lstrip("/")},
    }
    return spec


def _check_sysctls(sysctls: dict[str, str], namespaces: set[str]) -> None:
    """--sysctl only for keys of a namespace the container has of its own (the runtime
    refuses the rest too; here the error names the flag)."""
    from minidocker.runtime.spec import sysctl_namespace
    for key, value in sysctls.items():
        kind = sysctl_namespace(key)
        if key.replace("/", ".") == "kernel.hostname":
            raise UsageError(f"invalid argument {key}={value} for --sysctl: set the "
                             "hostname with --hostname")
        if kind is None:
            raise UsageError(f"invalid argument {key}={value} for --sysctl: {key} is not "
                             "namespaced, it would change the host (allowed: kernel.msg*, "
                             "kernel.sem*, kernel.shm*, fs.mqueue.*, net.*, "
                             "kernel.domainname)")
        if kind not in namespaces:
            mode = "--network host" if kind == "network" else f"the host's {kind} namespace"
            raise UsageError(f"invalid argument {key}={value} for --sysctl: not allowed "
                             f"with {mode}")


def seccomp_profile(security: list[str], caps: list[str], privileged: bool
                    ) -> dict[str, Any] | None:
    value = None
    for opt in security:
        key, sep, val = opt.partition("=") if "=" in opt else opt.partition(":")
        if key == "seccomp":
            value = val
        elif key not in ("no-new-privileges", "label", "apparmor"):
            raise UsageError(f"invalid --security-opt: {opt!r}")
    if value == "unconfined" or (privileged and value is None):
        return None
    if value:
        import json
        try:
            with open(value) as f:
                profile = json.load(f)
        except OSError as e:
            raise UsageError(f"opening seccomp profile ({value}) failed: {e.strerror}")
        except ValueError as e:
            raise UsageError(f"decoding seccomp profile ({value}) failed: {e}")
        return _docker_profile_to_oci(profile)
    from minidocker.runtime.defaults import docker_seccomp_profile
    return docker_seccomp_profile(caps)


def _docker_profile_to_oci(profile: dict[str, Any]) -> dict[str, Any]:
    """A Docker seccomp profile file (defaultAction, syscalls[names, action, args]) as OCI."""
    out: dict[str, Any] = {"defaultAction": profile.get("defaultAction", "SCMP_ACT_ERRNO")}
    if "defaultErrnoRet" in profile:
        out["defaultErrnoRet"] = profile["defaultErrnoRet"]
    if profile.get("architectures"):
        out["architectures"] = profile["architectures"]
    syscalls = []
    for rule in profile.get("syscalls") or []:
        names = rule.get("names") or ([rule["name"]] if rule.get("name") else [])
        item = {"names": names, "action": rule.get("action", "SCMP_ACT_ALLOW")}
        for key in ("args", "errnoRet"):
            if rule.get(key) is not None:
                item[key] = rule[key]
        syscalls.append(item)
    out["syscalls"] = syscalls
    return out


def join_namespaces(record: Any) -> None:
    """--pid and --ipc container:ID, at each start: the bundle joins the namespaces of the
    other container's init (which must be running), and for ipc its /dev/shm too."""
    host = record.config["HostConfig"]
    joins = [(kind, mode[len("container:"):]) for kind, mode in
             (("pid", host.get("PidMode") or ""), ("ipc", host.get("IpcMode") or ""))
             if mode.startswith("container:")]
    if not joins:
        return
    from minidocker import jsonfast
    from minidocker.engine.liveness import alive
    from minidocker.engine.records import Record, write_atomic
    from minidocker.errors import Conflict, NotFound
    path = os.path.join(record.dir, "bundle", "config.json")
    with open(path, "rb") as f:
        spec = jsonfast.loads(f.read())
    for kind, other_id in joins:
        try:
            state = Record(record.root, other_id).state
        except NotFound:
            raise NotFound(f"no such container: {other_id[:12]} (its {kind.upper()} "
                           f"namespace is joined by {record.name})") from None
        other = Record(record.root, other_id)
        pid = int(state.get("Pid") or 0)
        if state.get("Status") not in ("running", "paused") or \
                not alive(pid, int(state.get("PidStart") or 0)):
            raise Conflict(f"cannot join {kind.upper()} of a non running container: "
                           f"{other_id[:12]}")
        other_ipc = other.config["HostConfig"].get("IpcMode") or "private"
        if kind == "ipc" and other_ipc not in ("shareable", "host"):
            raise Conflict("non-shareable IPC (hint: use IpcMode:shareable for the donor "
                           "container)")
        spec["linux"]["namespaces"] = [ns for ns in spec["linux"]["namespaces"]
                                       if ns["type"] != kind] + [
            {"type": kind, "path": f"/proc/{pid}/ns/{kind}"}]
        if kind == "ipc":
            source = "/dev/shm" if other_ipc == "host" else other.path("shm")
            spec["mounts"] = [m for m in spec["mounts"] if m["destination"] != "/dev/shm"] + [
                {"destination": "/dev/shm", "type": "bind", "source": source,
                 "options": ["rbind", "rprivate"]}]
    write_atomic(path, jsonfast.dumps_spaced(spec).encode())


def etc_files(config: dict[str, Any], record_dir: str) -> None:
    """/etc/hosts, /etc/hostname, /etc/resolv.conf of the container, in its record."""
    hostname = config["Config"].get("Hostname") or config["Id"][:12]
    hosts = ("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
             "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n"
             "ff02::2\tip6-allrouters\n")
    if config["HostConfig"].get("NetworkMode") == "host":
        try:
            with open("/etc/hosts") as f:
                hosts = f.read()
        except OSError:
            pass
    else:
        hosts += f"127.0.1.1\t{hostname}\n"
    for host_line in config["HostConfig"].get("ExtraHosts") or []:
        name, _, addr = host_line.partition("=" if "=" in host_line else ":")
        if addr == "host-gateway":  # bridge networks write theirs when attached
            from minidocker.network import host_gateway
            addr = host_gateway(os.path.dirname(os.path.dirname(record_dir)))
        hosts += f"{addr}\t{name}\n"
    _write(os.path.join(record_dir, "hosts"), hosts)
    _write(os.path.join(record_dir, "hostname"), hostname + "\n")
    try:
        with open("/etc/resolv.conf") as f:
            resolv = "".join(line for line in f
                             if not line.startswith("nameserver 127."))
    except OSError:
        resolv = ""
    _write(os.path.join(record_dir, "resolv.conf"), resolv)


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)
