"""What the v1 and v2 cgroup managers share: paths, file access with clear errors, and
the validation of OCI linux.resources values (done before anything is written)."""

from __future__ import annotations

import errno
import os
import time

import minidocker
from minidocker.errors import InvalidConfig, MinidockerError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any

DEFAULT_ROOT = "/sys/fs/cgroup"
DEFAULT_PARENT = "minidocker"

# The keys of OCI linux.resources and of each of its objects (runtime-spec config-linux.md)
RESOURCE_KEYS = {
    "devices", "memory", "cpu", "pids", "blockIO", "hugepageLimits", "network", "rdma",
    "unified",
}
MEMORY_KEYS = {"limit", "reservation", "swap", "kernel", "kernelTCP", "swappiness",
               "disableOOMKiller", "useHierarchy", "checkBeforeUpdate"}
CPU_KEYS = {"shares", "quota", "burst", "period", "realtimeRuntime", "realtimePeriod",
            "cpus", "mems", "idle"}
PIDS_KEYS = {"limit"}
BLKIO_KEYS = {"weight", "leafWeight", "weightDevice", "throttleReadBpsDevice",
              "throttleWriteBpsDevice", "throttleReadIOPSDevice", "throttleWriteIOPSDevice"}
DEVICE_RULE_KEYS = {"allow", "type", "major", "minor", "access"}
THROTTLE_KEYS = ("throttleReadBpsDevice", "throttleWriteBpsDevice", "throttleReadIOPSDevice",
                 "throttleWriteIOPSDevice")


class CgroupError(MinidockerError):
    """A cgroup operation failed on this host (the input itself was valid)."""


# ---- files ----------------------------------------------------------------------------


def blkio_needed(res: dict[str, Any]) -> list[str]:
    """The blockIO keys that ask for something: a weight of 0 is unset (runc's rule), and
    a weightDevice entry counts only with a non-zero weight."""
    blkio = res.get("blockIO") or {}
    out = []
    for key, value in blkio.items():
        if key == "weightDevice":
            value = [d for d in items(value) if d.get("weight") or d.get("leafWeight")]
        if value not in (None, [], 0):
            out.append(f"blockIO.{key}")
    return out


def write(directory: str, name: str, value: str | int, key: str | None = None) -> None:
    """Write one cgroup control file; errors name the OCI key (or the file) and the cause."""
    path = os.path.join(directory, name)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
    except FileNotFoundError:
        what = f"{key}: " if key else ""
        raise CgroupError(f"{what}cannot apply: {name} does not exist in {directory} "
                          f"(controller or feature not available on this host)")
    except OSError as exc:
        raise CgroupError(f"{key or name}: open {path}: {exc.strerror}")
    try:
        os.write(fd, str(value).encode())
    except OSError as exc:
        raise CgroupError(f"{key or name}: cannot write {value!r} to {path}: {exc.strerror}")
    finally:
        os.close(fd)
    if minidocker.TRACE:
        minidocker.TRACE.step("cgroup", "write", path=path, value=str(value), key=key)


def read(directory: str, name: str) -> str:
    with open(os.path.join(directory, name)) as f:
        return f.read().strip()


def read_int(directory: str, name: str, default: int = 0) -> int:
    """A number from a control file; "max" and missing files give `default` (0)."""
    try:
        text = read(directory, name)
    except OSError:
        return default
    try:
        return int(text)
    except ValueError:
        return default


def read_keyed(directory: str, name: str) -> dict[str, int]:
    """A flat keyed file ("key value" per line), e.g. memory.stat, cpu.stat."""
    out: dict[str, int] = {}
    try:
        text = read(directory, name)
    except OSError:
        return out
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                out[parts[0]] = int(parts[1])
            except ValueError:
                pass
    return out


def exists(directory: str, name: str) -> bool:
    return os.path.exists(os.path.join(directory, name))


def read_pids(directory: str) -> list[int]:
    try:
        text = read(directory, "cgroup.procs")
    except FileNotFoundError:
        return []
    return sorted(int(p) for p in text.split())


def remove_dir(path: str, attempts: int = 50) -> None:
    """rmdir a cgroup; tolerate it being gone, retry while the last tasks are exiting."""
    for i in range(attempts):
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError as exc:
            if exc.errno != errno.EBUSY or i == attempts - 1:
                raise CgroupError(f"cannot remove cgroup {path}: {exc.strerror}")
            time.sleep(0.01 * (i + 1))


def remove_created(leaves: list[str], created: list[str]) -> None:
    """Remove the container's cgroups (each leaf with whatever was made inside it), then
    the parents its manager made, and minidocker's shared parent (a leaf's parent named
    "minidocker"), where empty: another container may still use them."""
    gone = set()
    for leaf in leaves:
        try:
            os.rmdir(leaf)  # the usual case: empty; a walk only for what is inside
        except FileNotFoundError:
            pass
        except OSError:
            for dirpath, _, _ in sorted(os.walk(leaf), key=lambda w: -len(w[0])):
                remove_dir(dirpath)
        gone.add(leaf)
    shared = [os.path.dirname(leaf) for leaf in leaves
              if os.path.basename(os.path.dirname(leaf)) == DEFAULT_PARENT]
    for directory in dict.fromkeys([*reversed(created), *shared]):
        if directory in gone:
            continue
        try:
            os.rmdir(directory)
        except FileNotFoundError:
            pass
        except OSError as exc:
            if exc.errno not in (errno.EBUSY, errno.ENOTEMPTY):
                raise CgroupError(f"cannot remove cgroup {directory}: {exc.strerror}")


def retry_vanished(make: Callable[[], None], attempts: int = 5) -> None:
    """Run `make` again when a parent directory vanished under it (the shared parent
    removed by another container's delete at the same moment)."""
    for attempt in range(attempts):
        try:
            make()
            return
        except FileNotFoundError as exc:
            if attempt == attempts - 1:
                raise CgroupError(f"cannot create cgroup {exc.filename}: {exc.strerror}")


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.001
    while not predicate():
        if time.monotonic() > deadline:
            raise CgroupError(f"timed out waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


# ---- paths ----------------------------------------------------------------------------


def split_path(path: str, what: str = "cgroupsPath") -> list[str]:
    """The components of a cgroup path; '..' (escaping the hierarchy) is refused."""
    parts = [p for p in path.split("/") if p not in ("", ".")]
    for part in parts:
        if part == "..":
            raise InvalidConfig(f"{what} {path!r}: '..' is not allowed (it would escape the "
                                f"cgroup hierarchy)")
        if "\0" in part or "\n" in part:
            raise InvalidConfig(f"{what} {path!r}: invalid character")
    return parts


def own_cgroups(proc_self_cgroup: str | None = None) -> dict[str, str]:
    """This process's cgroup per hierarchy from /proc/self/cgroup: {"memory": "/a", "": "/"}
    (the key "" is the cgroup v2 hierarchy; comounted v1 controllers get one key each)."""
    if proc_self_cgroup is None:
        with open("/proc/self/cgroup") as f:
            proc_self_cgroup = f.read()
    out: dict[str, str] = {}
    for line in proc_self_cgroup.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        if parts[1] == "":
            out[""] = parts[2]
        for ctrl in parts[1].split(","):
            if ctrl:
                out[ctrl] = parts[2]
    return out


def resolve_path(cgroups_path: str | None, container_id: str, own: str | None,
                 *, parent: str = DEFAULT_PARENT) -> str:
    """The absolute cgroup path (inside a hierarchy) for a container.

    None -> /<parent>/<id>; absolute -> as given; relative -> under `own`, the runtime's
    own cgroup in that hierarchy (as runc does). Never the root cgroup itself.
    """
    if "/" in container_id or container_id in ("", ".", ".."):
        raise InvalidConfig(f"invalid container id {container_id!r} for a cgroup path")
    if cgroups_path is None or cgroups_path == "":
        parts = [parent, container_id]
    elif cgroups_path.startswith("/"):
        parts = split_path(cgroups_path)
    else:
        parts = split_path(own or "/", "own cgroup") + split_path(cgroups_path)
    if not parts:
        raise InvalidConfig(f"cgroupsPath {cgroups_path!r}: the root cgroup cannot be a "
                            f"container's cgroup")
    return "/" + "/".join(parts)


SYSTEMD_RUNNING = "/run/systemd/system"


def systemd_path(cgroups_path: str | None, container_id: str,
                 systemd_marker: str = SYSTEMD_RUNNING) -> str:
    """The cgroupfs path systemd would use for "slice:prefix:name" (runc's --systemd-cgroup).

    minidocker has no D-Bus client: it needs systemd to be present (to not silently fake
    a unit) and then manages the unit's cgroup directory itself.
    """
    if not os.path.isdir(systemd_marker):
        raise MinidockerError("--systemd-cgroup: systemd is not running on this host "
                              "(no /run/systemd/system)",
                              hint="run without --systemd-cgroup to use cgroupfs paths")
    spec = cgroups_path or f"system.slice:minidocker:{container_id}"
    fields = spec.split(":")
    if len(fields) != 3:
        raise InvalidConfig(f"cgroupsPath {spec!r}: with --systemd-cgroup it must be "
                            f"'slice:prefix:name'")
    slice_name, prefix, name = fields
    slice_name = slice_name or "system.slice"
    for item in (slice_name, prefix, name):
        if "/" in item or item in (".", ".."):
            raise InvalidConfig(f"cgroupsPath {spec!r}: invalid systemd unit name")
    if not slice_name.endswith(".slice"):
        raise InvalidConfig(f"cgroupsPath {spec!r}: {slice_name!r} is not a slice")
    # a-b.slice lives in a.slice/a-b.slice
    stem = slice_name[: -len(".slice")]
    chain = ["-".join(stem.split("-")[: i + 1]) + ".slice" for i in range(len(stem.split("-")))]
    if stem == "":
        chain = []
    unit = name if name.endswith(".slice") else f"{prefix}-{name}.scope" if prefix else \
        f"{name}.scope"
    return "/" + "/".join([*chain, unit])


# ---- validation of OCI values ---------------------------------------------------------


def check_keys(obj: Any, allowed: Iterable[str], where: str) -> dict[str, Any]:
    if obj is None:
        return {}
    if not isinstance(obj, dict):
        raise InvalidConfig(f"{where}: must be an object")
    unknown = sorted(set(obj) - set(allowed))
    if unknown:
        raise InvalidConfig(f"{where}: unknown key {unknown[0]!r}")
    return obj


def check_int(value: Any, key: str, *, minimum: int | None = None,
              maximum: int | None = None, allow_minus_one: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidConfig(f"{key}: must be an integer, not {value!r}")
    if allow_minus_one and value == -1:
        return value
    if minimum is not None and value < minimum:
        if minimum == 0 or value < 0:
            raise InvalidConfig(f"{key}: must not be negative ({value})")
        raise InvalidConfig(f"{key}: must be at least {minimum} ({value})")
    if maximum is not None and value > maximum:
        raise InvalidConfig(f"{key}: must be at most {maximum} ({value})")
    return value


def check_bool(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidConfig(f"{key}: must be true or false, not {value!r}")
    return value


# patterns are compiled on first use (re caches them), not at import: `run` pays imports
_CPU_LIST = r"^\s*(\d+(-\d+)?)(\s*,\s*\d+(-\d+)?)*\s*$"


def check_cpu_list(value: Any, key: str) -> str:
    import re
    if not isinstance(value, str) or not (value == "" or re.match(_CPU_LIST, value)):
        raise InvalidConfig(f"{key}: malformed list {value!r} (expected e.g. '0-2,4')")
    for part in value.split(","):
        if "-" in part:
            lo, hi = (int(x) for x in part.split("-"))
            if lo > hi:
                raise InvalidConfig(f"{key}: malformed range {part.strip()!r}")
    return value.replace(" ", "")


def expand_cpu_list(text: str) -> list[int]:
    """"0-2,4" -> [0, 1, 2, 4] (runc reports cpuset lists this way)."""
    out: list[int] = []
    for part in text.strip().split(","):
        if "-" in part:
            lo, hi = part.split("-")
            out.extend(range(int(lo), int(hi) + 1))
        elif part:
            out.append(int(part))
    return out


def check_device_numbers(entry: Any, key: str, extra: Iterable[str]) -> dict[str, Any]:
    entry = check_keys(entry, ["major", "minor", *extra], key)
    for num in ("major", "minor"):
        if num not in entry:
            raise InvalidConfig(f"{key}: '{num}' is required")
        check_int(entry[num], f"{key}.{num}", minimum=0)
    return entry


_PAGE_SIZE = r"^(\d+)(KB|MB|GB)$"


def check_page_size(value: Any, key: str) -> str:
    import re
    if not isinstance(value, str) or not re.match(_PAGE_SIZE, value):
        raise InvalidConfig(f"{key}: malformed page size {value!r} (expected e.g. '2MB')")
    return value


def validate_common(resources: Any) -> dict[str, Any]:
    """Shape checks valid for both hierarchies; the managers check the rest."""
    res = check_keys(resources, RESOURCE_KEYS, "linux.resources")
    mem = check_keys(res.get("memory"), MEMORY_KEYS, "linux.resources.memory")
    for key in ("limit", "reservation", "swap", "kernel", "kernelTCP"):
        if mem.get(key) is not None:
            check_int(mem[key], f"memory.{key}", minimum=0, allow_minus_one=True)
    if mem.get("swappiness") is not None:
        check_int(mem["swappiness"], "memory.swappiness", minimum=0, maximum=100,
                  allow_minus_one=True)
    for key in ("disableOOMKiller", "useHierarchy", "checkBeforeUpdate"):
        if mem.get(key) is not None:
            check_bool(mem[key], f"memory.{key}")
    limit, swap = mem.get("limit"), mem.get("swap")
    if limit not in (None, -1, 0) and swap not in (None, -1, 0) and swap < limit:
        raise InvalidConfig(f"memory.swap: must be at least memory.limit ({swap} < {limit}): "
                            f"it is the limit of memory plus swap")
    cpu = check_keys(res.get("cpu"), CPU_KEYS, "linux.resources.cpu")
    if cpu.get("shares") is not None:
        check_int(cpu["shares"], "cpu.shares", minimum=0)
    if cpu.get("quota") is not None:
        check_int(cpu["quota"], "cpu.quota", minimum=0, allow_minus_one=True)
        if 0 < cpu["quota"] < 1000:
            raise InvalidConfig(f"cpu.quota: must be at least 1000 microseconds "
                                f"({cpu['quota']})")
    if cpu.get("period") is not None:
        check_int(cpu["period"], "cpu.period", minimum=0, maximum=1_000_000)
        if 0 < cpu["period"] < 1000:
            raise InvalidConfig(f"cpu.period: must be at least 1000 microseconds "
                                f"({cpu['period']})")
    for key in ("burst", "realtimeRuntime", "realtimePeriod"):
        if cpu.get(key) is not None:
            unlimited_ok = key == "realtimeRuntime"  # -1: no realtime limit
            check_int(cpu[key], f"cpu.{key}", minimum=0, allow_minus_one=unlimited_ok)
    for key in ("cpus", "mems"):
        if cpu.get(key) is not None:
            check_cpu_list(cpu[key], f"cpu.{key}")
    if cpu.get("idle") is not None:
        check_int(cpu["idle"], "cpu.idle", minimum=0, maximum=1)
    pids = check_keys(res.get("pids"), PIDS_KEYS, "linux.resources.pids")
    if pids.get("limit") is not None:
        check_int(pids["limit"], "pids.limit", minimum=0, allow_minus_one=True)
    blkio = check_keys(res.get("blockIO"), BLKIO_KEYS, "linux.resources.blockIO")
    # a weight of 0 is unset, as with runc: dockerd sends "blockIO": {"weight": 0} always
    for key in ("weight", "leafWeight"):
        if blkio.get(key) not in (None, 0):
            check_int(blkio[key], f"blockIO.{key}", minimum=10, maximum=1000)
    for i, entry in enumerate(_list(blkio.get("weightDevice"), "blockIO.weightDevice")):
        key = f"blockIO.weightDevice[{i}]"
        entry = check_device_numbers(entry, key, ["weight", "leafWeight"])
        for w in ("weight", "leafWeight"):
            if entry.get(w) not in (None, 0):
                check_int(entry[w], f"{key}.{w}", minimum=10, maximum=1000)
    for tkey in THROTTLE_KEYS:
        for i, entry in enumerate(_list(blkio.get(tkey), f"blockIO.{tkey}")):
            key = f"blockIO.{tkey}[{i}]"
            entry = check_device_numbers(entry, key, ["rate"])
            if "rate" not in entry:
                raise InvalidConfig(f"{key}: 'rate' is required")
            check_int(entry["rate"], f"{key}.rate", minimum=0)
    for i, entry in enumerate(_list(res.get("hugepageLimits"), "hugepageLimits")):
        key = f"hugepageLimits[{i}]"
        entry = check_keys(entry, ["pageSize", "limit"], key)
        check_page_size(entry.get("pageSize"), f"{key}.pageSize")
        check_int(entry.get("limit"), f"{key}.limit", minimum=0)
    net = check_keys(res.get("network"), ["classID", "priorities"], "linux.resources.network")
    if net.get("classID") is not None:
        check_int(net["classID"], "network.classID", minimum=0, maximum=0xFFFFFFFF)
    for i, entry in enumerate(_list(net.get("priorities"), "network.priorities")):
        key = f"network.priorities[{i}]"
        entry = check_keys(entry, ["name", "priority"], key)
        import re
        if not isinstance(entry.get("name"), str) or not re.fullmatch(r"[^\s/]{1,15}",
                                                                        entry["name"]):
            raise InvalidConfig(f"{key}.name: must be an interface name")
        check_int(entry.get("priority"), f"{key}.priority", minimum=0, maximum=0xFFFFFFFF)
    rdma = res.get("rdma") or {}
    if not isinstance(rdma, dict):
        raise InvalidConfig("linux.resources.rdma: must be an object")
    for dev, lim in rdma.items():
        lim = check_keys(lim, ["hcaHandles", "hcaObjects"], f"rdma.{dev}")
        for k, v in lim.items():
            if v is not None:
                check_int(v, f"rdma.{dev}.{k}", minimum=0)
    unified = res.get("unified") or {}
    if not isinstance(unified, dict):
        raise InvalidConfig("linux.resources.unified: must be an object")
    for k, v in unified.items():
        if not isinstance(v, str):
            raise InvalidConfig(f"unified.{k}: value must be a string")
        import re
        if not re.fullmatch(r"[a-z0-9_]+\.[a-z0-9_.]+", k) or k.startswith("cgroup."):
            raise InvalidConfig(f"unified: invalid key {k!r} (expected a controller file such "
                                f"as 'memory.high'; cgroup.* files are not resources)")
        if "\n" in v:
            raise InvalidConfig(f"unified.{k}: value must be one line")
    from minidocker.linux.cgroups.devices.rules import parse_rules
    parse_rules(res.get("devices"))
    return res


def _list(value: Any, key: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidConfig(f"{key}: must be a list")
    return value


def items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def hugetlb_sizes(directory: str, prefix: str = "hugetlb.") -> list[str]:
    """The huge page sizes the kernel offers ("2MB", "1GB"), from the control file names."""
    import re
    sizes = set()
    try:
        for name in os.listdir(directory):
            match = re.match(rf"^{re.escape(prefix)}(\d+[KMG]B)\.", name)
            if match:
                sizes.add(match.group(1))
    except OSError:
        pass
    return sorted(sizes)


def hugetlb_sizes_of_kernel(sysfs: str = "/sys/kernel/mm/hugepages") -> set[str]:
    """The huge page sizes this kernel supports, named as cgroup files name them."""
    sizes = set()
    try:
        for name in os.listdir(sysfs):  # hugepages-2048kB
            kb = int(name.split("-")[1].removesuffix("kB"))
            for unit, div in (("GB", 1 << 20), ("MB", 1 << 10), ("KB", 1)):
                if kb % div == 0:
                    sizes.add(f"{kb // div}{unit}")
                    break
    except (OSError, ValueError, IndexError):
        pass
    return sizes
