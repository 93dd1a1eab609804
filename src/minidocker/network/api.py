"""What the engine and the CLI call: networks (create, ensure, remove, list, inspect) and
container endpoints (connect, disconnect, stale cleanup).

When: the runtime creates the container's network namespace, the engine calls
`connect()` with its path (/proc/PID/ns/net) before starting the process, and
`disconnect_all()` when the container is removed; `cleanup_stale()` on every command
that may follow a crash. Each function leaves nothing behind when it fails half-way.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import minidocker
from minidocker.errors import Conflict, NotFound, UsageError
from minidocker.network import dns, ipam, link
from minidocker.network.model import DEFAULT_NETWORK, Endpoint, Network
from minidocker.network.statefile import write_in_place
from minidocker.network.store import Store

if TYPE_CHECKING:
    from minidocker.network.nat import Firewall
    from minidocker.network.ports import PortSpec

PREDEFINED = ("bridge", "host", "none")
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


def _valid_name(name: str) -> bool:
    """Docker's rule, [a-zA-Z0-9][a-zA-Z0-9_.-]* (no `re`: its import is on the run path)."""
    return bool(name) and name[0] not in "_.-" and set(name) <= _NAME_CHARS


def _parse_port_spec(text: str) -> list[PortSpec]:
    from minidocker.network.ports import parse_port_spec  # imported when ports are given
    return parse_port_spec(text)


def _resolve_ports(specs: list[PortSpec], published: list[Any]) -> list[Any]:
    from minidocker.network.ports import resolve_ports
    return resolve_ports(specs, published)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _firewall(store: Store) -> Firewall:
    # imported on use: nat needs subprocess, which a run without ports never does
    from minidocker.network.nat import Firewall

    return Firewall(store.nft_table())


def _uplink_mtu(route_file: str = "/proc/net/route") -> int:
    """MTU of the device of the default route (containers then never exceed the uplink's
    MTU: this host's is 1400), else 0 for the kernel's 1500."""
    try:
        with open(route_file, encoding="ascii") as f:
            for line in f.read().splitlines()[1:]:
                fields = line.split()
                if len(fields) > 7 and fields[1] == "00000000" and fields[7] == "00000000":
                    with open(f"/sys/class/net/{fields[0]}/mtu", encoding="ascii") as m:
                        return int(m.read())
    except (OSError, ValueError):
        pass
    return 0


def _avoid(store: Store, networks: Iterable[Network]) -> list[str]:
    """What a new subnet must not overlap: host routes, resolvers, our other networks."""
    servers = [s for s in dns.host_resolv_conf()[0] if ":" not in s]
    return _host_routes() + servers + [n.subnet for n in networks]


def _host_routes() -> list[str]:
    """Routes of all tables over netlink; the main table from /proc/net/route if that fails."""
    try:
        return link.host_routes()
    except OSError:
        return ipam.host_routes()


def _pools(store: Store) -> list[tuple[str, int]] | None:
    pools = store.config().get("pools")
    return [(p["base"], int(p["size"])) for p in pools] if pools else None


def _default_record(store: Store) -> Network:
    """The default network's record, created (subnet chosen) once and then kept."""
    net = store.networks().get(DEFAULT_NETWORK)
    if net is not None:
        return net
    with store.lock():
        networks = store.networks()
        if DEFAULT_NETWORK in networks:
            return networks[DEFAULT_NETWORK]
        _drop_orphan_subnets(store, networks)
        config = store.config()
        if config.get("default_subnet"):
            subnet, gateway = ipam.validate_subnet(config["default_subnet"],
                                                   config.get("default_gateway"))
        else:
            subnet = ipam.choose_subnet(_avoid(store, networks.values()), _pools(store))
            gateway = ipam.gateway_of(subnet)
        net = Network(name=DEFAULT_NETWORK, id=os.urandom(32).hex(), subnet=subnet,
                      gateway=gateway, bridge=store.default_bridge(),
                      mtu=_uplink_mtu(), created=_now())
        networks[net.name] = net  # the record first: see create_network
        store.save_networks(networks)
        store.ipam.add_subnet(subnet, gateway)
        return net


def host_gateway(root: str) -> str:
    """What `--add-host NAME:host-gateway` means outside a bridge network (host, none):
    the default bridge network's gateway, as Docker's host-gateway-ip defaults to
    docker0's address (the record is made if needed; no bridge is created)."""
    return _default_record(Store(root)).gateway


def _network(store: Store, name: str) -> Network:
    """A network by name or id; "bridge" (or Docker's "default") is made on first use."""
    if name in (DEFAULT_NETWORK, "default"):
        return _default_record(store)
    return store.find(name)


def _ensure_device(store: Store, net: Network) -> None:
    """The bridge up with its address and its nft rules, written before it comes up (see
    link.ensure_bridge: a kill at any point never leaves a bridge up without its rules).
    Runs under the store lock so a concurrent run never sees a bridge without rules."""
    wrote = []

    def rules_first() -> None:
        _firewall(store).setup_network(net)
        wrote.append(True)

    try:
        link.ensure_bridge(net.bridge, net.gateway, net.prefixlen, net.mtu, rules_first)
    except BaseException:
        if wrote:
            _firewall(store).teardown_network(net)
        raise


def ensure_network(root: str, name: str = DEFAULT_NETWORK) -> Network:
    """The network `name` with its bridge and rules in place (the default network is
    created on first use). Raises BridgeUnavailable when no bridge can be made."""
    store = Store(root)
    net = _network(store, name)
    with store.lock():
        _ensure_device(store, net)
    return net


def create_network(root: str, name: str, *, subnet: str | None = None,
                   gateway: str | None = None, internal: bool = False,
                   labels: dict[str, str] | None = None, bridge: str | None = None,
                   ip_range: str | None = None, aux: dict[str, str] | None = None
                   ) -> Network:
    if not _valid_name(name):
        raise UsageError(f"invalid network name {name!r}",
                         hint="use letters, digits and _.- (not first)")
    if name in PREDEFINED:
        raise Conflict(f"network {name} is pre-defined and cannot be created")
    if gateway and not subnet:
        raise UsageError("--gateway needs --subnet")
    if ip_range and not subnet:  # Docker's client's words
        raise UsageError(f"no matching subnet for range {ip_range}")
    if aux and not subnet:
        raise UsageError(f"no matching subnet for aux-address {next(iter(aux.values()))}")
    store = Store(root)
    _default_record(store)
    with store.lock():
        networks = store.networks()
        if name in networks:
            raise Conflict(f"network with name {name} already exists")
        pool, reserved = "", dict[str, str]()
        if subnet:
            subnet, gw = ipam.validate_subnet(subnet, gateway)
            pool, reserved = ipam.validate_range(subnet, ip_range, aux, gw)
            for route in _host_routes():
                if ipam.overlaps(subnet, route):
                    raise Conflict(f"subnet {subnet} overlaps the host route to {route}")
            for other in networks.values():
                if ipam.overlaps(subnet, other.subnet):
                    raise Conflict(f"subnet {subnet} overlaps {other.subnet} of network "
                                   f"{other.name}")
        else:
            subnet = ipam.choose_subnet(_avoid(store, networks.values()), _pools(store))
            gw = ipam.gateway_of(subnet)
        net_id = os.urandom(32).hex()
        bridge = bridge or f"md-{net_id[:12]}"
        if not _valid_name(bridge) or len(bridge) > 15:
            raise UsageError(f"invalid bridge name {bridge!r}",
                             hint="at most 15 letters, digits and _.-")
        if any(n.bridge == bridge for n in networks.values()):
            raise Conflict(f"bridge name {bridge} is already used by another network")
        if link.existing({bridge}):  # never adopt an interface someone else made
            raise Conflict(f"network interface {bridge} already exists")
        net = Network(name=name, id=net_id, subnet=subnet, gateway=gw, bridge=bridge,
                      internal=internal, labels=dict(labels or {}), mtu=_uplink_mtu(),
                      created=_now(), ip_range=pool, aux=reserved)
        # record, then subnet, then device: killed at any point, what exists is a network
        # that `network rm`/`prune` removes whole (its bridge, rules and subnet, each if
        # it got that far); connect reserves a subnet its network lacks, and makes a
        # bridge left down (link.ensure_bridge) with its rules
        _drop_orphan_subnets(store, networks)  # what an older order could leave
        networks[name] = net
        store.save_networks(networks)
        try:
            store.ipam.add_subnet(subnet, gw)
            _ensure_device(store, net)
        except BaseException:
            networks.pop(name)
            store.save_networks(networks)
            if subnet not in {n.subnet for n in networks.values()}:
                store.ipam.remove_subnet(subnet)
            raise
    return net


def _drop_orphan_subnets(store: Store, networks: dict[str, Network]) -> list[str]:
    """Under the store lock: forget subnets that no network record names (a create killed
    between reserving the subnet and writing the record), unless leases remain."""
    named = {n.subnet for n in networks.values()}
    dropped = []
    for subnet in store.ipam.subnets():
        if subnet not in named and not store.ipam.leases(subnet):
            store.ipam.remove_subnet(subnet)
            dropped.append(subnet)
    return dropped


def _remove_dead_temp_files(store: Store) -> int:
    """Temp files of state writers that died before their rename (NAME.PID.tmp)."""
    from minidocker.network.statefile import dead_temp_files

    removed = 0
    for path in dead_temp_files(store.dir):
        try:
            os.unlink(path)
            removed += 1
        except OSError:
            pass
    return removed


def remove_network(root: str, name: str, *, predefined_ok: bool = False) -> Network:
    """Remove a network that has no endpoints: its rules, bridge, subnet and record.
    The default network is kept unless `predefined_ok` (tests, uninstall)."""
    store = Store(root)
    with store.lock():
        net = store.find(name)
        if net.name in PREDEFINED and not predefined_ok:
            raise Conflict(f"{net.name} is a pre-defined network and cannot be removed")
        users = store.endpoints().get(net.name, {})
        if users:
            names = ", ".join(sorted(e.name or cid[:12] for cid, e in users.items()))
            raise Conflict(f"network {net.name} has active endpoints ({names})",
                           hint="stop or disconnect its containers first")
        _firewall(store).teardown_network(net)
        link.delete_bridge(net.bridge)
        # connect leases and records under this lock: a lease without an endpoint is
        # what a connect killed in between left
        store.ipam.release_where(lambda subnet, ip, owner: subnet == net.subnet)
        store.ipam.remove_subnet(net.subnet)
        networks = store.networks()
        networks.pop(net.name, None)
        store.save_networks(networks)
    _remove_dead_temp_files(store)
    return net


def prune_networks(root: str, wanted: Callable[[Network], bool] | None = None) -> list[str]:
    """Remove every user network without endpoints (that `wanted` accepts); returns
    their names."""
    store = Store(root)
    with store.lock():
        _drop_orphan_subnets(store, store.networks())
    _remove_dead_temp_files(store)
    in_use = {n for n, eps in store.endpoints().items() if eps}
    removed = []
    for net in store.networks().values():
        if net.name not in PREDEFINED and net.name not in in_use and \
                (wanted is None or wanted(net)):
            try:
                remove_network(root, net.name)
            except (Conflict, NotFound):
                continue  # a container connected meanwhile, or someone removed it
            removed.append(net.name)
    return removed


def reset(root: str) -> list[str]:
    """Every network of the root, the default included, with its bridge, rules and
    leases, whatever uses it (`system reset`: its containers are gone or going); then the
    root's default bridge and nft table by name — they are the root's own (named after
    its path or in its config.json) — also when the root's records were deleted by hand.
    Returns the names of the networks removed."""
    from minidocker.network.nat import disallow_forward

    store = Store(root)
    removed = []
    cleanup_stale(root, lambda cid: False)
    for net in store.networks().values():
        try:
            remove_network(root, net.name, predefined_ok=True)
        except NotFound:
            continue
        removed.append(net.name)
    bridge = store.default_bridge()
    if link.is_bridge(bridge):
        disallow_forward(bridge)
        link.delete_bridge(bridge)
    fw = _firewall(store)
    if fw.exists():
        fw.apply([f"delete table ip {store.nft_table()}"])
    with store.lock():
        for name in ("networks.json", "endpoints.json", "ipam.json", "ipam.lock",
                     "store.lock"):
            try:
                os.unlink(os.path.join(store.dir, name))
            except FileNotFoundError:
                pass
    _remove_dead_temp_files(store)
    return removed


def list_networks(root: str) -> list[Network]:
    store = Store(root)
    _default_record(store)
    return sorted(store.networks().values(), key=lambda n: n.name)


def inspect_network(root: str, name: str) -> dict[str, Any]:
    """Docker's `network inspect` document for one network."""
    store = Store(root)
    if name == DEFAULT_NETWORK:
        _default_record(store)
    net = store.find(name)
    containers = {
        cid: {"Name": e.name, "EndpointID": e.veth, "MacAddress": e.mac,
              "IPv4Address": f"{e.ip}/{e.prefixlen}", "IPv6Address": "",
              "Aliases": e.aliases,
              "Ports": [{"HostIp": p.host_ip, "HostPort": str(p.host_port),
                         "ContainerPort": f"{p.container_port}/{p.proto}"} for p in e.ports]}
        for cid, e in sorted(store.endpoints().get(net.name, {}).items())}
    return {"Name": net.name, "Id": net.id, "Created": net.created, "Scope": "local",
            "Driver": net.driver, "EnableIPv6": False, "Internal": net.internal,
            "IPAM": {"Driver": "default",
                     "Config": [{"Subnet": net.subnet, "Gateway": net.gateway,
                                 **({"IPRange": net.ip_range} if net.ip_range else {}),
                                 **({"AuxiliaryAddresses": dict(net.aux)} if net.aux
                                    else {})}]},
            "Containers": containers,
            "Options": {"com.docker.network.bridge.name": net.bridge,
                        "com.docker.network.driver.mtu": str(net.mtu or 1500)},
            "Labels": net.labels}


# -- containers -------------------------------------------------------------------------

def connect(root: str, network: str, container_id: str, netns_path: str, *, name: str = "",
            aliases: Iterable[str] = (), ip: str | None = None, mac: str | None = None,
            ports: Iterable[PortSpec | str] = (), hostname: str = "",
            extra_hosts: Iterable[tuple[str, str]] = (), hosts_path: str | None = None
            ) -> Endpoint:
    """Attach the container whose network namespace is at `netns_path` to `network`:
    lease an address, plug a veth (eth0, or ethN for further networks), publish `ports`
    (PortSpecs, or -p strings such as "127.0.0.1:8080:80/tcp"), and write the hosts files
    (its own at `hosts_path`, and its peers' on a user network). `extra_hosts` are
    (name, ip) pairs, ip may be "host-gateway". Returns the persisted endpoint."""
    if not _valid_name(container_id):  # it ends up in nft comments and file names
        raise UsageError(f"invalid container id {container_id!r}")
    store = Store(root)
    net = _network(store, network)
    specs = [spec for p in ports
             for spec in (_parse_port_spec(p) if isinstance(p, str) else [p])]
    if specs and net.internal:
        raise UsageError(f"cannot publish ports on internal network {net.name}")
    with store.lock():
        _ensure_device(store, net)
        endpoints = store.endpoints()
        if container_id in endpoints.get(net.name, {}):
            raise Conflict(f"container {name or container_id[:12]} is already connected "
                           f"to network {net.name}")
        others = [eps[container_id] for eps in endpoints.values() if container_id in eps]
        used = {o.ifname for o in others}
        ifname = next(f"eth{i}" for i in range(len(used) + 1) if f"eth{i}" not in used)
        # the default route comes from the first non-internal network the container joins
        networks = store.networks()
        routed = any(o.network in networks and not networks[o.network].internal
                     for o in others)
        try:
            address = store.ipam.allocate(net.subnet, container_id, ip,
                                          ip_range=net.ip_range, reserved=net.aux.values())
        except NotFound:  # a `network rm` killed half-way forgot it first: take it again
            store.ipam.add_subnet(net.subnet, net.gateway)
            address = store.ipam.allocate(net.subnet, container_id, ip,
                                          ip_range=net.ip_range, reserved=net.aux.values())
        try:
            published = [p for eps in endpoints.values() for e in eps.values() for p in e.ports]
            mappings = _resolve_ports(specs, published) if specs else []
        except BaseException:
            store.ipam.release(net.subnet, container_id)
            raise
        ep = Endpoint(network=net.name, container_id=container_id, ip=address,
                      prefixlen=net.prefixlen, gateway=net.gateway,
                      mac=(mac or link.mac_for(address)).lower(),
                      veth=link.veth_name(net.id, container_id), ifname=ifname,
                      name=name, aliases=list(aliases), ports=mappings, hostname=hostname,
                      extra_hosts=[f"{h}:{net.gateway if a == 'host-gateway' else a}"
                                   for h, a in extra_hosts], hosts_path=hosts_path)
        # the record comes first: after a crash from here on, cleanup_stale finds it all
        endpoints.setdefault(net.name, {})[container_id] = ep
        store.save_endpoints(endpoints)
    if minidocker.TRACE:
        minidocker.TRACE.step("network", "address leased", network=net.name,
                              subnet=net.subnet, address=address, gateway=net.gateway,
                              ports=[str(p) for p in mappings])
    try:
        gateway = None if net.internal or routed else net.gateway
        link.attach(netns_path, net.bridge, ep.veth, ep.ifname, ep.ip, ep.prefixlen,
                    gateway, ep.mac, net.mtu)
        if mappings:
            _firewall(store).add_ports(net.id, container_id, ep.ip, mappings)
        _refresh_hosts(store, net.name, container_id)
    except BaseException:
        _teardown(store, ep, net)
        raise
    if minidocker.TRACE:
        minidocker.TRACE.step("network", "hosts files written", path=hosts_path)
    return ep


def _teardown(store: Store, ep: Endpoint, net: Network | None, wait: bool = True) -> None:
    """Undo an endpoint: port rules, veth, lease, record; each step tolerates `gone`.
    With `wait` false the veth is deleted by a child process we do not wait for."""
    if net is not None and ep.ports:
        _firewall(store).remove_ports(net.id, ep.container_id)
    if wait or not _detach_in_background(ep.veth):
        link.detach(ep.veth)
    with store.lock():
        endpoints = store.endpoints()
        endpoints.get(ep.network, {}).pop(ep.container_id, None)
        store.save_endpoints(endpoints)
        if net is not None:
            store.ipam.release(net.subnet, ep.container_id)
    if minidocker.TRACE:
        minidocker.TRACE.step("network", "disconnected", network=ep.network, veth=ep.veth,
                              address=ep.ip, port_rules_removed=bool(ep.ports))


def _detach_in_background(veth: str) -> bool:
    """Delete a veth in a forked child: unregistering a netdevice waits for an RCU grace
    period (10-30 ms here) that a container's exit need not wait for (the kernel would
    remove the pair with the dying namespace anyway). False if fork failed."""
    if not os.path.exists(f"/sys/class/net/{veth}"):
        return True  # the kernel was faster: nothing to fork for
    try:
        pid = os.fork()
    except OSError:
        return False
    if pid == 0:  # pragma: no cover - the child
        try:
            link.detach(veth)
        finally:
            os._exit(0)
    return True


def disconnect(root: str, network: str, container_id: str, *, wait: bool = True,
               netns_path: str | None = None) -> None:
    """Undo connect(). With `wait` false (the container's process has exited) the veth
    goes in the background, see _detach_in_background. With `netns_path` (a running
    container), a default route that went with the network moves to another of its
    non-internal networks, as Docker moves the default gateway."""
    store = Store(root)
    net = store.find(DEFAULT_NETWORK if network == "default" else network)
    ep = store.endpoints().get(net.name, {}).get(container_id)
    if ep is None:
        raise NotFound(f"container {container_id[:12]} is not connected to network {net.name}")
    _teardown(store, ep, net, wait)
    _refresh_hosts(store, net.name, None)
    if ep.hosts_path:
        _write_hosts(store, container_id, store.endpoints())
    if netns_path and not net.internal:
        _reroute(store, container_id, netns_path)


def _reroute(store: Store, container_id: str, netns_path: str) -> None:
    """Give the container a default route through its first non-internal network left,
    unless it has one (EEXIST: the route did not go through the network removed)."""
    networks = store.networks()
    for ep in store.endpoints_of(container_id):
        other = networks.get(ep.network)
        if other is None or other.internal:
            continue
        try:
            link.add_default_route_in(netns_path, ep.gateway, ep.ifname)
        except FileExistsError:
            pass
        except OSError:
            pass  # the container is going away: nothing to route
        return


def disconnect_all(root: str, container_id: str, *, wait: bool = True) -> None:
    """Disconnect a container from every network (on rm); a no-op when it has none. A
    lease with no endpoint (a connect killed between the two) is released too."""
    store = Store(root)
    for ep in store.endpoints_of(container_id):
        try:
            disconnect(root, ep.network, container_id, wait=wait)
        except NotFound:
            continue
    store.ipam.release_where(lambda subnet, ip, owner: owner == container_id)


def endpoints_of(root: str, container_id: str) -> list[Endpoint]:
    return Store(root).endpoints_of(container_id)


def published_ports(root: str) -> dict[str, list[Any]]:
    """container id -> every PortMapping it publishes (for `port` and `ps`)."""
    result: dict[str, list[Any]] = {}
    for eps in Store(root).endpoints().values():
        for cid, e in eps.items():
            result.setdefault(cid, []).extend(e.ports)
    return result


# -- hosts files ------------------------------------------------------------------------

def _peer_names(ep: Endpoint) -> list[str]:
    return [ep.name, *ep.aliases, ep.container_id[:12]]


def _write_hosts(store: Store, container_id: str,
                 endpoints: dict[str, dict[str, Endpoint]], create: bool = False) -> None:
    mine = [eps[container_id] for eps in endpoints.values() if container_id in eps]
    path = next((e.hosts_path for e in mine if e.hosts_path), None)
    if path is None:
        return
    own = [(e.ip, [e.hostname or container_id[:12], e.name, *e.aliases]) for e in mine]
    extra = [dns.parse_add_host(h) for h in next((e.extra_hosts for e in mine
                                                  if e.extra_hosts), [])]
    peers = [(p.ip, _peer_names(p)) for e in mine if e.network != DEFAULT_NETWORK
             for cid, p in endpoints.get(e.network, {}).items() if cid != container_id]
    write_in_place(path, dns.hosts_file(own, extra, peers), create=create)


def _refresh_hosts(store: Store, network: str, new_container: str | None) -> None:
    """Rewrite the hosts file of the new container and of its peers on `network`."""
    with store.lock():
        endpoints = store.endpoints()
        if new_container is not None:
            _write_hosts(store, new_container, endpoints, create=True)
        if network == DEFAULT_NETWORK:
            return
        for cid in endpoints.get(network, {}):
            if cid != new_container:
                _write_hosts(store, cid, endpoints)


# -- crash recovery ---------------------------------------------------------------------

def cleanup_stale(root: str, alive: Callable[[str], bool]) -> dict[str, int]:
    """Remove what belongs to containers for which alive(container_id) is false: their
    endpoints (veth, port rules, lease, record), then leftovers no record explains: leases,
    port rules and veths on our bridges; rules of live networks that were flushed are
    written again. Returns how many of each it found. Call it under the engine's own lock,
    or with a predicate that counts containers being created as alive."""
    store = Store(root)
    counts = {"endpoints": 0, "leases": 0, "veths": 0, "rules": 0, "repaired": 0,
              "subnets": 0, "files": 0}
    networks = store.networks()
    for net_name, eps in store.endpoints().items():
        for cid, ep in eps.items():
            if not alive(cid):
                _teardown(store, ep, networks.get(net_name))
                _refresh_hosts(store, net_name, None)
                counts["endpoints"] += 1
    endpoints = store.endpoints()
    known = {cid for eps in endpoints.values() for cid in eps}
    counts["leases"] = len(store.ipam.release_where(
        lambda subnet, ip, owner: owner not in known and not alive(owner)))
    recorded = {e.veth for eps in endpoints.values() for e in eps.values()}
    bridges = {n.bridge for n in networks.values()}
    ports = link.ports_of(bridges) if bridges else {}
    for veth in ports:
        if veth.startswith("md") and veth not in recorded and link.detach(veth):
            counts["veths"] += 1
    if networks:
        counts["rules"], counts["repaired"] = _cleanup_rules(store, networks, endpoints)
    with store.lock():
        counts["subnets"] = len(_drop_orphan_subnets(store, store.networks()))
    counts["files"] = _remove_dead_temp_files(store)
    return counts


def _cleanup_rules(store: Store, networks: dict[str, Network],
                   endpoints: dict[str, dict[str, Endpoint]]) -> tuple[int, int]:
    """Delete port rules no endpoint explains; rewrite the rules of networks whose bridge
    exists but whose rules are gone (someone flushed the table): (deleted, repaired)."""
    from minidocker.network.nat import net_tag, port_tag

    fw = _firewall(store)
    rules = fw.rules()
    ours = {n.id[:12] for n in networks.values()}
    known = {cid for eps in endpoints.values() for cid in eps}
    deleted = fw.remove_ports_where(lambda net12, cid: net12 in ours and cid not in known,
                                    rules)
    comments = {r.get("comment", "") for r in rules}
    present = link.existing({n.bridge for n in networks.values()})
    repaired = 0
    for net in networks.values():
        if net.bridge not in present:
            continue
        if net_tag(net) not in comments:
            fw.setup_network(net)
            repaired += 1
        for cid, ep in endpoints.get(net.name, {}).items():
            if ep.ports and port_tag(net.id, cid) not in comments:
                fw.add_ports(net.id, cid, ep.ip, ep.ports)
                repaired += 1
    return deleted, repaired
