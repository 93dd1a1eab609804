"""The engine's side of networking: a container's network mode, the bridge hook (connect
after the runtime's create, disconnect at exit and rm), the fallback to host networking,
`network connect/disconnect` of containers, stale state after a crash, and what inspect,
ps and port show.

minidocker.network is imported only when a container uses a bridge network: its import
costs about 5 ms of `run`. Endpoint facts shown by inspect/ps/port are copied into the
record's state (`Networks`), so those commands never import it.
"""

from __future__ import annotations

import os

from minidocker.errors import Conflict, MinidockerError, NotFound, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from minidocker.engine.records import Record
    from minidocker.engine.service import Sink

FALLBACK_ENV = "MINIDOCKER_NETWORK_FALLBACK"


def rootless_mode() -> bool:
    from minidocker.linux import userns
    return userns.rootless()


# ---- rootless: the networks live in the session's network namespace ----------------------------


def rootless_netns() -> str:
    """The rootless network namespace (the session holder's: engine/session.py)."""
    from minidocker.engine import rootless, session
    pid = session.holder(rootless.run_dir())
    if pid is None:
        raise MinidockerError("the rootless session has ended: its networks are gone",
                              hint="run any minidocker command to start a new one")
    return f"/proc/{pid}/ns/net"


def net_call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """fn(*args, **kwargs) where the networks are: here as root, in the rootless network
    namespace otherwise (network/rootless.py). Every call of minidocker.network that
    touches links, addresses or rules goes through it."""
    if not rootless_mode():
        return fn(*args, **kwargs)
    from minidocker.network import rootless as rootless_net
    return rootless_net.call(rootless_netns(), fn, *args, **kwargs)


def _uplink(sink: Sink | None) -> None:
    """Rootless: start the session's slirp4netns unless it runs (warn once if it cannot)."""
    from minidocker.engine import rootless
    from minidocker.network import rootless as rootless_net
    run_dir = rootless.run_dir()
    problem = rootless_net.start_uplink(run_dir, rootless_netns())
    if problem is not None and sink is not None:
        warning = rootless_net.uplink_warning(run_dir, problem)
        if warning:
            sink.warning(warning)


# ---- modes -----------------------------------------------------------------------------------


def mode_of(record: Record) -> str:
    return str(record.config["HostConfig"].get("NetworkMode") or "bridge")


def uses_bridge(mode: str) -> bool:
    return mode not in ("none", "host") and not mode.startswith("container:")


def networks_of(record: Record) -> list[str]:
    """The networks a container joins: its NetworkMode, then those of `network connect`."""
    mode = mode_of(record)
    extra = (record.config.get("NetworkingConfig") or {}).get("EndpointsConfig") or {}
    first = [mode] if uses_bridge(mode) else []
    return first + [n for n in extra if n != mode]


def fallback_allowed(root: str) -> bool:
    """Whether a run may fall back to host networking when no bridge can be made: on by
    default; off with MINIDOCKER_NETWORK_FALLBACK=0 or `"fallback": false` in
    <root>/network/config.json."""
    value = os.environ.get(FALLBACK_ENV)
    if value is not None:
        return value.strip().lower() not in ("0", "false", "no", "off")
    path = os.path.join(root, "network", "config.json")
    if not os.path.exists(path):
        return True
    import json
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f).get("fallback", True) is not False
    except (OSError, ValueError, AttributeError):
        return True


def check_options(root: str, host: dict[str, Any], endpoint: dict[str, Any],
                  warn: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Validate the network flags of create/run (HostConfig and the primary network's
    EndpointsConfig entry) and normalize container:NAME to container:ID. `warn` is told
    what is dropped (the service layer's sink)."""
    mode = host.get("NetworkMode") or "bridge"
    if mode == "default":
        mode = host["NetworkMode"] = "bridge"
    ports = host.get("PortBindings") or []
    if mode.startswith("container:"):
        from minidocker.engine.records import Records
        other = Records(root).find(mode[len("container:"):])
        host["NetworkMode"] = f"container:{other.id}"
        if ports or host.get("PublishAllPorts"):
            raise UsageError("conflicting options: port publishing and the container type "
                             "network mode")
    elif mode in ("host", "none"):
        if endpoint:
            raise UsageError(f"--ip, --mac-address and --network-alias need a bridge "
                             f"network, not {mode}")
        if mode == "none" and ports:
            raise UsageError("conflicting options: port publishing and --network none")
        if ports or host.get("PublishAllPorts"):
            if warn is not None:
                warn("published ports are discarded when using host network mode")
            host["PortBindings"], host["PublishAllPorts"] = [], False
    else:
        if ports:
            from minidocker.network import parse_port_spec
            for p in ports:
                specs = parse_port_spec(p)
                if rootless_mode():
                    from minidocker.network import rootless as rootless_net
                    for spec in specs:
                        if spec.host_ports is not None:
                            rootless_net.check_host_port(spec.host_ports[0], p)
        if mode != "bridge":
            from minidocker.network.store import Store
            host["NetworkMode"] = Store(root).find(mode).name  # NotFound if none
        elif endpoint.get("Aliases"):
            raise UsageError("network-scoped aliases are only supported for user-defined "
                             "networks")
    for item in host.get("ExtraHosts") or []:
        name, sep, ip = item.partition("=" if "=" in item else ":")
        if not name or not ip:
            raise UsageError(f"invalid --add-host {item!r}", hint="use NAME:IP")
    return host


# ---- start: choose, attach, detach ------------------------------------------------------------


def prepare(record: Record, sink: Sink | None = None) -> None:
    """Before the runtime creates the container (in the caller, so that a warning reaches
    the user through `sink`): join another container's namespace, or make sure the bridge
    can be used and else fall back to host networking (one warning) or fail."""
    mode = mode_of(record)
    if mode.startswith("container:"):
        _join_container(record, mode[len("container:"):])
        return
    if not uses_bridge(mode):
        if _dns_flags(record):
            _write_resolv_conf(record)
        return
    from minidocker import network
    if rootless_mode():
        _uplink(sink)
    try:
        net_call(network.ensure_network, record.root, mode)
    except network.BridgeUnavailable as e:
        if not fallback_allowed(record.root):
            raise MinidockerError(e.message, hint=f"run with --network host, or allow the "
                                  f"fallback to host networking ({FALLBACK_ENV}=1)")
        if sink is not None:
            sink.warning(f"{e.message}; using the host's network instead")
        _set_fallback(record, True)
        if _dns_flags(record):  # as with --network host: the flags still make resolv.conf
            _write_resolv_conf(record)
        return
    if record.config.get("NetworkFallback"):
        _set_fallback(record, False)


def _dns_flags(record: Record) -> bool:
    host = record.config["HostConfig"]
    return bool(host.get("Dns") or host.get("DnsSearch") or host.get("DnsOptions"))


def _write_resolv_conf(record: Record) -> None:
    from minidocker.network import dns
    from minidocker.network.statefile import write_in_place
    host = record.config["HostConfig"]
    write_in_place(record.path("resolv.conf"),
                   dns.resolv_conf(host.get("Dns") or (), host.get("DnsSearch") or (),
                                   host.get("DnsOptions") or ()))


def _spec_netns(record: Record, entry: dict[str, str] | None) -> None:
    """Set the network namespace of the bundle: {"type": "network"[, "path": P]} or none
    (the host's)."""
    import json
    path = record.path("bundle", "config.json")
    with open(path, encoding="utf-8") as f:
        spec = json.load(f)
    namespaces = spec["linux"]["namespaces"]
    kept = [ns for ns in namespaces if ns.get("type") != "network"]
    wanted = kept + ([entry] if entry else [])
    if wanted == namespaces:
        return
    spec["linux"]["namespaces"] = wanted
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(spec, f)
    os.rename(tmp, path)


def _set_fallback(record: Record, on: bool) -> None:
    with record.lock():
        config = record.reload().config
        if on:
            config["NetworkFallback"] = "host"
        else:
            config.pop("NetworkFallback", None)
        record.save_config(config)
    _spec_netns(record, None if on else {"type": "network"})


def _join_container(record: Record, other_id: str) -> None:
    """--network container:ID: the bundle joins the other init's network namespace, and
    the container sees the other's hosts and resolv.conf."""
    from minidocker.engine.liveness import alive
    from minidocker.engine.records import Record as Rec
    other = Rec(record.root, other_id)
    if other.id == record.id:
        raise UsageError("cannot join the network namespace of the container itself")
    try:
        state = other.state
    except NotFound:
        raise NotFound(f"no such container: {other_id[:12]} (its network is joined by "
                       f"{record.name})")
    pid = int(state.get("Pid") or 0)
    if state.get("Status") not in ("running", "paused") or \
            not alive(pid, int(state.get("PidStart") or 0)):
        raise Conflict(f"cannot join the network of container {other.name}: it is not "
                       "running")
    _spec_netns(record, {"type": "network", "path": f"/proc/{pid}/ns/net"})
    for name in ("hosts", "resolv.conf"):
        try:
            with open(other.path(name), "rb") as f:
                data = f.read()
        except OSError:
            continue
        fd = os.open(record.path(name), os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            os.pwrite(fd, data, 0)
            os.ftruncate(fd, len(data))
        finally:
            os.close(fd)


def _port_specs(record: Record) -> list[Any]:
    """-p values, plus every exposed port of the image with a random host port for -P."""
    host = record.config["HostConfig"]
    if not host.get("PortBindings") and not host.get("PublishAllPorts"):
        return []
    from minidocker.network import PortSpec, parse_port_spec
    specs = [s for p in host.get("PortBindings") or [] for s in parse_port_spec(p)]
    if host.get("PublishAllPorts"):
        given = {(s.container_port, s.proto) for s in specs}
        for key in sorted(record.config["Config"].get("ExposedPorts") or {}):
            port, _, proto = key.partition("/")
            proto = proto or "tcp"
            if port.isdigit() and (int(port), proto) not in given:
                specs.append(PortSpec("0.0.0.0", None, int(port), proto))
    return specs


def _extra_hosts(record: Record) -> list[tuple[str, str]]:
    out = []
    for item in record.config["HostConfig"].get("ExtraHosts") or []:
        name, _, ip = item.partition("=" if "=" in item else ":")
        out.append((name, ip))
    return out


def _connect_one(record: Record, name: str, netns: str, primary: bool,
                 pid: int = 0) -> dict[str, Any]:
    """Connect to network `name`. Rootless, the published ports of the primary network
    are bound on the host by a forwarder (started when `pid`, the init, is given)."""
    from minidocker import network
    cfg = record.config
    endpoint = ((cfg.get("NetworkingConfig") or {}).get("EndpointsConfig") or {}).get(name) \
        or {}
    ports = _port_specs(record) if primary else []
    rootless = rootless_mode()

    def connect() -> Any:
        return net_call(
            network.connect, record.root, name, record.id, netns, name=record.name,
            aliases=endpoint.get("Aliases") or (),
            ip=(endpoint.get("IPAMConfig") or {}).get("IPv4Address") or None,
            mac=endpoint.get("MacAddress") or None,
            ports=() if rootless else ports,
            hostname=cfg["Config"].get("Hostname", ""), extra_hosts=_extra_hosts(record),
            hosts_path=record.path("hosts"))
    try:
        ep = connect()
    except Conflict:
        # a port or address may still be held by a container that died without its
        # monitor (what `ps` would clean): clean, and try once more
        cleanup_stale(record.root)
        ep = connect()
    if rootless and ports and pid:
        from minidocker.network import rootless as rootless_net
        try:
            fwd, ep.ports = rootless_net.start_forwarder(rootless_netns(), pid, ep.ip, ports)
        except BaseException:
            net_call(network.disconnect, record.root, name, record.id)
            raise
        record.update(Forwarder=[fwd, rootless_net.forwarder_start_time(fwd)])
    return endpoint_doc(record.root, ep, endpoint)


def endpoint_doc(root: str, ep: Any, endpoint: dict[str, Any]) -> dict[str, Any]:
    """Docker's NetworkSettings.Networks[NAME] entry, plus the published ports."""
    from minidocker.network.store import Store
    try:
        net_id = Store(root).find(ep.network).id
    except NotFound:
        net_id = ""
    return {"IPAMConfig": endpoint.get("IPAMConfig"), "Links": None,
            "Aliases": list(ep.aliases) or None, "NetworkID": net_id, "EndpointID": ep.veth,
            "Gateway": ep.gateway, "IPAddress": ep.ip, "IPPrefixLen": ep.prefixlen,
            "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
            "MacAddress": ep.mac, "DriverOpts": None,
            "Ports": [{"HostIp": p.host_ip, "HostPort": p.host_port,
                       "ContainerPort": p.container_port, "Proto": p.proto}
                      for p in ep.ports]}


def attach(record: Record, pid: int) -> None:
    """After the runtime's create, before start: plug the container into its networks,
    write resolv.conf, and copy the endpoints into the record's state."""
    if record.config.get("NetworkFallback"):
        return
    names = networks_of(record)
    if not names:
        if mode_of(record) == "none" and not rootless_mode():
            # (the runtime brings it up too; rootless, the init's namespace files are out
            # of our reach until it execs: it is not dumpable till then)
            from minidocker.network import link
            link.loopback_up(f"/proc/{pid}/ns/net")
        return
    netns = f"/proc/{pid}/ns/net"
    settings: dict[str, Any] = {}
    try:
        for i, name in enumerate(names):
            doc = _connect_one(record, name, netns, primary=i == 0, pid=pid)
            settings[_canonical(name)] = doc
        _write_resolv_conf(record)
    except BaseException:
        from minidocker import network
        _stop_forwarder(record)
        net_call(network.disconnect_all, record.root, record.id)
        raise
    record.update(Networks=settings)


def _stop_forwarder(record: Record) -> None:
    """Rootless: end the container's port forwarder (it also ends with the init)."""
    try:
        fwd = record.reload().state.get("Forwarder")
    except (MinidockerError, OSError):
        return
    if not fwd:
        return
    from minidocker.network import rootless as rootless_net
    rootless_net.stop_forwarder(int(fwd[0]), int(fwd[1]))
    try:
        record.update(Forwarder=None)
    except (MinidockerError, OSError):
        pass


def _canonical(name: str) -> str:
    return "bridge" if name == "default" else name


def detach(record: Record) -> None:
    """Unplug the container from every network (veths, port rules, leases, hosts entries
    of its peers). A no-op for host/none containers that never joined one."""
    try:
        state_networks = record.state.get("Networks")
    except MinidockerError:
        state_networks = None
    if not state_networks and not networks_of(record):
        return
    from minidocker import network
    pid = int(record.state.get("Pid") or 0) if state_networks is not None else 0
    from minidocker.engine.liveness import proc_stat
    st = proc_stat(pid)
    exited = st is None or st[0] in ("Z", "X")
    # a container whose init is gone: its namespace dies with it, and the kernel's 10-30 ms
    # of veth unregistering need not delay `run --rm`
    _stop_forwarder(record)
    net_call(network.disconnect_all, record.root, record.id, wait=not exited)
    if state_networks:
        try:
            record.update(Networks={})
        except (MinidockerError, OSError):
            pass


# ---- network connect / disconnect -------------------------------------------------------------


def _running_pid(record: Record) -> int:
    from minidocker.engine.liveness import alive
    state = record.reload().state
    pid = int(state.get("Pid") or 0)
    if state.get("Status") in ("running", "paused") and \
            alive(pid, int(state.get("PidStart") or 0)):
        return pid
    return 0


def connect_container(record: Record, network_name: str, ip: str | None = None,
                      aliases: list[str] | None = None) -> None:
    """`network connect`: join now if the container runs, and remember it for later
    starts."""
    from minidocker.network.store import Store
    mode = mode_of(record)
    if not uses_bridge(mode):
        raise Conflict(f"container {record.name} uses the {mode.split(':')[0]} network mode "
                       "and cannot be connected to another network")
    net = Store(record.root).find("bridge" if network_name == "default" else network_name) \
        if network_name not in ("bridge", "default") else None
    name = net.name if net is not None else "bridge"
    if name in networks_of(record):
        raise Conflict(f"endpoint with name {record.name} already exists in network {name}")
    if aliases and name == "bridge":
        raise UsageError("network-scoped aliases are only supported for user-defined networks")
    endpoint: dict[str, Any] = {}
    if aliases:
        endpoint["Aliases"] = list(aliases)
    if ip:
        endpoint["IPAMConfig"] = {"IPv4Address": ip}
    with record.lock():
        config = record.reload().config
        nc = config.setdefault("NetworkingConfig", {})
        eps = nc.setdefault("EndpointsConfig", {})
        eps[name] = endpoint
        record.save_config(config)
    pid = _running_pid(record)
    if not pid:
        return
    try:
        doc = _connect_one(record, name, f"/proc/{pid}/ns/net", primary=False)
    except BaseException:
        _forget(record, name)
        raise
    with record.lock():
        state = record.reload().state
        state.setdefault("Networks", {})[name] = doc
        record.save_state(state)


def _forget(record: Record, name: str) -> None:
    """Drop `name` from the networks the container joins at start."""
    with record.lock():
        config = record.reload().config
        eps = (config.get("NetworkingConfig") or {}).get("EndpointsConfig") or {}
        eps.pop(name, None)
        if config["HostConfig"].get("NetworkMode") == name or \
                (name == "bridge" and config["HostConfig"].get("NetworkMode") == "default"):
            config["HostConfig"]["NetworkMode"] = next(iter(eps), "none")
        record.save_config(config)


def disconnect_container(record: Record, network_name: str) -> None:
    from minidocker import network
    from minidocker.network.store import Store
    name = "bridge" if network_name in ("bridge", "default") else \
        Store(record.root).find(network_name).name
    if name not in networks_of(record):
        raise NotFound(f"container {record.name} is not connected to network {name}")
    pid = _running_pid(record)
    if pid:
        try:
            net_call(network.disconnect, record.root, name, record.id,
                     netns_path=f"/proc/{pid}/ns/net")
        except NotFound:
            pass
    _forget(record, name)
    with record.lock():
        state = record.reload().state
        (state.get("Networks") or {}).pop(name, None)
        record.save_state(state)


# ---- stale state after a crash ---------------------------------------------------------------


def container_alive(root: str, cid: str) -> bool:
    """For cleanup_stale: whether a container may still own its endpoints. Records being
    created, started or removed count as alive."""
    from minidocker.engine.liveness import alive, monitor_alive
    from minidocker.engine.records import Record as Rec
    record = Rec(root, cid)
    if not os.path.isdir(record.dir):
        return False
    try:
        state = record.state
    except MinidockerError:
        return True  # half-made or half-removed: its own command cleans up
    status = state.get("Status")
    if status in ("running", "paused", "restarting", "removing"):
        return alive(int(state.get("Pid") or 0), int(state.get("PidStart") or 0)) or \
            monitor_alive(state)
    if status == "created":
        return _start_in_progress(record)
    return False


def _start_in_progress(record: Record) -> bool:
    from minidocker.engine.records import Lock
    return Lock.held(record.path("start.lock"))


def cleanup_stale(root: str, full: bool = False, alive: set[str] | frozenset[str] = frozenset()
                  ) -> None:
    """Remove what crashed containers left (veths, port rules, leases, hosts entries).
    Cheap unless there is something to do: the full sweep runs only when an endpoint's
    container is gone or stopped (or with `full`). `alive`: ids the caller has just seen
    running (ps), whose records need not be read again."""
    if not os.path.isdir(os.path.join(root, "network")):
        return
    from minidocker import network
    from minidocker.network.store import Store
    if not full:
        owners = {cid for eps in Store(root).endpoints().values() for cid in eps}
        if all(cid in alive or container_alive(root, cid) for cid in owners):
            return
    net_call(network.cleanup_stale, root, lambda cid: container_alive(root, cid))


# ---- what inspect, ps and port show ------------------------------------------------------------


def settings_doc(config: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    """Docker's NetworkSettings: per network, and the default bridge's at the top level."""
    networks = dict(state.get("Networks") or {}) if state.get("Status") in (
        "running", "paused", "restarting") else {}
    mode = (config.get("HostConfig") or {}).get("NetworkMode") or "bridge"
    if config.get("NetworkFallback"):
        mode = "host"
    ports: dict[str, Any] = {}
    if networks:
        for key in (config.get("Config") or {}).get("ExposedPorts") or {}:
            ports[key if "/" in key else f"{key}/tcp"] = None
    for doc in networks.values():
        for p in doc.get("Ports") or []:
            ports.setdefault(f"{p['ContainerPort']}/{p['Proto']}", None)
            ports[f"{p['ContainerPort']}/{p['Proto']}"] = \
                (ports.get(f"{p['ContainerPort']}/{p['Proto']}") or []) + \
                [{"HostIp": p["HostIp"], "HostPort": str(p["HostPort"])}]
    shown = {name: {k: v for k, v in doc.items() if k != "Ports"}
             for name, doc in networks.items()}
    if not networks and uses_bridge(mode) and not config.get("NetworkFallback"):
        shown = configured_networks(config, mode)
    if not shown and not uses_bridge(mode):
        shown = {mode.split(":")[0]: {}} if not mode.startswith("container:") else {}
    top = networks.get("bridge") or {}
    return {"Bridge": "", "SandboxID": "", "HairpinMode": False,
            "SandboxKey": f"/proc/{state.get('Pid')}/ns/net" if networks else "",
            "Ports": ports,
            "IPAddress": top.get("IPAddress", ""), "IPPrefixLen": top.get("IPPrefixLen", 0),
            "Gateway": top.get("Gateway", ""), "MacAddress": top.get("MacAddress", ""),
            "EndpointID": top.get("EndpointID", ""), "GlobalIPv6Address": "",
            "GlobalIPv6PrefixLen": 0, "IPv6Gateway": "",
            "Networks": shown}


def configured_networks(config: dict[str, Any], mode: str) -> dict[str, Any]:
    """The networks a container that does not run will join (its network mode and the
    networks connected since), as Docker shows them: their endpoint settings without
    addresses. Compose reads them to decide what to connect before a start."""
    endpoints = (config.get("NetworkingConfig") or {}).get("EndpointsConfig") or {}
    short = str(config.get("Id", ""))[:12]
    out = {}
    for name in [mode] + [n for n in endpoints if n != mode]:
        ep = endpoints.get(name) or {}
        aliases = list(ep.get("Aliases") or [])
        if name != "bridge" and short and short not in aliases:
            aliases.append(short)  # as Docker's: the short id is an alias on user networks
        out[name] = {"IPAMConfig": ep.get("IPAMConfig") or None, "Links": None,
                     "Aliases": aliases or None, "NetworkID": "",
                     "EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0,
                     "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
                     "MacAddress": ep.get("MacAddress", ""), "DriverOpts": None}
    return out


def published(state: dict[str, Any]) -> list[tuple[str, int, int, str]]:
    """(host ip, host port, container port, proto) of a running container."""
    if state.get("Status") not in ("running", "paused", "restarting"):
        return []
    return [(p["HostIp"], int(p["HostPort"]), int(p["ContainerPort"]), p["Proto"])
            for doc in (state.get("Networks") or {}).values() for p in doc.get("Ports") or []]


def ports_text(config: dict[str, Any], state: dict[str, Any]) -> str:
    """The PORTS column of ps: `0.0.0.0:8080->80/tcp, 53/udp` (exposed, unpublished)."""
    items = [(cport, proto, f"{hip}:{hport}->{cport}/{proto}")
             for hip, hport, cport, proto in published(state)]
    done = {(c, p) for c, p, _ in items}
    if state.get("Status") in ("running", "paused", "restarting"):
        for key in (config.get("Config") or {}).get("ExposedPorts") or {}:
            port, _, proto = key.partition("/")
            if port.isdigit() and (int(port), proto or "tcp") not in done:
                items.append((int(port), proto or "tcp", f"{port}/{proto or 'tcp'}"))
    return ", ".join(text for _, _, text in sorted(items))


def network_names(config: dict[str, Any], state: dict[str, Any]) -> str:
    """The NETWORKS field of ps."""
    return ",".join(network_list((config.get("HostConfig") or {}).get("NetworkMode"),
                                 config.get("NetworkFallback"),
                                 config.get("NetworkingConfig")))


def network_list(mode: str | None, fallback: bool | None,
                 networking: dict[str, Any] | None) -> list[str]:
    """network_names() from config.json's HostConfig.NetworkMode, NetworkFallback and
    NetworkingConfig (what the container index keeps of them)."""
    if fallback:
        return ["host"]
    mode = mode or "bridge"
    names = [mode if mode != "default" else "bridge"]
    if networking:
        names += [n for n in networking.get("EndpointsConfig") or {} if n != mode]
    return names
