"""The flags shared by `run` and `create`, and their translation to the engine's options
(Docker's create body: Image, Cmd, Env, ..., HostConfig)."""

from __future__ import annotations

import os

from minidocker.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from types import SimpleNamespace
    from typing import Any

# (option strings, kind, help[, default]): kind "bool" is store_true, "list" append,
# "str" a value, "int" a value through int(). argparse gets them from here (the order is
# the help's) and so does parse_fast.
RUN_FLAGS: tuple[tuple[Any, ...], ...] = (
    (("-d", "--detach"), "bool", "run in the background and print the container ID"),
    (("-a", "--attach"), "list", "attach to STDIN, STDOUT or STDERR"),
)
CREATE_FLAGS: tuple[tuple[Any, ...], ...] = (
    (("-i", "--interactive"), "bool", "keep STDIN open"),
    (("-t", "--tty"), "bool", "allocate a pseudo-TTY"),
    (("--name",), "str", "assign a name to the container"),
    (("-e", "--env"), "list", "set environment variables"),
    (("--env-file",), "list", "read in a file of environment variables"),
    (("-w", "--workdir"), "str", "working directory inside the container"),
    (("-u", "--user"), "str", "username or UID (format: <name|uid>[:<group|gid>])"),
    (("-v", "--volume"), "list", "bind mount a volume"),
    (("--mount",), "list", "attach a filesystem mount"),
    (("--tmpfs",), "list", "mount a tmpfs directory"),
    (("-h", "--hostname"), "str", "container host name"),
    (("--entrypoint",), "str", "overwrite the default ENTRYPOINT of the image"),
    (("--read-only",), "bool", "mount the container's root filesystem read-only"),
    (("--init",), "bool", "run an init inside the container"),
    (("-m", "--memory"), "str", "memory limit"),
    (("--memory-swap",), "str", "memory + swap limit (-1: unlimited swap)"),
    (("--cpus",), "str", "number of CPUs"),
    (("--cpu-shares", "-c"), "int", "CPU shares (relative weight)"),
    (("--cpuset-cpus",), "str", "CPUs in which to allow execution (0-3, 0,1)"),
    (("--pids-limit",), "int", "tune container pids limit (-1 for unlimited)"),
    (("--ulimit",), "list", "ulimit options"),
    (("--cap-add",), "list", "add Linux capabilities"),
    (("--cap-drop",), "list", "drop Linux capabilities"),
    (("--privileged",), "bool", "give extended privileges"),
    (("--security-opt",), "list", "security options"),
    (("--network", "--net"), "str", "connect a container to a network"),
    (("-p", "--publish"), "list", "publish a container's port"),
    (("--add-host",), "list", "add a custom host-to-IP mapping"),
    (("-P", "--publish-all"), "bool", "publish all exposed ports to random ports"),
    (("--network-alias",), "list", "add network-scoped alias"),
    (("--ip",), "str", "IPv4 address (e.g., 172.30.100.104)"),
    (("--mac-address",), "str", "container MAC address (e.g., 92:d0:c6:0a:29:33)"),
    (("--dns",), "list", "set custom DNS servers"),
    (("--dns-search",), "list", "set custom DNS search domains"),
    (("--dns-option",), "list", "set DNS options"),
    (("--restart",), "str", "restart policy (no, on-failure[:N], always, unless-stopped)",
     "no"),
    (("--trace",), "str", "append each step the start takes to FILE as trace-event JSON "
     "(minidocker trace show FILE)"),
    (("--rm",), "bool", "remove the container when it exits"),
    (("--stop-signal",), "str", "signal to stop the container"),
    (("--stop-timeout",), "int", "timeout (in seconds) to stop a container"),
    (("-l", "--label"), "list", "set meta data on a container"),
    (("--runtime",), "str", "runtime to use for this container (name or path)"),
    (("--sysctl",), "list", "sysctl options"),
    (("--oom-score-adj",), "int", "tune host's OOM preferences (-1000 to 1000)"),
    (("--health-cmd",), "str", "command to run to check health"),
    (("--health-interval",), "str", "time between running the check (ms|s|m|h) (default 30s)"),
    (("--health-timeout",), "str", "maximum time to allow one check to run (default 30s)"),
    (("--health-start-period",), "str", "start period for the container to initialize "
     "before starting health-retries countdown (default 0s)"),
    (("--health-retries",), "int", "consecutive failures needed to report unhealthy"),
    (("--no-healthcheck",), "bool", "disable any container-specified HEALTHCHECK"),
    (("--log-driver",), "str", "logging driver for the container (json-file, none)"),
    (("--log-opt",), "list", "log driver options (json-file: max-size=10m, max-file=3)"),
)


def add_flags(p: argparse.ArgumentParser, flags: tuple[tuple[Any, ...], ...]) -> None:
    for names, kind, help_text, *default in flags:
        kw: dict[str, Any] = {"help": help_text}
        if kind == "bool":
            kw["action"] = "store_true"
        elif kind == "list":
            kw.update(action="append", default=[])
        elif kind == "int":
            kw["type"] = int
        if default:
            kw["default"] = default[0]
        p.add_argument(*names, **kw)


def add_create_arguments(p: argparse.ArgumentParser) -> None:
    import argparse
    p.conflict_handler = "resolve"  # Docker's -h is --hostname; --help stays
    p._optionals.conflict_handler = "resolve"
    add_flags(p, CREATE_FLAGS)
    p.add_argument("image", metavar="IMAGE")
    p.add_argument("command", nargs=argparse.REMAINDER, metavar="COMMAND")


def parse_fast(argv: list[str], flags: tuple[tuple[Any, ...], ...]) -> SimpleNamespace | None:
    """What argparse would make of `argv` (options, IMAGE, COMMAND...), for the plain
    cases only: exact option names, `--opt=value`, `-opt value` whose value does not
    start with '-', clusters of short switches (-it). Anything else (--help, abbreviations,
    `--`, values like -1, a missing IMAGE, a bad number) is None: argparse decides, and
    words any error. argparse's import and set-up cost ~5 ms on every `run`."""
    values: dict[str, Any] = {}
    kinds: dict[str, tuple[str, str]] = {}
    for names, kind, _help, *default in flags:
        dest = next(n for n in names if n.startswith("--"))[2:].replace("-", "_")
        values[dest] = False if kind == "bool" else [] if kind == "list" else \
            (default[0] if default else None)
        for name in names:
            kinds[name] = (dest, kind)
    i, n = 0, len(argv)
    while i < n:
        arg = argv[i]
        if not arg.startswith("-"):
            break  # IMAGE: the rest is COMMAND
        name, eq, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        spec = kinds.get(name)
        if spec is None:  # a cluster of short switches (-it), or not for us
            if eq or len(arg) < 3 or arg[1] == "-":
                return None
            for c in arg[1:]:
                switch = kinds.get("-" + c)
                if switch is None or switch[1] != "bool":
                    return None
                values[switch[0]] = True
            i += 1
            continue
        dest, kind = spec
        i += 1
        if kind == "bool":
            if eq:
                return None
            values[dest] = True
            continue
        if not eq:
            if i >= n or argv[i].startswith("-"):
                return None
            value = argv[i]
            i += 1
        if kind == "list":
            values[dest].append(value)
        elif kind == "int":
            try:
                values[dest] = int(value)
            except ValueError:
                return None
        else:
            values[dest] = value
    if i >= n:
        return None
    values["image"] = argv[i]
    values["command"] = argv[i + 1:]
    from types import SimpleNamespace
    return SimpleNamespace(**values)


def _pairs(items: list[str], what: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not key:
            raise UsageError(f"invalid {what}: {item!r}")
        out[key] = value
    return out


def _env_file(path: str) -> list[str]:
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise UsageError(f"open {path}: {e.strerror}")
    out = []
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, _ = line.partition("=")
        out.append(line if sep else f"{key}={os.environ.get(key, '')}")
    return out


def _restart(text: str) -> dict[str, Any]:
    name, _, count = text.partition(":")
    if name not in ("no", "always", "unless-stopped", "on-failure"):
        raise UsageError(f"invalid restart policy {text!r}")
    if count and (name != "on-failure" or not count.isdigit()):
        raise UsageError(f"invalid restart policy {text!r}: only on-failure takes a "
                         "maximum retry count")
    return {"Name": name, "MaximumRetryCount": int(count or 0)}


def options_from(args: argparse.Namespace, detach: bool) -> dict[str, Any]:
    """The flags as Docker's create body (what the Docker CLI sends to the daemon): the
    service layer validates and completes it. Here only what needs the caller: the
    environment of -e NAME and --env-file, files named by flags."""
    from minidocker.engine import bundle, health, logs, volumes
    env: list[str] = []
    for path in args.env_file:
        env += _env_file(path)
    for item in args.env:
        env.append(item if "=" in item else f"{item}={os.environ.get(item, '')}"
                   if item in os.environ else item)
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
        "Ulimits": [bundle.parse_ulimit(u) for u in args.ulimit],
        "ExtraHosts": list(args.add_host),
        "PortBindings": list(args.publish),
        "Sysctls": _pairs(args.sysctl, "sysctl"),
        "Memory": bundle.parse_bytes(args.memory) if args.memory else 0,
        "MemorySwap": (-1 if args.memory_swap == "-1" else bundle.parse_bytes(args.memory_swap))
        if args.memory_swap else 0,
        "NanoCpus": int(float(args.cpus) * 1e9) if args.cpus else 0,
        "CpuShares": args.cpu_shares or 0,
        "CpusetCpus": args.cpuset_cpus or "",
        "PidsLimit": args.pids_limit if args.pids_limit and args.pids_limit > 0 else None,
        "OomScoreAdj": args.oom_score_adj or 0,
        "LogConfig": logs.parse_config(args.log_driver, args.log_opt),
    }
    if host["AutoRemove"] and host["RestartPolicy"]["Name"] != "no":
        raise UsageError("conflicting options: cannot specify both --restart and --rm")
    if host["MemorySwap"] and host["MemorySwap"] > 0 and host["Memory"] and \
            host["MemorySwap"] < host["Memory"]:
        raise UsageError("minimum memoryswap limit should be larger than memory limit")
    if args.cpus:
        try:
            float(args.cpus)
        except ValueError:
            raise UsageError(f"invalid --cpus {args.cpus!r}")
    command = list(args.command)
    if command and command[0] == "--":
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
        "Labels": _pairs(args.label, "label"),
        "StopSignal": args.stop_signal,
        "Healthcheck": health.config_from_flags(
            args.health_cmd, args.health_interval, args.health_timeout,
            args.health_start_period, args.health_retries, args.no_healthcheck),
        "StopTimeout": args.stop_timeout,
        "HostConfig": host,
    }
    if args.stop_signal:
        from minidocker.runtime.operations import parse_signal
        parse_signal(args.stop_signal)
    endpoint = _endpoint(args)
    if endpoint:
        options["NetworkingConfig"] = {"EndpointsConfig": {host["NetworkMode"]: endpoint}}
    return options


def _endpoint(args: argparse.Namespace) -> dict[str, Any]:
    """--ip, --mac-address, --network-alias: the network's EndpointsConfig entry."""
    endpoint: dict[str, Any] = {}
    if args.network_alias:
        endpoint["Aliases"] = list(args.network_alias)
    if args.ip:
        endpoint["IPAMConfig"] = {"IPv4Address": args.ip}
    if args.mac_address:
        mac = args.mac_address.lower()
        if len(mac) != 17 or any(len(b) != 2 or not all(c in "0123456789abcdef" for c in b)
                                 for b in mac.split(":")):
            raise UsageError(f"invalid --mac-address {args.mac_address!r}")
        endpoint["MacAddress"] = mac
    return endpoint
