"""`explain`: what isolates a running container, read from the kernel, not from our records.

Each fact comes from /proc/<pid> of the container's init (namespaces against the host's,
uid_map/gid_map, cgroup, mountinfo, status, attr), from the cgroup filesystem (limits in
force and usage), from netlink inside its network namespace (interfaces, addresses,
routes) and from the nftables rules of the engine's table (published ports). The records
only name things: the container, and the image and layer behind each overlay lower dir.
Every fact carries a short explanation and the docs section (docs/isolation.md) that
explains it.
"""

from __future__ import annotations

import os

from minidocker.errors import Conflict, MinidockerError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from minidocker.engine.records import Record

DOCS = "docs/isolation.md"


class Fact:
    """One line of `explain`: a subject, its value, what it means, where to read more."""

    def __init__(self, topic: str, subject: str, value: str, explanation: str, docs: str,
                 **data: Any):
        self.topic = topic
        self.subject = subject
        self.value = value
        self.explanation = explanation
        self.docs = f"{DOCS}#{docs}"
        self.data = data

    def to_dict(self) -> dict[str, Any]:
        return {"Topic": self.topic, "Subject": self.subject, "Value": self.value,
                **self.data, "Explanation": self.explanation, "Docs": self.docs}


def explain(record: Record, pid: int) -> dict[str, Any]:
    """The facts of the running container `record` whose init is `pid` (host view)."""
    proc = f"/proc/{pid}"
    try:
        start = _start_time(proc)
        facts = (_namespaces(proc) + _user_mapping(proc) + _cgroups(proc) +
                 _mounts(proc, record) + _capabilities(proc) + _security(proc) +
                 _network(proc, record))
        if _start_time(proc) != start:
            raise FileNotFoundError
    except (FileNotFoundError, ProcessLookupError):
        raise Conflict(f"container {record.id[:12]} stopped while being explained")
    return {"Id": record.id, "Name": record.name, "Pid": pid,
            "Facts": [f.to_dict() for f in facts]}


def _start_time(proc: str) -> str:
    with open(f"{proc}/stat", "rb") as f:
        data = f.read()
    return data[data.rindex(b")") + 2:].split()[19].decode()


def _read(path: str) -> str:
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


# ---- namespaces ----------------------------------------------------------------------------

NAMESPACES = {
    # name under /proc/PID/ns -> (what a private one gives, what sharing the host's means)
    "mnt": ("its own mount table: it sees its root filesystem and the mounts below, "
            "not the host's", "it shares the host's mount table"),
    "pid": ("its own process numbers: its first process is PID 1 and it can neither see "
            "nor signal the host's processes", "it sees and may signal every process of "
            "the host"),
    "net": ("its own network stack: interfaces, addresses, routes, firewall and ports",
            "it uses the host's network stack as it is (--network host)"),
    "ipc": ("its own System V IPC objects and POSIX message queues",
            "it shares System V IPC and message queues with the host"),
    "uts": ("its own hostname and domain name", "it has the host's hostname"),
    "user": ("its own user and group ids, mapped to other ids on the host (see uid_map)",
             "its user ids are the host's: root inside is root on the host, held back by "
             "capabilities, seccomp and the other namespaces"),
    "cgroup": ("its own cgroup is the root of the cgroup tree it sees",
               "it sees the host's cgroup paths"),
    "time": ("its own offsets of the monotonic and boot-time clocks",
             "the host's monotonic and boot-time clocks"),
}


def _namespaces(proc: str) -> list[Fact]:
    out = []
    for name, (private_text, shared_text) in NAMESPACES.items():
        try:
            ours = os.readlink(f"{proc}/ns/{name}")
        except FileNotFoundError:
            if not os.path.exists(proc):
                raise
            continue  # a kernel without this kind of namespace
        host = _host_namespace(name)
        private = ours != host
        out.append(Fact("namespaces", f"{name} namespace", "private" if private else
                        "shared with the host", private_text if private else shared_text,
                        "namespaces", Namespace=ours, Host=host, Private=private))
    return out


def _host_namespace(name: str) -> str:
    """The host's namespace of this kind: PID 1's (ours when PID 1 cannot be read)."""
    for pid in ("1", "self"):
        try:
            return os.readlink(f"/proc/{pid}/ns/{name}")
        except OSError:
            continue
    return ""


def _user_mapping(proc: str) -> list[Fact]:
    out = []
    for name, kind in (("uid_map", "user"), ("gid_map", "group")):
        rows = [[int(x) for x in line.split()] for line in _read(f"{proc}/{name}").splitlines()
                if line.strip()]
        text = "; ".join(f"{inside} -> {host} ({size})" for inside, host, size in rows)
        if rows == [[0, 0, 4294967295]]:
            meaning = (f"every {kind} id is the host's own: no user namespace maps them, "
                       f"so {kind} 0 in the container is {kind} 0 on the host")
        else:
            meaning = (f"{kind} ids inside (left) are these host ids (right), for this "
                       f"many ids; an id outside the ranges shows as 65534 (nobody)")
        out.append(Fact("user", name, text, meaning, "user-namespace", Map=rows))
    return out


# ---- cgroups -------------------------------------------------------------------------------

UNLIMITED = {"max", "-1", "9223372036854771712", "9223372036854775807"}
# control file -> (kind, explanation); kind: "limit" or "usage"
CGROUP_FILES: dict[str, tuple[str, str]] = {
    # cgroup v1
    "memory.limit_in_bytes": ("limit", "the most memory (page cache included) its "
                              "processes may use; past it the kernel reclaims, then the OOM "
                              "killer ends one of them (--memory)"),
    "memory.memsw.limit_in_bytes": ("limit", "memory plus swap (--memory-swap)"),
    "memory.soft_limit_in_bytes": ("limit", "reclaimed down to this first when the host "
                                   "runs short (--memory-reservation)"),
    "memory.usage_in_bytes": ("usage", "memory its processes use now"),
    "memory.max_usage_in_bytes": ("usage", "the most memory they have used"),
    "memory.failcnt": ("usage", "how often the limit was hit"),
    "cpu.shares": ("limit", "its weight against other cgroups when CPUs are busy "
                   "(--cpu-shares; 1024 is the default)"),
    "cpu.cfs_quota_us": ("limit", "CPU time it may use per period (--cpus, --cpu-quota)"),
    "cpu.cfs_period_us": ("limit", "the period of that quota, in microseconds"),
    "cpuacct.usage": ("usage", "CPU time its processes have used, in nanoseconds"),
    "cpuset.cpus": ("limit", "the CPUs it may run on (--cpuset-cpus)"),
    "cpuset.mems": ("limit", "the memory nodes it may use (--cpuset-mems)"),
    "pids.max": ("limit", "the most processes and threads it may have (--pids-limit)"),
    "pids.current": ("usage", "processes and threads it has now"),
    "blkio.weight": ("limit", "its share of disk time against other cgroups "
                     "(--blkio-weight)"),
    "freezer.state": ("usage", "THAWED runs; FROZEN is paused (`minidocker pause`)"),
    # cgroup v2
    "memory.max": ("limit", "the most memory its processes may use; past it the OOM "
                   "killer ends one of them (--memory)"),
    "memory.high": ("limit", "past this its processes are throttled and reclaimed hard"),
    "memory.swap.max": ("limit", "the most swap it may use"),
    "memory.current": ("usage", "memory its processes use now"),
    "cpu.max": ("limit", "quota and period: CPU time it may use per period (--cpus)"),
    "cpu.weight": ("limit", "its weight against other cgroups when CPUs are busy"),
    "io.max": ("limit", "bytes and I/O operations per second per device"),
    "io.weight": ("limit", "its share of disk time"),
    "cgroup.freeze": ("usage", "1 when paused (`minidocker pause`)"),
}
CGROUP_NOTE = {
    "devices": "its device rules: which device nodes it may open (devices.list)",
    "name=systemd": "systemd's bookkeeping hierarchy: no limits",
}


def _cgroups(proc: str) -> list[Fact]:
    mounts = _host_cgroup_mounts()
    out = []
    for line in _read(f"{proc}/cgroup").splitlines():
        _, controllers, path = line.split(":", 2)
        key = controllers or "unified"
        base = mounts.get(key)
        if base is None:
            continue
        directory = base + (path if path != "/" else "")
        limits: dict[str, str] = {}
        usage: dict[str, str] = {}
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            names = []
        for name in names:
            kind = CGROUP_FILES.get(name, ("", ""))[0]
            if not kind:
                continue
            try:
                value = _read(os.path.join(directory, name)).strip()
            except OSError:
                continue
            (limits if kind == "limit" else usage)[name] = value
        if not controllers:
            meaning = ("the container's cgroup in the unified (v2) hierarchy" if path != "/"
                       else "no cgroup of its own in the cgroup2 hierarchy of this hybrid "
                       "host: none of its limits live there")
        else:
            meaning = CGROUP_NOTE.get(controllers, f"the cgroup that holds its processes "
                                      f"for the {controllers.replace(',', ', ')} "
                                      f"controller{'s' if ',' in controllers else ''}")
        out.append(Fact("cgroups", key, path, meaning, "cgroups", Path=directory,
                        Limits=limits, Usage=usage))
        for name, value in {**limits, **usage}.items():
            out.append(Fact("cgroups", name, _cgroup_value(name, value),
                            CGROUP_FILES[name][1], "cgroups", File=f"{directory}/{name}",
                            Raw=value, Kind=CGROUP_FILES[name][0]))
    return out


def _host_cgroup_mounts() -> dict[str, str]:
    """controller list as /proc/PID/cgroup names it ("unified" for v2) -> mount point."""
    out: dict[str, str] = {}
    for fields, fstype, _source, super_opts in _mountinfo("/proc/self/mountinfo"):
        if fstype == "cgroup2":
            out.setdefault("unified", fields[4])
        elif fstype == "cgroup":
            opts = [o for o in super_opts.split(",") if o not in ("rw", "ro")
                    and not o.startswith(("release_agent", "clone_children", "xattr",
                                          "noprefix", "cpuset_v2_mode"))]
            out.setdefault(",".join(opts), fields[4])
    return out


BYTES = {"memory.max", "memory.high", "memory.swap.max", "memory.current"}


def _cgroup_value(name: str, value: str) -> str:
    if value in UNLIMITED or value.startswith("max"):
        return f"{value} (unlimited)" if value != "max" else "max (unlimited)"
    if (name.endswith("_in_bytes") or name in BYTES) and value.isdigit():
        return f"{value} ({_size(int(value))})"
    if name == "cpuacct.usage" and value.isdigit():
        return f"{value} ({int(value) / 1e9:.3f} s)"
    return value


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


# ---- mounts --------------------------------------------------------------------------------


def _mountinfo(path: str) -> list[tuple[list[str], str, str, str]]:
    """[(fields before " - ", fs type, source, super options)] of a mountinfo file."""
    from minidocker.runtime.rootfs import unescape_mountinfo
    out = []
    for line in _read(path).splitlines():
        left, _, right = line.partition(" - ")
        fields = [unescape_mountinfo(f) for f in left.split()]
        rest = right.split() + ["", "", ""]
        out.append((fields, rest[0], unescape_mountinfo(rest[1]), unescape_mountinfo(rest[2])))
    return out


def _mounts(proc: str, record: Record) -> list[Fact]:
    out = []
    layers = _LayerNames(record)
    binds: dict[str, str] = {}  # mount id -> target, of bind mounts (and their submounts)
    for fields, fstype, source, super_opts in _mountinfo(f"{proc}/mountinfo"):
        mount_id, parent, root, target, options = fields[0], fields[1], fields[3], \
            fields[4], fields[5]
        readonly = "ro" in options.split(",")
        if parent in binds and target.startswith(binds[parent].rstrip("/") + "/"):
            binds[mount_id] = binds[parent]
            out.append(Fact("mounts", target, f"{fstype} {source} ({options})",
                            f"carried in with the bind mount on {binds[parent]}: a "
                            "recursive bind takes the mounts below its source along",
                            "mounts", Target=target, Type=fstype, Source=source, Root=root,
                            Options=options, SuperOptions=super_opts, ReadOnly=readonly))
            continue
        if root != "/" and fstype not in ("cgroup", "cgroup2", "proc", "devtmpfs"):
            binds[mount_id] = target
        data: dict[str, Any] = {"Target": target, "Type": fstype, "Source": source,
                                "Root": root, "Options": options,
                                "SuperOptions": super_opts, "ReadOnly": readonly}
        meaning = _mount_meaning(target, fstype, root, super_opts, readonly)
        anchor = "masked-and-read-only-paths" if meaning.startswith(("masked", "read-only: "
                                                                     "this part")) \
            else "the-root-filesystem" if target == "/" else "mounts"
        if fstype == "overlay":
            data["Layers"] = layers.of(super_opts)
        where = source if root == "/" else f"{source}:{root}"
        out.append(Fact("mounts", target, f"{fstype} {where} ({options})", meaning,
                        anchor, **data))
    return out


def _mount_meaning(target: str, fstype: str, root: str, super_opts: str,
                   readonly: bool) -> str:
    ro = "read-only: " if readonly else ""
    if target == "/" and fstype == "overlay":
        return ("its root filesystem: overlayfs, the image's layers read-only below "
                "(lowerdir) and the container's own writable layer on top (upperdir)")
    if fstype == "devtmpfs" and root.endswith("/null"):
        return "masked: the host's /dev/null is bound over it, so it reads as empty"
    if fstype == "tmpfs" and readonly and "size=0k" in super_opts:
        return "masked: an empty read-only tmpfs hides what is below"
    if fstype == "proc" and root != "/":
        return "read-only: this part of /proc is bound read-only onto itself, so kernel " \
               "settings cannot be changed through it"
    if fstype in ("cgroup", "cgroup2"):
        return f"{ro}its own cgroup (its cgroup directory {root} seen as the root)" \
            if root != "/" else f"{ro}the root of a cgroup hierarchy it has no cgroup of " \
            "its own in"
    simple = {
        "proc": "its own /proc, which shows the processes of its pid namespace",
        "sysfs": f"{ro}the kernel's /sys",
        "devpts": "its own pseudo-terminals, apart from the host's",
        "mqueue": "its own POSIX message queues (of its ipc namespace)",
    }
    if fstype in simple:
        return simple[fstype]
    if fstype == "tmpfs":
        if target == "/dev":
            return "a private /dev in memory, holding only the device nodes it may use"
        if target == "/dev/shm":
            return "its own shared memory, in memory (--shm-size)"
        if target == "/sys/fs/cgroup":
            return f"{ro}a tmpfs holding one directory per cgroup v1 hierarchy"
        return f"{ro}a filesystem in memory (--tmpfs), gone when the container ends"
    if root != "/":
        return f"{ro}a bind mount of the host's {root} (-v, --mount, or the engine's " \
               "/etc files)"
    article = "an" if fstype[:1] in "aeiou" else "a"
    return f"{ro}{article} {fstype} filesystem mounted into the container"


class _LayerNames:
    """Names of overlay lower dirs: the image and layer each snapshot unpacks."""

    def __init__(self, record: Record):
        self.record = record
        self._names: dict[str, dict[str, Any]] | None = None

    def of(self, super_opts: str) -> list[dict[str, Any]]:
        out = []
        opts = dict(o.partition("=")[::2] for o in super_opts.split(","))
        lowers = [d for d in opts.get("lowerdir", "").split(":") if d]
        for i, path in enumerate(lowers):
            info = self._name(path)
            out.append({"Position": f"lower {i + 1} of {len(lowers)} (topmost first)",
                        "Dir": path, **info})
        if opts.get("upperdir"):
            out.append({"Position": "upper", "Dir": opts["upperdir"],
                        "Description": "the container's own writable layer: its changes "
                        "(`minidocker diff` lists them)"})
        return out

    def _name(self, path: str) -> dict[str, Any]:
        if self._names is None:
            self._names = self._load()
        found = self._names.get(path.rstrip("/").removesuffix("/fs").rsplit("/", 1)[-1])
        if found:
            return found
        ref = (self.record.config.get("Config") or {}).get("Image") or ""
        if path.rstrip("/").endswith("/empty"):
            return {"Description": "an empty lower dir: the image has no layers"}
        return {"Image": ref, "Description": f"the image directory {ref or path} "
                "(an image given as a rootfs directory: one layer, the directory itself)"}

    def _load(self) -> dict[str, dict[str, Any]]:
        """chain id hex -> {Image, Layer, DiffID, Description} for the images of the store
        (the container's own image first)."""
        out: dict[str, dict[str, Any]] = {}
        try:
            from minidocker.image.store import Store
            images = Store(self.record.root).images()
        except (MinidockerError, OSError, ValueError):
            return out
        own = self.record.config.get("Image")
        ref = (self.record.config.get("Config") or {}).get("Image") or ""
        images.sort(key=lambda im: im.id != own)
        for image in images:
            name = ref if image.id == own and ref else \
                (image.repo_tags[0] if image.repo_tags else image.short_id)
            layers = image.layers
            for i, chain in enumerate(image.chain_ids):
                key = chain.removeprefix("sha256:")
                if key in out:
                    continue
                digest = layers[i].get("digest", "") if i < len(layers) else ""
                out[key] = {"Image": name, "Layer": digest, "DiffID": image.diff_ids[i],
                            "Description": f"layer {i + 1} of {len(image.chain_ids)} of "
                            f"image {name} ({digest or image.diff_ids[i]})"}
        return out


# ---- privileges ----------------------------------------------------------------------------


def _status(proc: str) -> dict[str, str]:
    out = {}
    for line in _read(f"{proc}/status").splitlines():
        key, _, value = line.partition(":")
        out[key] = value.strip()
    return out


CAP_SETS = [
    ("CapEff", "effective", "what its processes may do now: the privileges the kernel "
     "checks on each operation"),
    ("CapBnd", "bounding", "the most it can ever gain, even by running a setuid program "
     "or one with file capabilities"),
    ("CapPrm", "permitted", "what it may make effective"),
    ("CapInh", "inheritable", "what may pass through execve to programs that ask for it"),
    ("CapAmb", "ambient", "what passes through execve to any program of a non-root user"),
]


def _capabilities(proc: str) -> list[Fact]:
    from minidocker.linux.capnames import CAPS
    status = _status(proc)
    try:
        last = int(_read("/proc/sys/kernel/cap_last_cap"))
    except (OSError, ValueError):
        last = len(CAPS) - 1

    def names(bits: int) -> list[str]:
        return [CAPS[n] if n < len(CAPS) else f"CAP_{n}" for n in range(last + 1)
                if bits >> n & 1]

    out = []
    bounding: list[str] = []
    for field, name, meaning in CAP_SETS:
        caps = names(int(status.get(field, "0"), 16))
        if name == "bounding":
            bounding = caps
        out.append(Fact("capabilities", name, ", ".join(caps) or "none", meaning,
                        "capabilities", Capabilities=caps, Mask=status.get(field, "")))
    dropped = [c for c in names((1 << (last + 1)) - 1) if c not in bounding]
    out.append(Fact("capabilities", "dropped", ", ".join(dropped) or "none",
                    "what even root in the container can never do (not in the bounding set)",
                    "capabilities", Capabilities=dropped))
    return out


def _security(proc: str) -> list[Fact]:
    status = _status(proc)
    nnp = status.get("NoNewPrivs") == "1"
    mode = {"0": "disabled", "1": "strict", "2": "filter"}.get(status.get("Seccomp", ""),
                                                               "unknown")
    filters = int(status.get("Seccomp_filters", "0") or 0)
    out = [Fact("security", "no_new_privs", "on" if nnp else "off",
                "execve can never raise its privileges: setuid bits and file capabilities "
                "are ignored" if nnp else "a setuid program inside may raise privileges "
                "(up to the bounding set) (--security-opt no-new-privileges turns it on)",
                "no_new_privs", Enabled=nnp)]
    seccomp_text = {
        "filter": f"{'a BPF filter vets' if filters == 1 else f'{filters} BPF filters vet'} "
                  "every system call it makes; a denied call fails (Docker's default "
                  "profile refuses the dangerous ones, such as keyctl, kexec_load or "
                  "open_by_handle_at)",
        "disabled": "no filter: every system call reaches the kernel (--security-opt "
                    "seccomp=unconfined or --privileged)",
        "strict": "only read, write, _exit and sigreturn are allowed",
    }.get(mode, "")
    out.append(Fact("security", "seccomp", mode + (f" ({filters} filter{'s' * (filters > 1)})"
                                                   if mode == "filter" else ""),
                    seccomp_text, "seccomp", Mode=mode, Filters=filters))
    out.append(_lsm(proc))
    return out


def _lsm(proc: str) -> Fact:
    for path in (f"{proc}/attr/apparmor/current", f"{proc}/attr/current"):
        try:
            label = _read(path).strip("\0\n ")
        except FileNotFoundError:
            if not os.path.exists(proc):
                raise
            continue
        except OSError:
            continue
        if label:
            meaning = ("no LSM profile confines it" if label == "unconfined" else
                       "the LSM (AppArmor or SELinux) label the kernel checks its accesses "
                       "against, on top of permissions and capabilities")
            return Fact("security", "LSM label", label, meaning, "lsm", Label=label)
    return Fact("security", "LSM label", "none",
                "no LSM that labels processes (AppArmor, SELinux) is active on this host",
                "lsm", Label="")


# ---- network -------------------------------------------------------------------------------


def _network(proc: str, record: Record) -> list[Fact]:
    ours = os.readlink(f"{proc}/ns/net")
    if ours == _host_namespace("net"):
        return [Fact("network", "network", "the host's",
                     "it shares the host's interfaces, addresses, routes and ports",
                     "network")]
    from minidocker.network.netlink import IFF_UP, Netlink
    out = []

    def read(netns: str | None) -> tuple[Any, Any, Any]:
        with Netlink(netns) as nl:
            return nl.links(), nl.addresses(), nl.route_table()

    from minidocker.linux import userns
    if userns.in_initial():
        links, addresses, routes = read(f"{proc}/ns/net")
    else:  # rootless: no way back into the host's namespace, so a thread goes there
        from minidocker.network import rootless as rootless_net
        links, addresses, routes = rootless_net.call(f"{proc}/ns/net", read, None)
    names = {link.index: link.name for link in links}
    for link in links:
        addrs = [f"{ip}/{plen}" for index, ip, plen in addresses if index == link.index]
        up = bool(link.flags & IFF_UP)
        if link.name == "lo":
            meaning = "loopback: the container's own 127.0.0.1, apart from the host's"
        elif link.kind == "veth":
            meaning = ("one end of a veth pair: the other end is on the host, plugged into "
                       "the network's bridge; the container's traffic goes through it")
        else:
            meaning = f"a network interface{f' ({link.kind})' if link.kind else ''}"
        out.append(Fact("network", link.name, f"{'up' if up else 'down'}, mtu {link.mtu}, "
                        f"{', '.join(addrs) or 'no address'}", meaning, "network",
                        Up=up, Mtu=link.mtu, Mac=link.mac, Addresses=addrs,
                        Kind=link.kind))
    for r in routes:
        dev = names.get(r["oif"], str(r["oif"]))
        text = r["dst"] + (f" via {r['gateway']}" if r["gateway"] else "") + f" dev {dev}"
        meaning = ("where packets to any other address go: the gateway, the bridge on the "
                   "host, which masquerades them" if r["dst"] == "default" else
                   "addresses on this link, reached directly")
        out.append(Fact("network", "route", text, meaning, "network", Destination=r["dst"],
                        Gateway=r["gateway"], Device=dev))
    out += _published_ports(record)
    return out


def _published_ports(record: Record) -> list[Fact]:
    """The DNAT rules the kernel holds for this container (nftables, our table)."""
    try:
        from minidocker.network.nat import Firewall
        from minidocker.network.store import Store
        rules = Firewall(Store(record.root).nft_table()).rules()
    except (MinidockerError, OSError):
        return []
    out = []
    for rule in rules:
        parts = str(rule.get("comment", "")).split(" ")
        if len(parts) != 4 or parts[:2] != ["md", "port"] or parts[3] != record.id:
            continue
        host_ip, proto, host_port, addr, port = "0.0.0.0", "", 0, "", 0
        for expr in rule.get("expr") or []:
            match = expr.get("match")
            if match:
                payload = (match.get("left") or {}).get("payload") or {}
                if payload.get("field") == "daddr":
                    host_ip = str(match.get("right"))
                elif payload.get("field") == "dport":
                    proto, host_port = str(payload.get("protocol")), int(match["right"])
            dnat = expr.get("dnat")
            if dnat:
                addr, port = str(dnat.get("addr", "")), int(dnat.get("port", 0))
        out.append(Fact("network", "published port",
                        f"{host_ip}:{host_port} -> {addr}:{port}/{proto}",
                        f"the host's nftables rewrite connections to {host_ip}:{host_port} "
                        f"to the container's {addr}:{port} (DNAT, -p)", "published-ports",
                        HostIp=host_ip, HostPort=host_port, ContainerIp=addr,
                        ContainerPort=port, Protocol=proto))
    return out

