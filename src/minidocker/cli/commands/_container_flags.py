"""The flags shared by `run` and `create`, and their translation to the engine's options
(Docker's create body: Image, Cmd, Env, ..., HostConfig). The values are checked by the
service layer (engine/service/validate.py), before anything is created; here only what
needs the caller: files named by flags, the caller's environment."""

from __future__ import annotations

import os

from minidocker.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import SimpleNamespace
    from typing import Any

    from minidocker.cli.flags import Flag, Spec

# Docker's run/create flags (cli/flags.py's tuples; Docker's help texts), those this
# engine has: tests/unit/cli/test_docker_flags.py lists the others and why.
RUN_FLAGS: tuple[Flag, ...] = (
    ("d", "detach", "bool", "Run container in background and print container ID"),
    ("", "detach-keys", "string", "Override the key sequence for detaching a container"),
    ("", "sig-proxy", "bool", "Proxy received signals to the process", {"default": True}),
)
CREATE_FLAGS: tuple[Flag, ...] = (
    ("", "add-host", "list", "Add a custom host-to-IP mapping (host:ip)"),
    ("a", "attach", "list", "Attach to STDIN, STDOUT or STDERR",
     {"complete": ("STDIN", "STDOUT", "STDERR")}),
    ("", "blkio-weight", "uint16", "Block IO (relative weight), between 10 and 1000, or 0 "
     "to disable (default 0)"),
    ("", "blkio-weight-device", "list", "Block IO weight (relative device weight)"),
    ("", "cap-add", "list", "Add Linux capabilities", {"complete": "capability"}),
    ("", "cap-drop", "list", "Drop Linux capabilities", {"complete": "capability"}),
    ("", "cgroup-parent", "string", "Optional parent cgroup for the container"),
    ("", "cgroupns", "string", "Cgroup namespace to use (host|private)",
     {"complete": ("host", "private")}),
    ("", "cidfile", "string", "Write the container ID to the file", {"complete": "file"}),
    ("", "cpu-period", "int", "Limit CPU CFS (Completely Fair Scheduler) period"),
    ("", "cpu-quota", "int", "Limit CPU CFS (Completely Fair Scheduler) quota"),
    ("", "cpu-rt-period", "int", "Limit CPU real-time period in microseconds"),
    ("", "cpu-rt-runtime", "int", "Limit CPU real-time runtime in microseconds"),
    ("c", "cpu-shares", "int", "CPU shares (relative weight)"),
    ("", "cpus", "decimal", "Number of CPUs"),
    ("", "cpuset-cpus", "string", "CPUs in which to allow execution (0-3, 0,1)"),
    ("", "cpuset-mems", "string", "MEMs in which to allow execution (0-3, 0,1)"),
    ("", "device", "list", "Add a host device to the container", {"complete": "file"}),
    ("", "device-cgroup-rule", "list", "Add a rule to the cgroup allowed devices list"),
    ("", "device-read-bps", "list", "Limit read rate (bytes per second) from a device"),
    ("", "device-read-iops", "list", "Limit read rate (IO per second) from a device"),
    ("", "device-write-bps", "list", "Limit write rate (bytes per second) to a device"),
    ("", "device-write-iops", "list", "Limit write rate (IO per second) to a device"),
    ("", "disable-content-trust", "bool", "Skip image verification (minidocker verifies "
     "no signatures)", {"default": True}),
    ("", "dns", "list", "Set custom DNS servers"),
    ("", "dns-option", "list", "Set DNS options"),
    ("", "dns-search", "list", "Set custom DNS search domains"),
    ("", "domainname", "string", "Container NIS domain name"),
    ("", "entrypoint", "string", "Overwrite the default ENTRYPOINT of the image"),
    ("e", "env", "list", "Set environment variables", {"check": "env_item"}),
    ("", "env-file", "list", "Read in a file of environment variables", {"complete": "file"}),
    ("", "expose", "list", "Expose a port or a range of ports"),
    ("", "group-add", "list", "Add additional groups to join"),
    ("", "health-cmd", "string", "Command to run to check health"),
    ("", "health-interval", "duration", "Time between running the check (ms|s|m|h) "
     "(default 0s)"),
    ("", "health-retries", "int", "Consecutive failures needed to report unhealthy"),
    ("", "health-start-period", "duration", "Start period for the container to initialize "
     "before starting health-retries countdown (ms|s|m|h) (default 0s)"),
    ("", "health-timeout", "duration", "Maximum time to allow one check to run (ms|s|m|h) "
     "(default 0s)"),
    ("h", "hostname", "string", "Container host name"),
    ("", "init", "bool", "Run an init inside the container that forwards signals and reaps "
     "processes"),
    ("i", "interactive", "bool", "Keep STDIN open even if not attached"),
    ("", "ip", "string", "IPv4 address (e.g., 172.30.100.104)"),
    ("", "ipc", "string", "IPC mode to use",
     {"complete": ("private", "shareable", "none", "host", "container:")}),
    ("", "isolation", "string", "Container isolation technology", {"complete": ("default",)}),
    ("", "kernel-memory", "bytes", "Kernel memory limit"),
    ("l", "label", "list", "Set meta data on a container", {"check": "env_item"}),
    ("", "label-file", "list", "Read in a line delimited file of labels",
     {"complete": "file"}),
    ("", "log-driver", "string", "Logging driver for the container",
     {"complete": ("json-file", "none")}),
    ("", "log-opt", "list", "Log driver options"),
    ("", "mac-address", "string", "Container MAC address (e.g., 92:d0:c6:0a:29:33)"),
    ("m", "memory", "bytes", "Memory limit"),
    ("", "memory-reservation", "bytes", "Memory soft limit"),
    ("", "memory-swap", "bytes", "Swap limit equal to memory plus swap: '-1' to enable "
     "unlimited swap", {"unlimited": True}),
    ("", "memory-swappiness", "int", "Tune container memory swappiness (0 to 100)",
     {"default": -1}),
    ("", "mount", "mount", "Attach a filesystem mount to the container"),
    ("", "name", "string", "Assign a name to the container"),
    ("", "net", "network", "Connect a container to a network",
     {"dest": "network", "hidden": True, "complete": "network"}),
    ("", "net-alias", "list", "Add network-scoped alias for the container",
     {"dest": "network_alias", "hidden": True}),
    ("", "network", "network", "Connect a container to a network", {"complete": "network"}),
    ("", "network-alias", "list", "Add network-scoped alias for the container"),
    ("", "no-healthcheck", "bool", "Disable any container-specified HEALTHCHECK"),
    ("", "oom-kill-disable", "bool", "Disable OOM Killer"),
    ("", "oom-score-adj", "int", "Tune host's OOM preferences (-1000 to 1000)"),
    ("", "pid", "string", "PID namespace to use", {"complete": ("host", "container:")}),
    ("", "pids-limit", "int", "Tune container pids limit (set -1 for unlimited)"),
    ("", "platform", "string", "Set platform if server is multi-platform capable"),
    ("", "privileged", "bool", "Give extended privileges to this container"),
    ("p", "publish", "list", "Publish a container's port(s) to the host"),
    ("P", "publish-all", "bool", "Publish all exposed ports to random ports"),
    ("", "pull", "string", 'Pull image before running ("always"|"missing"|"never")',
     {"default": "missing", "complete": ("always", "missing", "never")}),
    ("", "read-only", "bool", "Mount the container's root filesystem as read only"),
    ("", "restart", "string", "Restart policy to apply when a container exits",
     {"default": "no", "complete": ("no", "on-failure", "always", "unless-stopped")}),
    ("", "rm", "bool", "Automatically remove the container when it exits"),
    ("", "runtime", "string", "Runtime to use for this container (a name, or the path of a "
     "runc-compatible program)", {"complete": ("minidocker", "runc", "crun")}),
    ("", "security-opt", "list", "Security Options"),
    ("", "shm-size", "bytes", "Size of /dev/shm"),
    ("", "stop-signal", "string", "Signal to stop a container",
     {"help_default": "SIGTERM", "complete": "signal"}),
    ("", "stop-timeout", "int", "Timeout (in seconds) to stop a container"),
    ("", "storage-opt", "list", "Storage driver options for the container"),
    ("", "sysctl", "map", "Sysctl options", {"check": "sysctl_item"}),
    ("", "tmpfs", "list", "Mount a tmpfs directory"),
    ("", "trace", "string", "Append each step the start takes to FILE as trace-event JSON "
     "(minidocker trace show FILE)", {"complete": "file"}),
    ("t", "tty", "bool", "Allocate a pseudo-TTY"),
    ("", "ulimit", "ulimit", "Ulimit options"),
    ("u", "user", "string", "Username or UID (format: <name|uid>[:<group|gid>])"),
    ("", "userns", "string", "User namespace to use: host, or keep-id (rootless: your own "
     "uid and gid inside, files of volumes keep their owner)",
     {"complete": ("host", "keep-id")}),
    ("", "uts", "string", "UTS namespace to use", {"complete": ("host",)}),
    ("v", "volume", "list", "Bind mount a volume"),
    ("", "volume-driver", "string", "Optional volume driver for the container",
     {"complete": ("local",)}),
    ("", "volumes-from", "list", "Mount volumes from the specified container(s)",
     {"complete": "container"}),
    ("w", "workdir", "string", "Working directory inside the container"),
)
CREATE_USAGE = "[OPTIONS] IMAGE [COMMAND] [ARG...]"


def spec(flags: tuple[Flag, ...]) -> Spec:
    """run's and create's Spec: the flags end at IMAGE (the rest is the command's)."""
    from minidocker.cli.flags import Spec
    return Spec(CREATE_USAGE, _checked(flags), (("image", 1), ("command", "...")),
                interspersed=False)


def _checked(flags: tuple[Flag, ...]) -> tuple[Flag, ...]:
    """The flags, their "check" made the service layer's check of the same value (so that
    a flag's error and the API's agree)."""
    out = []
    for flag in flags:
        check = flag[4].get("check") if len(flag) > 4 else None
        if isinstance(check, str):
            flag = (*flag[:4], {**flag[4], "check": _check(check)})
        out.append(flag)
    return tuple(out)


def _check(name: str) -> Any:
    def check(value: str) -> None:
        from minidocker.engine.service import validate
        getattr(validate, name)(value)
    return check


def _kv_file(path: str, what: str) -> list[str]:
    """Docker's env and label files: KEY=VALUE lines, # comments, blank lines; a KEY
    alone takes our environment's value (dropped when unset)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise UsageError(f"open {path}: {e.strerror.lower() if e.strerror else e}")
    out = []
    for number, raw in enumerate(data.split(b"\n"), 1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise UsageError(f"{what} file {path} contains invalid utf8 bytes at line "
                             f"{number}: {raw!r}") from None
        if "\0" in text:
            raise UsageError(f"{what} file {path} contains a NUL byte at line {number}")
        line = text.lstrip().rstrip("\r")
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.lstrip()
        if not key:
            raise UsageError(f"invalid {what} file {path}: no variable name on line "
                             f"'{line}'")
        if any(c.isspace() for c in key):
            raise UsageError(f"invalid {what} file {path}: variable '{key}' contains "
                             "whitespaces")
        if sep:
            out.append(f"{key}={value}")
        elif key in os.environ:
            out.append(f"{key}={os.environ[key]}")
    return out


def _env(items: list[str]) -> list[str]:
    """-e NAME takes our value of NAME (Docker's CLI does; unset: NAME stays alone)."""
    return [item if "=" in item or item not in os.environ else f"{item}={os.environ[item]}"
            for item in items]


def _restart(text: str) -> dict[str, Any]:
    name, _, count = text.partition(":")
    try:
        retries = int(count) if count else 0
    except ValueError:
        raise UsageError(f"invalid restart policy format: maximum retry count must be an "
                         f"integer: {text}") from None
    return {"Name": name, "MaximumRetryCount": retries}


class CidFile:
    """--cidfile: the file is created before the container (Docker refuses one that
    exists: another container may be running), the id written once it is created, the
    file removed if that fails."""

    def __init__(self, path: str | None):
        self.path = path
        self.fd = -1
        if not path:
            return
        try:
            self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC,
                              0o644)
        except FileExistsError:
            raise UsageError("container ID file found, make sure the other container "
                             f"isn't running or delete {path}") from None
        except OSError as e:
            raise UsageError(f"failed to create the container ID file: {e.strerror}") \
                from None

    def write(self, cid: str) -> None:
        if self.fd >= 0:
            os.write(self.fd, cid.encode())
            os.close(self.fd)
            self.fd = -1

    def discard(self) -> None:
        if self.fd >= 0 and self.path:
            os.close(self.fd)
            self.fd = -1
            os.unlink(self.path)


def options_from(args: SimpleNamespace, detach: bool) -> dict[str, Any]:
    """The flags as Docker's create body (what the Docker CLI sends to the daemon): the
    service layer validates and completes it. Here only what needs the caller: the
    environment of -e NAME and --env-file, files named by flags."""
    from minidocker.engine import health, logs, volumes
    env: list[str] = []
    for path in args.env_file:
        env += _kv_file(path, "env")
    env += _env(args.env)
    labels: dict[str, str] = {}
    for item in [line for path in args.label_file for line in _kv_file(path, "label")] + \
            _env(args.label):
        key, _, value = item.partition("=")
        labels[key] = value
    host: dict[str, Any] = {
        "AutoRemove": bool(args.rm),
        "Privileged": bool(args.privileged),
        "ReadonlyRootfs": bool(args.read_only),
        "CapAdd": list(args.cap_add),
        "CapDrop": list(args.cap_drop),
        "SecurityOpt": list(args.security_opt),
        "NetworkMode": args.network or "bridge",
        "PublishAllPorts": bool(args.publish_all),
        "Dns": list(args.dns),
        "DnsSearch": list(args.dns_search),
        "DnsOptions": list(args.dns_option),
        "RestartPolicy": _restart(args.restart),
        "Init": bool(args.init),
        "Runtime": args.runtime or "",
        "Binds": list(args.volume),
        "Mounts": [volumes.parse_mount(m) for m in args.mount],
        "Tmpfs": {t.partition(":")[0]: t.partition(":")[2] for t in args.tmpfs},
        "Ulimits": list(args.ulimit),
        "ExtraHosts": list(args.add_host),
        "PortBindings": list(args.publish),
        "Sysctls": dict(args.sysctl),
        "Memory": args.memory or 0,
        "MemorySwap": args.memory_swap or 0,
        "NanoCpus": args.cpus or 0,
        "CpuShares": args.cpu_shares or 0,
        "CpusetCpus": args.cpuset_cpus or "",
        "PidsLimit": args.pids_limit if args.pids_limit and args.pids_limit > 0 else None,
        "OomScoreAdj": args.oom_score_adj or 0,
        "LogConfig": logs.parse_config(args.log_driver, args.log_opt),
        "BlkioWeight": args.blkio_weight or 0,
        "BlkioWeightDevice": [{"Path": p, "Weight": n} for p, n in
                              _device_values(args.blkio_weight_device, "weight")],
        "BlkioDeviceReadBps": _rates(args.device_read_bps, True),
        "BlkioDeviceWriteBps": _rates(args.device_write_bps, True),
        "BlkioDeviceReadIOps": _rates(args.device_read_iops, False),
        "BlkioDeviceWriteIOps": _rates(args.device_write_iops, False),
        "CgroupParent": args.cgroup_parent or "",
        "CgroupnsMode": args.cgroupns or "",
        "CpuPeriod": args.cpu_period or 0,
        "CpuQuota": args.cpu_quota or 0,
        "CpuRealtimePeriod": args.cpu_rt_period or 0,
        "CpuRealtimeRuntime": args.cpu_rt_runtime or 0,
        "CpusetMems": args.cpuset_mems or "",
        "Devices": [_device(d) for d in args.device],
        "DeviceCgroupRules": list(args.device_cgroup_rule),
        "GroupAdd": list(args.group_add),
        "IpcMode": args.ipc or "",
        "Isolation": args.isolation or "",
        "KernelMemory": args.kernel_memory or 0,
        "MemoryReservation": args.memory_reservation or 0,
        "MemorySwappiness": None if args.memory_swappiness == -1 else args.memory_swappiness,
        "OomKillDisable": bool(args.oom_kill_disable),
        "PidMode": args.pid or "",
        "ShmSize": args.shm_size or 0,
        "StorageOpt": dict(o.partition("=")[::2] for o in args.storage_opt),
        "UTSMode": args.uts or "",
        "VolumeDriver": args.volume_driver or "",
        "VolumesFrom": list(args.volumes_from),
    }
    if args.userns:
        host["UsernsMode"] = args.userns
    command = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    options: dict[str, Any] = {
        "Image": args.image,
        "Name": args.name,
        "Cmd": command or None,
        "Entrypoint": None if args.entrypoint is None else
        ([args.entrypoint] if args.entrypoint else []),
        "Env": env,
        "WorkingDir": args.workdir,
        "User": args.user,
        "Hostname": args.hostname,
        "Tty": bool(args.tty),
        "OpenStdin": bool(args.interactive),
        "AttachStdin": bool(args.interactive) and not detach,
        "AttachStdout": not detach,
        "AttachStderr": not detach,
        "Labels": labels,
        "Domainname": args.domainname or "",
        "ExposedPorts": _exposed(args.expose),
        "StopSignal": args.stop_signal,
        "Healthcheck": health.config_from_flags(
            args.health_cmd, args.health_interval, args.health_timeout,
            args.health_start_period, args.health_retries, args.no_healthcheck),
        "StopTimeout": args.stop_timeout,
        "HostConfig": host,
    }
    endpoint = _endpoint(args)
    if endpoint:
        options["NetworkingConfig"] = {"EndpointsConfig": {host["NetworkMode"]: endpoint}}
    return options


def _device(text: str) -> dict[str, str]:
    """--device SRC[:DST][:PERMISSIONS] (Docker's parseDevice)."""
    parts = text.split(":")
    permissions = "rwm"
    if len(parts) > 1 and parts[-1] and set(parts[-1]) <= set("rwm") and \
            not parts[-1].startswith("/"):
        permissions = parts.pop()
    if len(parts) > 2 or not parts[0]:
        raise UsageError(f"invalid device specification: {text}")
    source = parts[0]
    return {"PathOnHost": source, "PathInContainer": parts[1] if len(parts) > 1 else source,
            "CgroupPermissions": permissions}


def _device_values(items: list[str], what: str) -> list[tuple[str, int]]:
    out = []
    for item in items:
        path, sep, value = item.rpartition(":")
        if not sep or not path.startswith("/"):
            raise UsageError(f"bad format for device {what}: {item}: use <device-path>:<number>")
        try:
            out.append((path, int(value)))
        except ValueError:
            raise UsageError(f"invalid {what} for device: {item}") from None
    return out


def _rates(items: list[str], in_bytes: bool) -> list[dict[str, Any]]:
    """--device-read-bps /dev/sda:1mb (a size), --device-read-iops /dev/sda:1000."""
    from minidocker.units import ram_in_bytes
    out = []
    for item in items:
        path, sep, value = item.rpartition(":")
        if not sep or not path.startswith("/"):
            raise UsageError(f"bad format: {item}: use <device-path>:<number>[<unit>]")
        try:
            rate = ram_in_bytes(value) if in_bytes else int(value)
        except ValueError:
            raise UsageError(f"invalid rate for device: {item}. The correct format is "
                             "<device-path>:<number>[<unit>]. Number must be a positive "
                             "integer. Unit is optional and can be kb, mb, or gb") from None
        out.append({"Path": path, "Rate": rate})
    return out


def _exposed(items: list[str]) -> dict[str, dict[str, Any]]:
    """--expose 80, 80/udp, 8000-8010/tcp: Config.ExposedPorts."""
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        ports, _, proto = item.partition("/")
        proto = proto or "tcp"
        first, dash, last = ports.partition("-")
        try:
            low = int(first)
            high = int(last) if dash else low
        except ValueError:
            bad = last if dash and first.isdigit() else first
            raise UsageError(f"invalid range format for --expose: {item}, error: "
                             f'strconv.ParseUint: parsing "{bad}": invalid syntax') from None
        if proto not in ("tcp", "udp", "sctp") or not 0 < low <= high <= 65535:
            raise UsageError(f"invalid range format for --expose: {item}")
        for port in range(low, high + 1):
            out[f"{port}/{proto}"] = {}
    return out


def _endpoint(args: SimpleNamespace) -> dict[str, Any]:
    """--ip, --mac-address, --network-alias: the network's EndpointsConfig entry."""
    endpoint: dict[str, Any] = {}
    if args.network_alias:
        endpoint["Aliases"] = list(args.network_alias)
    if args.ip:
        endpoint["IPAMConfig"] = {"IPv4Address": args.ip}
    if args.mac_address:
        endpoint["MacAddress"] = args.mac_address
    return endpoint
