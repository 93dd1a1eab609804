"""Checks of a container's configuration, as Docker's daemon makes them (and with its
words: "Minimum memory limit allowed is 6MB"), run before anything is created, for every
front end: the CLI's flags and the API's create and update bodies give the same errors.

The item checks (env_item, sysctl_item, ...) raise ValueError with the words of Docker's
CLI validators, for the CLI to name the flag; `config` and `host_config` raise
UsageError (HTTP 400, exit 125) for a whole body.
"""

from __future__ import annotations

import os

from minidocker.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

MIN_MEMORY = 6 * 1024 * 1024  # Docker's linuxMinMemory
MIN_KERNEL_MEMORY = 4 * 1024 * 1024
# Docker's ValidateSysctl: the ipc keys and the namespaced prefixes; the engine then
# checks that the container has the namespace (bundle._check_sysctls)
SYSCTL_KEYS = frozenset({"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
                         "kernel.shmall", "kernel.shmmax", "kernel.shmmni",
                         "kernel.shm_rmid_forced", "kernel.domainname"})
SYSCTL_PREFIXES = ("net.", "fs.mqueue.")
RESTART_POLICIES = ("no", "always", "unless-stopped", "on-failure")
MAX_ID = 2**32 - 2  # the largest uid/gid the kernel takes ((uid_t)-1 means "unchanged")


# ---- items (the CLI names the flag around these messages) ----------------------------------


def env_item(item: str) -> None:
    """opts.ValidateEnv, and no NUL byte (execve cannot pass one)."""
    key = item.partition("=")[0]
    if not key:
        raise ValueError(f"invalid environment variable: {item}")
    if "\0" in item:
        raise ValueError(f"invalid environment variable: {item!r}: contains a NUL byte")


def sysctl_item(item: str) -> None:
    """opts.ValidateSysctl: KEY=VALUE of a namespaced key."""
    key, eq, _ = item.partition("=")
    if not eq or not (key in SYSCTL_KEYS or key.startswith(SYSCTL_PREFIXES)):
        raise ValueError(f"sysctl '{item}' is not whitelisted")


# ---- a create body ---------------------------------------------------------------------------


def config(body: dict[str, Any]) -> None:
    """The container's Config (Env, WorkingDir, User, StopSignal, Healthcheck...)."""
    for item in body.get("Env") or []:
        if not isinstance(item, str):
            raise UsageError(f"invalid environment variable: {item!r}")
        try:
            env_item(item)
        except ValueError as e:
            raise UsageError(str(e)) from None
    workdir = body.get("WorkingDir")
    if workdir and not workdir.startswith("/"):
        raise UsageError(f"the working directory '{workdir}' is invalid, it needs to be an "
                         "absolute path")
    user = body.get("User") or ""
    for part in user.split(":", 1) if user else ():
        if part.lstrip("-").isdigit() and not 0 <= int(part) <= MAX_ID:
            raise UsageError(f"invalid user {user!r}: uids and gids are from 0 to {MAX_ID}")
        if not part and user:
            raise UsageError(f"invalid user {user!r}: empty user or group")
    signal = body.get("StopSignal")
    if signal:
        from minidocker.runtime.operations import parse_signal
        try:
            parse_signal(signal)
        except Exception:  # noqa: BLE001 - its own error class; Docker's words here
            raise UsageError(f"Invalid signal: {signal}") from None
    if body.get("StopTimeout") is not None and not isinstance(body["StopTimeout"], int):
        raise UsageError(f"invalid stop timeout {body['StopTimeout']!r}")
    check = body.get("Healthcheck") or {}
    for key in ("Interval", "Timeout", "StartPeriod"):
        value = check.get(key) or 0
        if value and value < 1_000_000:
            raise UsageError(f"{key} in Healthcheck cannot be less than 1ms")
    if (check.get("Retries") or 0) < 0:
        raise UsageError("Retries in Healthcheck cannot be negative")
    endpoints = (body.get("NetworkingConfig") or {}).get("EndpointsConfig") or {}
    for mac in [body.get("MacAddress") or "",
                *((e or {}).get("MacAddress") or "" for e in endpoints.values())]:
        if mac:  # the top-level one (API < 1.44) or an endpoint's (--mac-address)
            mac_address(mac)


def mac_address(mac: str) -> None:
    parts = mac.split(":")
    if len(parts) != 6 or any(len(p) != 2 or not all(c in "0123456789abcdefABCDEF"
                                                     for c in p) for p in parts):
        raise UsageError(f"{mac} is not a valid mac address")


def host_config(host: dict[str, Any], warn: Callable[[str], None] | None = None, *,
                update: bool = False) -> None:
    """HostConfig's resources and settings, as dockerd's verifyPlatformContainerSettings
    and verifyContainerSettings check them (`update`: an update body, where Memory may
    be absent while MemorySwap is given)."""
    memory = _int(host, "Memory")
    swap = _int(host, "MemorySwap")
    reservation = _int(host, "MemoryReservation")
    if memory and memory < MIN_MEMORY:
        raise UsageError("Minimum memory limit allowed is 6MB")
    if memory > 0 and swap > 0 and swap < memory:
        raise UsageError("Minimum memoryswap limit should be larger than memory limit, see "
                         "usage")
    if not memory and swap > 0 and not update:
        raise UsageError("You should always set the Memory limit when using Memoryswap "
                         "limit, see usage")
    swappiness = host.get("MemorySwappiness")
    if swappiness is not None and swappiness != -1 and not 0 <= swappiness <= 100:
        raise UsageError(f"Invalid value: {swappiness}, valid memory swappiness range is "
                         "0-100")
    if reservation and reservation < MIN_MEMORY:
        raise UsageError("Minimum memory reservation allowed is 6MB")
    if memory > 0 and reservation > 0 and memory < reservation:
        raise UsageError("Minimum memory limit can not be less than memory reservation "
                         "limit, see usage")
    kernel = _int(host, "KernelMemory")
    if kernel and kernel < MIN_KERNEL_MEMORY:
        raise UsageError("Minimum kernel memory limit allowed is 4MB")
    nano = _int(host, "NanoCpus")
    period, quota = _int(host, "CpuPeriod"), _int(host, "CpuQuota")
    if nano > 0 and period > 0:
        raise UsageError("Conflicting options: Nano CPUs and CPU Period cannot both be set")
    if nano > 0 and quota > 0:
        raise UsageError("Conflicting options: Nano CPUs and CPU Quota cannot both be set")
    ncpu = len(os.sched_getaffinity(0)) if nano else 0
    if nano and (nano < 0 or nano > ncpu * 10**9):
        raise UsageError(f"Range of CPUs is from 0.01 to {ncpu}.00, as there are only "
                         f"{ncpu} CPUs available")
    if period and not 1000 <= period <= 1_000_000:
        raise UsageError("CPU cfs period can not be less than 1ms (i.e. 1000) or larger "
                         "than 1s (i.e. 1000000)")
    if quota > 0 and quota < 1000:
        raise UsageError("CPU cfs quota can not be less than 1ms (i.e. 1000)")
    if _int(host, "CpuShares") < 0:
        raise UsageError("Invalid CPU shares: the value cannot be negative")
    for key, what, kind in (("CpusetCpus", "cpus", "cpu"), ("CpusetMems", "mems", "node")):
        text = host.get(key) or ""
        if not text:
            continue
        try:
            wanted = cpu_list(text)
        except ValueError:
            raise UsageError(f"Invalid value {text} for cpuset {what}") from None
        available = _online(kind)
        if available is not None and not wanted <= available[0]:
            noun = "CPUs" if what == "cpus" else "memory nodes"
            raise UsageError(f"Requested {noun} are not available - requested {text}, "
                             f"available: {available[1]}")
    weight = _int(host, "BlkioWeight")
    if weight and not 10 <= weight <= 1000:
        raise UsageError("Range of blkio weight is from 10 to 1000")
    if _int(host, "ShmSize") < 0:
        raise UsageError("SHM size can not be less than 0")
    oom = _int(host, "OomScoreAdj")
    if not -1000 <= oom <= 1000:
        raise UsageError(f"Invalid value {oom}, range for oom score adj is [-1000, 1000]")
    isolation = host.get("Isolation") or ""
    if isolation not in ("", "default"):
        raise UsageError(f'Invalid isolation: "{isolation}" - linux only supports '
                         "'default'")
    if not update:
        namespaces(host)
        devices(host)
        _restart_policy(host)
        for dest in (host.get("Tmpfs") or {}):
            tmpfs_destination(dest)
        for key, value in (host.get("Sysctls") or {}).items():
            try:
                sysctl_item(f"{key}={value}")
            except ValueError as e:
                raise UsageError(str(e)) from None
        for ulimit in host.get("Ulimits") or []:
            _ulimit(ulimit)
    else:
        _restart_policy(host, update=True)


def namespaces(host: dict[str, Any]) -> None:
    """--pid, --ipc, --uts, --userns, --cgroupns, --cgroup-parent and what this engine has
    not (--storage-opt, volume drivers, legacy links), with Docker's words."""
    for key, flag, allowed in (("PidMode", "pid", ("", "host")),
                               ("IpcMode", "ipc", ("", "private", "shareable", "none",
                                                   "host")),
                               ("UTSMode", "uts", ("", "host")),
                               ("UsernsMode", "userns", ("", "host", "keep-id")),
                               ("CgroupnsMode", "cgroupns", ("", "private", "host"))):
        mode = host.get(key) or ""
        if mode in allowed or (mode.startswith("container:") and len(mode) > 10
                               and key in ("PidMode", "IpcMode")):
            continue
        kind = {"userns": "USER", "cgroupns": "CGROUP"}.get(flag, flag.upper())
        raise UsageError(f"--{flag}: invalid {kind} mode: {mode}")
    parent = host.get("CgroupParent") or ""
    if ".." in parent.split("/"):
        raise UsageError(f"invalid --cgroup-parent {parent!r}: no '..' allowed")
    if host.get("StorageOpt"):
        raise UsageError("--storage-opt is supported only for overlay over xfs with 'pquota' "
                         "mount option")
    if (host.get("VolumeDriver") or "local") != "local":
        raise UsageError(f"volume driver {host['VolumeDriver']!r} is not supported (only "
                         "local)")


def devices(host: dict[str, Any]) -> None:
    """--device, --device-cgroup-rule and the block I/O device limits."""
    for device in host.get("Devices") or []:
        source = str(device.get("PathOnHost") or "")
        target = str(device.get("PathInContainer") or source)
        access = str(device.get("CgroupPermissions") or "rwm")
        if not source.startswith("/") or not target.startswith("/"):
            raise UsageError(f"invalid device mapping {source}:{target}: paths must be "
                             "absolute")
        if not set(access) <= set("rwm") or len(access) > 3:
            raise UsageError(f"invalid device mode: {access}")
    for rule in host.get("DeviceCgroupRules") or []:
        from minidocker.engine.bundle import parse_device_rule
        parse_device_rule(str(rule))
    for item in host.get("BlkioWeightDevice") or []:
        if not str(item.get("Path", "")).startswith("/"):
            raise UsageError(f"{item.get('Path')} is not an absolute path")
        if not 10 <= int(item.get("Weight") or 0) <= 1000:
            raise UsageError(f"invalid weight for device: {item.get('Weight')}: from 10 to "
                             "1000")
    for key in ("BlkioDeviceReadBps", "BlkioDeviceWriteBps", "BlkioDeviceReadIOps",
                "BlkioDeviceWriteIOps"):
        for item in host.get(key) or []:
            if not str(item.get("Path", "")).startswith("/"):
                raise UsageError(f"{item.get('Path')} is not an absolute path")
            if not isinstance(item.get("Rate"), int) or item["Rate"] < 0:
                raise UsageError(f"invalid rate for device {item.get('Path')}: "
                                 f"{item.get('Rate')!r}")


def _int(host: dict[str, Any], key: str) -> int:
    value = host.get(key) or 0
    if not isinstance(value, int) or isinstance(value, bool):
        raise UsageError(f"invalid {key} {value!r}: a number")
    return value


def _restart_policy(host: dict[str, Any], update: bool = False) -> None:
    policy = host.get("RestartPolicy") or {}
    name = policy.get("Name") or "no"
    count = policy.get("MaximumRetryCount") or 0
    if name not in RESTART_POLICIES:
        raise UsageError(f"invalid restart policy '{name}'")
    if name != "on-failure" and count:
        raise UsageError(f"maximum retry count cannot be used with restart policy '{name}'")
    if count < 0:
        raise UsageError("maximum retry count cannot be negative")
    if host.get("AutoRemove") and name != "no":
        raise UsageError("conflicting options: cannot specify both --restart and --rm")


def tmpfs_destination(dest: str) -> None:
    """Docker's ValidateTmpfsMountDestination."""
    if dest == "/":
        raise UsageError("invalid specification: destination can't be '/'")
    if not dest.startswith("/"):
        raise UsageError(f"invalid mount path: '{dest}' mount path must be absolute")


def _ulimit(ulimit: Any) -> None:
    from minidocker.units import ULIMIT_NAMES
    if not isinstance(ulimit, dict) or ulimit.get("Name") not in ULIMIT_NAMES:
        name = ulimit.get("Name") if isinstance(ulimit, dict) else ulimit
        raise UsageError(f"invalid ulimit type: {name}")
    soft, hard = ulimit.get("Soft"), ulimit.get("Hard")
    if not isinstance(soft, int) or not isinstance(hard, int):
        raise UsageError(f"invalid ulimit {ulimit['Name']}: Soft and Hard must be numbers")
    if soft > hard:
        raise UsageError(f"ulimit soft limit must be less than or equal to hard limit: "
                         f"{soft} > {hard}")


def cpu_list(text: str) -> set[int]:
    """A cpuset list ("0-3,5") as its numbers; ValueError if malformed."""
    out: set[int] = set()
    for part in text.split(","):
        first, dash, last = part.partition("-")
        if not first.isdigit() or (dash and not last.isdigit()):
            raise ValueError(text)
        lo, hi = int(first), int(last) if dash else int(first)
        if hi < lo:
            raise ValueError(text)
        out.update(range(lo, hi + 1))
    return out


def _online(kind: str) -> tuple[set[int], str] | None:
    """The CPUs ("cpu") or memory nodes ("node") this host has online, with their list."""
    try:
        with open(f"/sys/devices/system/{kind}/online") as f:
            text = f.read().strip()
        return cpu_list(text), text
    except (OSError, ValueError):
        return None


# ---- platforms ---------------------------------------------------------------------------

OSES = ("linux", "windows", "darwin", "freebsd", "netbsd", "openbsd", "solaris", "aix",
        "illumos", "js", "plan9", "android", "ios")
ARCH_ALIASES = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "i386": "386",
                "armhf": "arm", "armel": "arm"}
ARCHES = ("amd64", "386", "arm", "arm64", "ppc64le", "ppc64", "s390x", "riscv64",
          "mips64le", "mips64", "mipsle", "mips", "loong64", "wasm")


def platform(text: str) -> str:
    """--platform as containerd's platforms.Parse reads it ("linux", "amd64", "linux/arm64",
    "linux/arm/v7"): normalized os/arch[/variant], or Docker's error."""
    from minidocker.image.hostplatform import host_platform
    parts = text.lower().split("/")
    bad = UsageError(f'error parsing specified platform: "{text}": unknown operating system '
                     "or architecture: invalid argument")
    if not text or len(parts) > 3 or not all(parts):
        raise bad
    if len(parts) == 1:
        if parts[0] in OSES:
            return f"{parts[0]}/{host_platform().split('/', 1)[1]}"
        arch = ARCH_ALIASES.get(parts[0], parts[0])
        if arch not in ARCHES:
            raise bad
        return f"linux/{arch}"
    os_name, arch = parts[0], ARCH_ALIASES.get(parts[1], parts[1])
    if os_name not in OSES or arch not in ARCHES:
        raise bad
    return "/".join([os_name, arch, *parts[2:]])


def runnable_platform(text: str) -> str:
    """A --platform for run/create: this host's own (no emulation of another)."""
    from minidocker.image.hostplatform import host_platform
    wanted, host = platform(text), host_platform()
    if wanted.split("/")[:2] != host.split("/")[:2]:
        raise UsageError(f"--platform {text}: this host runs {host} containers only (no "
                         "emulation of other platforms)")
    return wanted
