"""The flags shared by `run` and `create`, and their translation to the engine's options
(Docker's create body: Image, Cmd, Env, ..., HostConfig)."""

from __future__ import annotations

import argparse
import os

from minidocker.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def add_create_arguments(p: argparse.ArgumentParser) -> None:
    p.conflict_handler = "resolve"  # Docker's -h is --hostname; --help stays
    p._optionals.conflict_handler = "resolve"
    a = p.add_argument
    a("-i", "--interactive", action="store_true", help="keep STDIN open")
    a("-t", "--tty", action="store_true", help="allocate a pseudo-TTY")
    a("--name", help="assign a name to the container")
    a("-e", "--env", action="append", default=[], help="set environment variables")
    a("--env-file", action="append", default=[], help="read in a file of environment variables")
    a("-w", "--workdir", help="working directory inside the container")
    a("-u", "--user", help="username or UID (format: <name|uid>[:<group|gid>])")
    a("-v", "--volume", action="append", default=[], help="bind mount a volume")
    a("--mount", action="append", default=[], help="attach a filesystem mount")
    a("--tmpfs", action="append", default=[], help="mount a tmpfs directory")
    a("-h", "--hostname", help="container host name")
    a("--entrypoint", help="overwrite the default ENTRYPOINT of the image")
    a("--read-only", action="store_true", help="mount the container's root filesystem read-only")
    a("--init", action="store_true", help="run an init inside the container")
    a("-m", "--memory", help="memory limit")
    a("--memory-swap", help="memory + swap limit (-1: unlimited swap)")
    a("--cpus", help="number of CPUs")
    a("--cpu-shares", "-c", type=int, help="CPU shares (relative weight)")
    a("--cpuset-cpus", help="CPUs in which to allow execution (0-3, 0,1)")
    a("--pids-limit", type=int, help="tune container pids limit (-1 for unlimited)")
    a("--ulimit", action="append", default=[], help="ulimit options")
    a("--cap-add", action="append", default=[], help="add Linux capabilities")
    a("--cap-drop", action="append", default=[], help="drop Linux capabilities")
    a("--privileged", action="store_true", help="give extended privileges")
    a("--security-opt", action="append", default=[], help="security options")
    a("--network", "--net", default=None, help="connect a container to a network")
    a("-p", "--publish", action="append", default=[], help="publish a container's port")
    a("--add-host", action="append", default=[], help="add a custom host-to-IP mapping")
    a("-P", "--publish-all", action="store_true",
      help="publish all exposed ports to random ports")
    a("--network-alias", action="append", default=[], help="add network-scoped alias")
    a("--ip", help="IPv4 address (e.g., 172.30.100.104)")
    a("--mac-address", help="container MAC address (e.g., 92:d0:c6:0a:29:33)")
    a("--dns", action="append", default=[], help="set custom DNS servers")
    a("--dns-search", action="append", default=[], help="set custom DNS search domains")
    a("--dns-option", action="append", default=[], help="set DNS options")
    a("--restart", default="no", help="restart policy (no, on-failure[:N], always, "
      "unless-stopped)")
    a("--rm", action="store_true", help="remove the container when it exits")
    a("--stop-signal", help="signal to stop the container")
    a("--stop-timeout", type=int, help="timeout (in seconds) to stop a container")
    a("-l", "--label", action="append", default=[], help="set meta data on a container")
    a("--runtime", help="runtime to use for this container (name or path)")
    a("--sysctl", action="append", default=[], help="sysctl options")
    a("--oom-score-adj", type=int, help="tune host's OOM preferences (-1000 to 1000)")
    a("image", metavar="IMAGE")
    a("command", nargs=argparse.REMAINDER, metavar="COMMAND")


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
    from minidocker.engine import bundle, volumes
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
        "Binds": [v for v in args.volume],
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
    mounts = [volumes.parse_volume(v) for v in args.volume] + \
        [volumes.parse_mount(m) for m in args.mount]
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
        "Detach": detach,
        "Labels": _pairs(args.label, "label"),
        "StopSignal": args.stop_signal,
        "StopTimeout": args.stop_timeout,
        "Mounts": mounts,
        "HostConfig": host,
    }
    if args.stop_signal:
        from minidocker.runtime.operations import parse_signal
        parse_signal(args.stop_signal)
    _network_options(args, options)
    return options


def _network_options(args: argparse.Namespace, options: dict[str, Any]) -> None:
    """--ip, --mac-address, --network-alias go to the network's EndpointsConfig."""
    from minidocker.cli.commands._common import root
    from minidocker.engine import networking
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
    host = networking.check_options(root(), options["HostConfig"], endpoint)
    if endpoint:
        options["NetworkingConfig"] = {"EndpointsConfig": {host["NetworkMode"]: endpoint}}
