"""Container operations of the service layer: one function per thing a user can ask of a
container, as Docker's API has them (POST /containers/create, /start, /stop, ...).

Every function takes the Context first and a container reference (a name, a full id or
a unique id prefix) where Docker's path has {id}; takes and returns plain data in
Docker's shapes (see types.py); raises minidocker.errors (NotFound 404, Conflict 409,
UsageError 400, NotModified 304). Nothing here writes to a terminal.
"""

from __future__ import annotations

import os
import time

from minidocker.errors import Conflict, MinidockerError, NotFound, NotModified, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import _socket
    from collections.abc import Collection, Iterator
    from typing import IO, Any

    from minidocker.engine.records import Record
    from minidocker.engine.service import Context
    from minidocker.engine.service.types import (
        Change,
        ContainerSummary,
        CreateBody,
        CreateResponse,
        LogEntry,
        PathStat,
        Port,
        PruneReport,
        TopResponse,
        WaitResponse,
    )

RUNNING = ("running", "paused", "restarting")
STDOUT, STDERR = 1, 2  # what streams' read() returns (Docker's stream ids: 1 stdout, 2 stderr)
# `docker ps --filter` keys (and GET /containers/json's filters)
LIST_FILTERS = ("ancestor", "before", "expose", "exited", "health", "id", "label", "name",
                "network", "publish", "since", "status", "volume")
STATUSES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")


def find(ctx: Context, ref: str) -> Record:
    """The record of a container: by name, full id, then unique id prefix (Docker's
    order). NotFound, or Conflict for an ambiguous prefix. For front ends that need the
    record itself (the builder); the others use the functions below."""
    from minidocker.engine.records import Records
    return Records(ctx.root).find(ref)


def _live(record: Record) -> dict[str, Any]:
    from minidocker.engine.liveness import live_state
    return live_state(record)


# ---- create, start, run -----------------------------------------------------------------------


def create(ctx: Context, body: CreateBody | dict[str, Any], *, name: str | None = None,
           pull: str = "never", platform: str | None = None) -> CreateResponse:
    """POST /containers/create: a new container from Docker's create body (the
    container's Config with HostConfig and NetworkingConfig). `pull` is "never"
    (Docker's API: a missing image is NotFound), "missing" (the CLI's run and create:
    the image is pulled first, its progress told to the sink) or "always" (pulled even
    if present). `platform`: os/arch[/variant], which must be the host's (no emulation)."""
    from minidocker.engine import create as creating
    from minidocker.engine.service import validate
    warnings: list[str] = []
    if platform:
        platform = validate.runnable_platform(platform)
    puller = _puller(ctx, pull, platform)
    options = _options(ctx, dict(body), name, warnings)
    if pull == "always" and not _is_directory(options["Image"]):
        from minidocker.engine.service import images
        images.pull(ctx, options["Image"], platform=platform)
    def warn(message: str) -> None:
        warnings.append(message)
        ctx.sink.warning(message)

    record = creating.create(ctx.root, options, pull=puller, warn=warn)
    return {"Id": record.id, "Warnings": warnings}


def _is_directory(ref: str) -> bool:
    return (ref.startswith((".", "/")) or os.sep in ref) and os.path.isdir(ref)


def _puller(ctx: Context, policy: str, platform: str | None = None) -> Any:
    if policy not in ("never", "missing", "always"):
        raise UsageError(f'invalid pull option: \'{policy}\': must be one of "always", '
                         '"missing" or "never"')
    if policy == "never":
        return None

    def pull(store: Any, ref: str) -> Any:
        from minidocker.engine.service import images
        ctx.sink.status(f"Unable to find image '{ref}' locally")
        return images.pull_into(ctx, store, ref, platform)

    return pull


def _options(ctx: Context, body: dict[str, Any], name: str | None,
             warnings: list[str]) -> dict[str, Any]:
    """Docker's create body in the form engine.create.create takes: mounts parsed from
    HostConfig.Binds (-v syntax) and HostConfig.Mounts (Docker's structures) into Mounts,
    PortBindings as -p specs, the network options checked; Detach from the Attach*
    flags. A body from our CLI may hold PortBindings as a list of -p specs already."""
    from minidocker.engine import networking, volumes
    from minidocker.engine.service import validate
    if not body.get("Image"):
        raise UsageError("no image given: the create body needs Image")
    host = dict(body.get("HostConfig") or {})
    validate.config(body)
    validate.host_config(host)
    options = dict(body)
    options["Name"] = name if name is not None else body.get("Name")
    mounts = [volumes.parse_volume(b) for b in host.get("Binds") or []]
    mounts += [volumes.from_api_mount(m) for m in host.get("Mounts") or []]
    mounts += _volumes_from(ctx, host.get("VolumesFrom") or [],
                            {m["Destination"] for m in mounts})
    options["Mounts"] = mounts
    if host.get("KernelMemory"):  # as dockerd on a kernel without kmem accounting
        message = ("Your kernel does not support kernel memory limit capabilities or the "
                   "cgroup is not mounted. Limitation discarded.")
        warnings.append(message)
        ctx.sink.warning(message)
        host["KernelMemory"] = 0
    ports = host.get("PortBindings") or []
    if isinstance(ports, dict):
        ports = port_specs(ports)
    host["PortBindings"] = list(ports)
    if ports:  # a published port is an exposed one, as Docker's client makes it
        from minidocker.engine.index import container_ports
        options["ExposedPorts"] = {**dict.fromkeys(container_ports(ports), {}),
                                   **(options.get("ExposedPorts") or {})}
    if "Detach" not in options:
        options["Detach"] = not (body.get("AttachStdout") or body.get("AttachStderr") or
                                 body.get("AttachStdin"))
    for key in ("RestartPolicy", "LogConfig"):
        if not host.get(key):
            host.pop(key, None)  # Docker's clients send {} or {"Name": ""}: the default
    policy = host.get("RestartPolicy") or {}
    if policy and not policy.get("Name"):
        host.pop("RestartPolicy")
    if not host.get("Runtime") and ctx.runtime:
        host["Runtime"] = ctx.runtime
    networking_config = dict(body.get("NetworkingConfig") or {})
    endpoints = dict(networking_config.get("EndpointsConfig") or {})
    mode = host.get("NetworkMode") or "bridge"
    endpoint = dict(endpoints.get(mode) or (endpoints.get("bridge") if mode == "default"
                                            else None) or {})

    def warn(message: str) -> None:
        warnings.append(message)
        ctx.sink.warning(message)

    host = networking.check_options(ctx.root, host, endpoint, warn)
    for key in ("PidMode", "IpcMode"):  # container:NAME -> container:ID, as Docker keeps it
        mode = host.get(key) or ""
        if mode.startswith("container:"):
            host[key] = f"container:{find(ctx, mode[len('container:'):]).id}"
    if host.get("UTSMode") == "host" and body.get("Hostname"):
        raise UsageError("Conflicting options: hostname and the UTS mode")
    if endpoint:
        endpoints = {k: v for k, v in endpoints.items() if k not in (mode, "default")}
        options["NetworkingConfig"] = {"EndpointsConfig": {host["NetworkMode"]: endpoint,
                                                           **endpoints}}
    options["HostConfig"] = host
    return options


def _volumes_from(ctx: Context, sources: list[str], taken: set[str]) -> list[dict[str, Any]]:
    """--volumes-from NAME[:ro|rw]: the other container's volumes and bind mounts, at the
    same places (read-only with :ro, else as they are); a place the container mounts
    something of its own at keeps its own, as Docker's."""
    out = []
    for source in sources:
        ref, _, mode = source.partition(":")
        if mode not in ("", "ro", "rw"):
            raise UsageError(f"invalid mode for volumes-from: {mode}")
        for mount in find(ctx, ref).config.get("Mounts") or []:
            if mount.get("Type") not in ("volume", "bind") or mount["Destination"] in taken:
                continue
            mount = {k: v for k, v in mount.items() if k != "Anonymous"}
            if mode:
                mount["RW"] = mode == "rw"
            taken.add(mount["Destination"])
            out.append(mount)
    return out


def port_bindings(specs: list[str]) -> dict[str, list[dict[str, str]]]:
    """-p specs ("127.0.0.1:8080:80/tcp") as Docker's PortBindings (the inverse of
    port_specs): {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]}."""
    from minidocker.network.ports import parse_port_spec
    out: dict[str, list[dict[str, str]]] = {}
    for spec in specs:
        for one in parse_port_spec(spec):
            ip = "" if one.host_ip == "0.0.0.0" else one.host_ip
            if one.host_ports is None:
                port = ""
            else:
                first, last = one.host_ports
                port = str(first) if first == last else f"{first}-{last}"
            out.setdefault(f"{one.container_port}/{one.proto}", []).append(
                {"HostIp": ip, "HostPort": port})
    return out


def port_specs(bindings: dict[str, Any]) -> list[str]:
    """Docker's PortBindings ({"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}) as -p
    specs ("8080:80/tcp"); an empty HostPort is a random one."""
    specs = []
    for key, hosts in bindings.items():
        port, _, proto = str(key).partition("/")
        for h in hosts or [{}]:
            h = h or {}
            ip, hport = str(h.get("HostIp") or ""), str(h.get("HostPort") or "")
            spec = f"{ip}:{hport}:{port}" if ip else (f"{hport}:{port}" if hport else port)
            specs.append(f"{spec}/{proto or 'tcp'}")
    return specs


def start(ctx: Context, ref: str, *, attach: bool = False, interactive: bool = False,
          monitor: Any = None) -> AttachStream | None:
    """POST /containers/{id}/start. With `attach`, the container's stream, connected
    before it runs (no output is missed); `interactive` gives it our input. A running
    container is NotModified (with `attach`: its stream). `monitor`: a spare monitor
    (engine.start.spawn_spare) to hand the container to, which then serves an attached
    container in-process; it is closed (it exits) when not used."""
    from minidocker.engine import start as starting
    try:
        record = find(ctx, ref)
        sock = starting.start(record, attach=attach, interactive=interactive, sink=ctx.sink,
                              fork=ctx.may_fork(), monitor=monitor,
                              foreground=attach and monitor is not None)
    finally:
        if monitor is not None:
            monitor.close()  # after a hand-over: reaps the spare's first process
    return None if sock is None else _stream(record, sock, interactive)


def _stream(record: Record, sock: Any, interactive: bool) -> AttachStream:
    config = record.config.get("Config") or {}
    return AttachStream(sock, tty=bool(config.get("Tty")),
                        stdin=interactive and bool(config.get("OpenStdin")))


def prefork(ctx: Context, attach: bool = True) -> Any:
    """The monitor of a container about to be run, made ready now while the caller works
    out the create body (a front end's flags) and run() makes the record; give it to
    run(), which always disposes of it. An attached container (or a traced one: its
    steps are in the trace) gets one of its own, forked now when the context may fork,
    so that it imports the runtime on the other CPU (else None); a detached one a
    connection to the root's supervisor, started now if none runs."""
    import minidocker
    from minidocker.engine.start import prefork_monitor
    if attach or minidocker.TRACE:
        return prefork_monitor() if ctx.may_fork() else None
    from minidocker.engine import supervisor
    return supervisor.connect(ctx.root)


def run(ctx: Context, body: CreateBody | dict[str, Any], *, name: str | None = None,
        attach: bool = False, interactive: bool = False, pull: str = "missing",
        platform: str | None = None, monitor: Any = None
        ) -> tuple[CreateResponse, AttachStream | None]:
    """create, then start (`docker run`): the create response and, with `attach`, the
    stream. A container that fails to start is removed (nothing is left behind).
    Its monitor, or the supervisor's connection, is made first (or was, by prefork()):
    see prefork()."""
    from minidocker.engine import start as starting
    from minidocker.errors import MinidockerError
    if monitor is None:
        monitor = prefork(ctx, attach)
    try:
        created = create(ctx, body, name=name, pull=pull, platform=platform)
        try:
            record = find(ctx, created["Id"])
        except NotFound:  # rm -f raced it
            raise Conflict(f"container {created['Id'][:12]} was removed while it was "
                           "starting (rm -f)") from None
        try:
            sock = starting.start(record, attach=attach, interactive=interactive,
                                   foreground=not getattr(monitor, "supervised", False)
                                   and (attach or monitor is not None),
                                   monitor=monitor, sink=ctx.sink, fork=ctx.may_fork())
        except (MinidockerError, OSError) as e:  # (OSError: its files went under us)
            if _removed(record) or "marked for removal" in str(e):  # rm -f raced it
                raise Conflict(f"container {record.id[:12]} was removed while it was "
                               "starting (rm -f)") from e
            try:
                from minidocker.engine.control import remove_files
                remove_files(record.reload(), volumes=True)
            except MinidockerError:
                pass
            raise
    finally:
        if monitor is not None:
            monitor.close()  # unused (an error before start): it exits
    return created, None if sock is None else _stream(record, sock, interactive)


def why_the_stream_ended(ctx: Context, ref: str) -> str:
    """What to tell the user when an attached stream ended without the container's exit
    code: an rm -f removed the container (its monitor killed with it), or the monitor
    itself was lost."""
    try:
        record = find(ctx, ref)
    except NotFound:
        return f"container {ref[:12]} was removed while it was running (rm -f)"
    if _removed(record):
        return f"container {record.id[:12]} was removed while it was running (rm -f)"
    return "lost the container's monitor"


def _removed(record: Record) -> bool:
    """Whether a container is gone or going (an rm -f while it started): its files gone,
    or a remover holding its remove.lock (its "removing" mark alone is not enough: the
    monitor whose start the removal broke records that failure over it)."""
    if not os.path.isdir(record.path("upper")) or not os.path.exists(record.path("config.json")):
        return True
    from minidocker.engine.records import Lock
    if Lock.held(record.path("remove.lock")):
        return True
    try:
        return record.reload().state.get("Status") == "removing"
    except MinidockerError:
        return True


# ---- stop, kill, restart, pause, remove, rename, wait ------------------------------------------


def stop(ctx: Context, ref: str, *, timeout: int | None = None,
         signal: str | int | None = None) -> None:
    """POST /containers/{id}/stop: the stop signal, then SIGKILL after `timeout` seconds
    (the container's StopTimeout, else 10; -1 waits forever). NotModified if not running."""
    from minidocker.engine import control
    record = find(ctx, ref)
    sig = _signal(signal) if signal is not None else None
    if not control.stop(record, timeout, sig):
        raise NotModified(f"container {record.id[:12]} is not running")


def _signal(value: str | int) -> int:
    from minidocker.runtime.operations import parse_signal
    return parse_signal(str(value))


def kill(ctx: Context, ref: str, *, signal: str | int = "SIGKILL") -> None:
    """POST /containers/{id}/kill. Conflict if the container is not running."""
    from minidocker.engine import control
    sig = _signal(signal)
    control.kill(find(ctx, ref), sig)


def restart(ctx: Context, ref: str, *, timeout: int | None = None) -> None:
    """POST /containers/{id}/restart: stop (if running), then start."""
    from minidocker.engine import control
    from minidocker.engine import start as starting
    record = find(ctx, ref)
    control.stop(record, timeout)
    try:
        starting.start(record, attach=False, sink=ctx.sink, fork=ctx.may_fork())
    except NotModified:
        pass  # its restart policy started it again meanwhile


def pause(ctx: Context, ref: str) -> None:
    """POST /containers/{id}/pause (the freezer). Conflict unless running."""
    from minidocker.engine import control
    control.pause(find(ctx, ref))


def unpause(ctx: Context, ref: str) -> None:
    from minidocker.engine import control
    control.unpause(find(ctx, ref))


def remove(ctx: Context, ref: str, *, force: bool = False, volumes: bool = False) -> None:
    """DELETE /containers/{id}: a stopped container (a running one with `force`, killed
    first), its mounts, network endpoints, anonymous volumes with `volumes`."""
    from minidocker.engine import control
    control.remove(find(ctx, ref), force, volumes)


def rename(ctx: Context, ref: str, new_name: str) -> None:
    """POST /containers/{id}/rename. Conflict if the name is taken."""
    from minidocker.engine.records import Records, check_name
    record = find(ctx, ref)
    new = check_name(new_name)
    old = record.name
    if new == old:
        raise UsageError("renaming a container with the same name as its current name")
    records = Records(ctx.root)
    # each step leaves a record whose removal releases every name it may hold: the new
    # name is noted before it is taken, the old one kept until it is released
    with record.lock():
        config = dict(record.reload().config)
        config["NewName"] = "/" + new
        record.save_config(config)
    try:
        records.take_name(new, record.id)
    except BaseException:
        with record.lock():
            config = dict(record.reload().config)
            config.pop("NewName", None)
            record.save_config(config)
        raise
    with record.lock():
        config = dict(record.reload().config)
        config.pop("NewName", None)
        config.update(Name="/" + new, OldName="/" + old)
        record.save_config(config)
    records.release_name(old, record.id)
    from minidocker.engine import events
    events.emit(record, "rename", oldName="/" + old)


# what POST /containers/{id}/update (docker update) may change
UPDATE_KEYS = ("BlkioWeight", "CpuShares", "CpuPeriod", "CpuQuota", "CpuRealtimePeriod",
               "CpuRealtimeRuntime", "CpusetCpus", "CpusetMems", "Memory", "MemorySwap",
               "MemoryReservation", "KernelMemory", "NanoCpus", "PidsLimit", "RestartPolicy")


def update(ctx: Context, ref: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST /containers/{id}/update (docker update): the resources of a container (a
    running one's cgroup changes at once) and its restart policy; {"Warnings": [...]}.
    A value left out, or 0, keeps the one the container has, as Docker's."""
    from minidocker.engine import bundle, events
    from minidocker.engine.service import validate
    changes = {k: v for k, v in body.items() if k in UPDATE_KEYS and v not in (None, "")
               and (v != 0 or k == "PidsLimit")}
    unknown = sorted(k for k in body if k not in UPDATE_KEYS and k not in (
        "OomKillDisable", "Devices", "Ulimits", "DeviceCgroupRules", "BlkioWeightDevice",
        "KernelMemoryTCP", "MemorySwappiness", "CpuCount", "CpuPercent", "IOMaximumIOps",
        "IOMaximumBandwidth", "BlkioDeviceReadBps", "BlkioDeviceWriteBps",
        "BlkioDeviceReadIOps", "BlkioDeviceWriteIOps", "DeviceRequests")
        and body[k] not in (None, 0, "", [], {}, False))
    if unknown:
        raise UsageError(f"update of {', '.join(unknown)} is not supported")
    validate.host_config(changes, update=True)
    record = find(ctx, ref)
    warnings: list[str] = []
    with record.lock():
        config = dict(record.reload().config)
        host = dict(config.get("HostConfig") or {})
        if "Memory" in changes and "MemorySwap" not in changes:
            swap = int(host.get("MemorySwap") or 0)
            if swap > 0 and changes["Memory"] > swap:
                raise UsageError("Memory limit should be smaller than already set memoryswap "
                                 "limit, update the memoryswap at the same time")
        if changes.get("PidsLimit") is not None and changes["PidsLimit"] <= 0:
            changes["PidsLimit"] = None  # 0 or -1: unlimited
        policy = changes.get("RestartPolicy")
        if policy is not None and not policy.get("Name"):
            del changes["RestartPolicy"]
        if (changes.get("RestartPolicy") or {}).get("Name", "no") != "no" and \
                host.get("AutoRemove"):
            raise Conflict("Restart policy cannot be updated because AutoRemove is enabled "
                           "for the container")
        host.update(changes)
        validate.host_config({k: host.get(k) for k in UPDATE_KEYS}, update=True)
        resources = bundle.resources(host)
        resources.pop("devices", None)
        if "PidsLimit" in changes and changes["PidsLimit"] is None:
            resources["pids"] = {"limit": -1}
        if _live(record).get("Status") in RUNNING and any(
                k != "RestartPolicy" for k in changes):
            from minidocker.engine.runtimes import get as runtime
            from minidocker.errors import MinidockerError
            try:
                runtime(host.get("Runtime") or "", ctx.root).update(record.id, resources)
            except MinidockerError as e:
                raise UsageError(f"Cannot update container {record.id}: {e.message}") from None
        config["HostConfig"] = host
        record.save_config(config)
        _update_bundle(record, resources)
    events.emit(record, "update")
    return {"Warnings": warnings}


def _update_bundle(record: Record, resources: dict[str, Any]) -> None:
    """The next start of the container gets the new resources too."""
    from minidocker import jsonfast
    from minidocker.engine.records import write_atomic
    path = record.path("bundle", "config.json")
    with open(path, "rb") as f:
        spec = jsonfast.loads(f.read())
    linux = spec.setdefault("linux", {})
    current = dict(linux.get("resources") or {})
    current.update(resources)
    if (current.get("pids") or {}).get("limit") == -1:
        current.pop("pids")
    linux["resources"] = current
    write_atomic(path, jsonfast.dumps_spaced(spec).encode())


def wait(ctx: Context, ref: str, *, condition: str = "not-running",
         stop: Any = None) -> WaitResponse:
    """POST /containers/{id}/wait: block until the container is not running
    ("not-running"), has exited once more ("next-exit") or is removed ("removed"); its
    exit code. A container removed meanwhile (--rm) gives the code it exited with.
    As soon as `stop` (a threading.Event: the API's client left) is set: StatusCode -1
    and an Error."""

    from minidocker.engine import liveness
    if condition not in ("not-running", "next-exit", "removed"):
        raise UsageError(f"invalid condition {condition!r}: not-running, next-exit or removed")
    record = find(ctx, ref)
    finished = str(record.state.get("FinishedAt", ""))
    code = 0
    while True:
        if stop is not None and stop.is_set():
            return {"StatusCode": -1, "Error": {"Message": "the wait was stopped"}}
        try:
            state = liveness.live_state(record.reload())
        except NotFound:  # removed (--rm), perhaps between two looks: its die event
            return {"StatusCode": _last_exit_code(ctx, record.id, code), "Error": None}
        code = int(state.get("ExitCode") or 0)
        stopped = state.get("Status") not in RUNNING
        if condition == "not-running" and stopped:
            return {"StatusCode": code, "Error": None}
        if condition == "next-exit" and stopped and state.get("FinishedAt") != finished:
            return {"StatusCode": code, "Error": None}
        time.sleep(0.01 if condition == "not-running" else 0.05)


def _last_exit_code(ctx: Context, cid: str, seen: int) -> int:
    """The exit code of the container's last `die` event (`seen` without one): a
    container removed by --rm took its record, and the code in it, along."""
    import time

    from minidocker.engine import events
    for event in events.stream(ctx.root, since=0.0, until=time.time(),
                               filters={"container": [cid], "event": ["die"]}):
        seen = int((event.get("Actor") or {}).get("Attributes", {}).get("exitCode", seen))
    return seen


# ---- attach, logs ----------------------------------------------------------------------------


def attach(ctx: Context, ref: str, *, stdin: bool = True) -> AttachStream:
    """POST /containers/{id}/attach: a stream of the running container's output (and its
    input when it was created with OpenStdin and `stdin`). Conflict if it is not running."""
    from minidocker.engine import start as starting
    record = find(ctx, ref)
    if _live(record).get("Status") not in ("running", "paused"):
        raise Conflict("you cannot attach to a stopped container, start it first")
    return _stream(record, starting.connect_attach(record), stdin)


def logs(ctx: Context, ref: str, *, follow: bool = False, tail: int | None = None,
         since: float = 0.0, until: float | None = None, stdout: bool = True,
         stderr: bool = True, stop: Any = None) -> Iterator[LogEntry]:
    """GET /containers/{id}/logs: the log's entries ({"log", "stream", "time"}), the last
    `tail` of them, from `since` and before `until` (seconds since the epoch), then with
    `follow` the new ones until the container stops, or until `stop` (a threading.Event)
    is set. Close the iterator to stop early."""
    from minidocker.engine import logs as log_files
    from minidocker.errors import MinidockerError
    record = find(ctx, ref)
    if ((record.config.get("HostConfig") or {}).get("LogConfig") or {}).get("Type") == "none":
        raise MinidockerError("configured logging driver does not support reading")
    if tail is not None and tail < 0:
        tail = None

    def running() -> bool:
        if stop is not None and stop.is_set():
            return False
        try:
            return _live(record.reload()).get("Status") in RUNNING
        except MinidockerError:
            return False

    entries = log_files.follow(record, tail=tail, since=since, until=until, follow=follow,
                               running=running)
    if stdout and stderr:
        return entries  # type: ignore[return-value]
    wanted = "stdout" if stdout else "stderr" if stderr else ""
    return (e for e in entries if e.get("stream") == wanted)  # type: ignore[misc]


# ---- what runs: top, stats, port ---------------------------------------------------------------


def top(ctx: Context, ref: str, ps_args: list[str] | None = None) -> TopResponse:
    """GET /containers/{id}/top: `ps` (default -ef) of the container's processes."""
    import subprocess

    from minidocker.engine import liveness
    from minidocker.errors import MinidockerError
    record = find(ctx, ref)
    if _live(record).get("Status") not in ("running", "paused"):
        raise Conflict(f"container {record.id} is not running")
    pids = {str(p) for p in liveness.runtime_of(record).pids(record.id)}
    out = subprocess.run(["ps", *(ps_args or ["-ef"])], capture_output=True, text=True,
                         stdin=subprocess.DEVNULL)
    if out.returncode != 0:
        raise UsageError(f"ps: {out.stderr.strip()}")
    lines = out.stdout.splitlines()
    if not lines:
        return {"Titles": [], "Processes": []}
    titles = lines[0].split()
    if "PID" not in titles:
        raise MinidockerError("couldn't find PID field in ps output")
    col = titles.index("PID")
    processes = []
    for line in lines[1:]:
        fields = line.split(None, len(titles) - 1)
        if len(fields) > col and fields[col] in pids:
            processes.append(fields)
    return {"Titles": titles, "Processes": processes}


def stats(ctx: Context, ref: str) -> dict[str, Any]:
    """GET /containers/{id}/stats?stream=false: one sample in Docker's shape (read,
    cpu_stats, memory_stats, pids_stats, blkio_stats, networks; precpu_stats empty).
    Percentages need two samples: see stats_stream."""
    from minidocker.engine import stats as sampling
    record = find(ctx, ref)
    return sampling.sample(record, _live(record))


def stats_stream(ctx: Context, ref: str, *, interval: float = 1.0, stop: Any = None
                 ) -> Iterator[dict[str, Any]]:
    """GET /containers/{id}/stats: a sample every `interval` seconds, each with the one
    before as precpu_stats (the first after one interval, as Docker's). Ends when the
    container is gone; close it to stop."""

    from minidocker.engine import stats as sampling
    record = find(ctx, ref)
    before = sampling.sample(record, _live(record))
    while stop is None or not stop.wait(interval):
        if stop is None:
            time.sleep(interval)
        try:
            after = sampling.sample(record.reload(), _live(record))
        except NotFound:
            return
        after["precpu_stats"] = before["cpu_stats"]
        yield after
        before = after


def port(ctx: Context, ref: str) -> list[Port]:
    """The published ports of a running container: [{IP, PublicPort, PrivatePort,
    Type}], sorted by container port (`docker port`)."""
    from minidocker.engine.networking import published
    mappings = sorted(published(_live(find(ctx, ref))), key=lambda m: (m[2], m[3], m[0], m[1]))
    return [{"IP": hip, "PublicPort": hport, "PrivatePort": cport, "Type": proto}
            for hip, hport, cport, proto in mappings]


def explain(ctx: Context, ref: str) -> dict[str, Any]:
    """What isolates a running container, read from the kernel: {Id, Name, Pid, Facts},
    each fact with its values, a plain-language explanation and a docs pointer
    (engine/explain.py). Conflict when it is not running."""
    from minidocker.engine.explain import explain
    record = find(ctx, ref)
    state = _live(record)
    if state.get("Status") not in ("running", "paused") or not state.get("Pid"):
        raise Conflict(f"container {ref} is not running: explain reads a running "
                       "container's facts from the kernel",
                       hint=f"start it first: minidocker start {ref}")
    return explain(record, int(state["Pid"]))


# ---- inspect, list, prune ----------------------------------------------------------------------


def inspect(ctx: Context, ref: str, *, size: bool = False) -> dict[str, Any]:
    """GET /containers/{id}/json: Docker's inspect document (with `size`: SizeRw and
    SizeRootFs)."""
    from minidocker.engine.records import CorruptRecord
    from minidocker.engine.service.execs import running_ids
    from minidocker.engine.views import inspect_doc
    record = find(ctx, ref)
    state = _live(record)
    try:
        doc = inspect_doc(record, state)
    except (ValueError, TypeError, AttributeError, KeyError) as e:  # unforeseen fields
        raise CorruptRecord(f"container {record.id[:12]}: its record is corrupt: "
                            f"{type(e).__name__}: {e}",
                            hint=f"remove it: minidocker rm -f {record.id[:12]}") from None
    doc["ExecIDs"] = running_ids(record) or None
    host = doc["HostConfig"] = dict(doc.get("HostConfig") or {})
    if isinstance(host.get("PortBindings"), list):  # -p specs, as the record keeps them
        host["PortBindings"] = port_bindings(host["PortBindings"])
    if size:
        from minidocker.fs import du
        doc["SizeRw"] = du(record.path("upper"))
        doc["SizeRootFs"] = doc["SizeRw"] + sum(du(p) for p in record.config.get("Lowers") or [])
    return doc


def ls(ctx: Context, *, all: bool = False, limit: int = 0,  # noqa: A002
       filters: dict[str, list[str]] | None = None, size: bool = False,
       ids_only: bool = False, keys: Collection[str] | None = None
       ) -> list[ContainerSummary]:
    """GET /containers/json: summaries of the running containers (every one with `all`,
    with `limit` > 0, or with a status/exited filter), newest first, at most `limit`.
    `filters` as Docker's: {"status": ["exited"], "label": ["a=b"], ...}; values of one
    key are ORed, keys ANDed. Stale network state of crashed containers is cleaned as it
    goes. `keys`: the summary's keys the caller reads (the others may be left out);
    `ids_only`: each summary holds only Id."""
    columns = ls_columns(ctx, all=all, limit=limit, filters=filters,
                         size=size and not ids_only, keys=("Id",) if ids_only else keys)
    names = list(columns)
    return [dict(zip(names, values, strict=True))  # type: ignore[misc]
            for values in zip(*columns.values(), strict=True)]


def ls_columns(ctx: Context, *, all: bool = False, limit: int = 0,  # noqa: A002
               filters: dict[str, list[str]] | None = None, size: bool = False,
               keys: Collection[str] | None = None) -> dict[str, list[Any]]:
    """ls()'s summaries column by column: key -> the values of the listed containers in
    their order (views.summary_columns; `ps` renders 10,000 of them without a dict each).
    Read from the container index (engine/index.py), with the ones it calls running
    checked against the kernel's facts."""
    from minidocker.engine import views
    pairs = check_filters(filters or {})
    after, before = _created_bounds(ctx, pairs)
    pairs = [(k, v) for k, v in pairs if k not in ("since", "before")]
    show_all = all or limit > 0 or any(k in ("status", "exited") for k, _ in pairs)
    from minidocker.engine.index import Index
    index = Index(ctx.root)
    wanted = views.SUMMARY_KEYS if keys is None else keys

    def listing() -> dict[str, list[Any]]:
        rows = _listed(ctx, index, show_all, pairs, after, before)
        return views.summary_columns(rows[:limit] if limit > 0 else rows, time.time(),
                                     wanted)
    try:
        columns = listing()
    except ValueError:  # a field that is not one we write: all again, from the records
        index.discard()
        columns = listing()
    if size:  # Docker's SizeRw, and SizeRootFs with the image's layers (each measured once)
        from minidocker.engine.records import Record
        from minidocker.fs import du
        image_sizes: dict[tuple[str, ...], int] = {}
        columns["SizeRw"], columns["SizeRootFs"] = [], []
        for cid in columns["Id"]:
            record = Record(ctx.root, cid)
            rw = du(record.path("upper"))
            try:
                lowers = tuple(record.config.get("Lowers") or ())
            except MinidockerError:
                lowers = ()
            if lowers not in image_sizes:
                image_sizes[lowers] = sum(du(p) for p in lowers)
            columns["SizeRw"].append(rw)
            columns["SizeRootFs"].append(rw + image_sizes[lowers])
    return columns


_CLAIMS_TO_RUN = (*RUNNING, "removing")


def _listed(ctx: Context, index: Any, show_all: bool, pairs: list[tuple[str, str]],
            after: float | None, before: float | None) -> list[Any]:
    """The index rows of the containers to list, newest first: the ones it calls
    running checked by their pids (those that fail, and the records it does not know or
    is unsure of, read and reconciled through live_state). ValueError: a row with a field
    we never write."""
    from minidocker.engine import views
    from minidocker.engine.index import R_CREATED, R_ID, R_STATUS, created, row_of
    from minidocker.engine.liveness import live_state
    from minidocker.engine.records import CorruptRecord, IncompleteRecord, Record
    rows, unknown = index.rows(running=not show_all)  # one file, not 20,000 files
    alive: set[str] = set()  # running by the kernel's facts
    recheck: list[str] = []
    monitors: dict[tuple[int, int], bool] = {}
    for row in [row for row in rows if row[R_STATUS] in _CLAIMS_TO_RUN]:
        if _running_by_facts(row, monitors):
            alive.add(row[R_ID])
        else:
            recheck.append(row[R_ID])  # exited meanwhile, or its monitor died
    if show_all:
        failed = set(recheck)
        listed = [row for row in rows if row[R_ID] not in failed] if failed else rows
    else:
        listed = [row for row in rows if row[R_ID] in alive]
    if pairs:
        listed = views.filter_rows(listed, pairs)
    read = []
    for cid in unknown + recheck:
        record = Record(ctx.root, cid)
        try:
            state = live_state(record)  # reconciles (and the index hears of it)
            if cid in unknown:
                index.repair(record)
            if state.get("Status") in RUNNING:
                alive.add(cid)
            elif not show_all:
                continue
            if pairs and not views.matches(record, state, pairs):
                continue
            read.append(row_of(cid, record.config, state))
        except (CorruptRecord, IncompleteRecord, ValueError) as e:
            _report_broken(ctx, record, e)
            continue
        except MinidockerError:
            continue  # a record being created or removed right now
    from minidocker.engine.networking import cleanup_stale
    cleanup_stale(ctx.root, alive=alive)  # what a crash left: veths, port rules, leases
    if read:
        listed += read
        listed.sort(key=created, reverse=True)
    if after is not None or before is not None:
        listed = [row for row in listed if (after is None or float(row[R_CREATED]) > after)
                  and (before is None or float(row[R_CREATED]) < before)]
    return listed


def _running_by_facts(row: Any, monitors: dict[tuple[int, int], bool]) -> bool:
    """Whether a record whose index row says running is so by the kernel's facts, as
    liveness.live_state decides it (else the record is read and reconciled): its init
    alive (pid and start time), and its monitor (one check per monitor: a supervisor
    serves many)."""
    from minidocker.engine import index as ix
    from minidocker.engine.liveness import alive
    monitor = (int(row[ix.R_MONITOR] or 0), int(row[ix.R_MONITOR_START] or 0))
    if monitor not in monitors:
        monitors[monitor] = alive(*monitor)
    if not monitors[monitor] or row[ix.R_STATUS] == "removing":
        return False
    return row[ix.R_STATUS] == "restarting" or alive(int(row[ix.R_PID] or 0),
                                                      int(row[ix.R_PID_START] or 0))


def _report_broken(ctx: Context, record: Record, error: Exception) -> None:
    """A record that cannot be listed: a warning with its id (rm -f removes it); none for
    one missing its files for less than a minute (a create or removal running now)."""
    from minidocker.engine.records import IncompleteRecord
    from minidocker.errors import MinidockerError
    if isinstance(error, IncompleteRecord):
        try:
            if time.time() - os.stat(record.dir).st_mtime < 60:
                return
        except OSError:
            return  # removed meanwhile
    elif not isinstance(error, MinidockerError):  # a field the checks did not foresee
        error = MinidockerError(f"container {record.id[:12]}: its record is corrupt: "
                                f"{type(error).__name__}: {error}",
                                hint=f"remove it: minidocker rm -f {record.id[:12]}")
    hint = getattr(error, "hint", None)
    ctx.sink.warning(f"{error}" + (f" ({hint})" if hint else ""))


def check_filters(filters: dict[str, list[str]]) -> list[tuple[str, str]]:
    """Docker's filters map as (key, value) pairs; a key or status it has not: UsageError."""
    from minidocker.engine import views
    pairs = []
    for key, values in filters.items():
        if key not in LIST_FILTERS:
            raise UsageError(f"invalid filter '{key}'")
        for value in values:
            if key == "status" and value not in STATUSES:
                raise UsageError(f"invalid filter 'status={value}'")
            if key == "health" and value not in views.HEALTH_STATUSES:
                raise UsageError(f"Unrecognised filter value for health: {value}")
            if key in ("expose", "publish"):
                views.port_filter(key, value)
            pairs.append((key, value))
    return pairs


def _created_bounds(ctx: Context, pairs: list[tuple[str, str]]
                    ) -> tuple[float | None, float | None]:
    """since= and before= (a container's name or id; the last one given counts, as
    Docker's): created after the one, before the other."""
    from minidocker.units import parse_time
    bounds: dict[str, float] = {}
    for key, value in pairs:
        if key in ("since", "before"):
            bounds[key] = parse_time(find(ctx, value).config.get("Created", ""))
    return bounds.get("since"), bounds.get("before")


def prune(ctx: Context, *, filters: dict[str, list[str]] | None = None) -> PruneReport:
    """POST /containers/prune: every stopped container (and records a crashed create
    left); filters label=, label!= and until= as Docker's."""
    from minidocker.engine import control, liveness
    from minidocker.engine.records import Records
    from minidocker.engine.service.filters import check_prune, created_before, labels_match
    from minidocker.engine.service.filters import until as until_filter
    from minidocker.errors import MinidockerError
    from minidocker.fs import du
    wanted = check_prune(filters or {})
    limit = until_filter(wanted)
    removed, reclaimed = [], 0
    records = Records(ctx.root)
    for record in records.all():
        if not record.exists():
            try:
                if time.time() - os.stat(record.dir).st_mtime > 60:
                    control.remove_broken(record)  # what a create that died left
            except OSError:
                pass
            continue
        try:
            state = liveness.live_state(record)
            if state.get("Status") not in ("exited", "created", "dead"):
                continue
            if not labels_match(record.config["Config"].get("Labels") or {}, wanted) or \
                    not created_before(record.config.get("Created", ""), limit):
                continue
            size = du(record.path("upper"))
            control.remove(record)
        except MinidockerError:
            continue
        reclaimed += size
        removed.append(record.id)
    records.sweep_names()  # names that removals or renames cut short left behind
    from minidocker.engine import runtimes
    runtimes.get("", ctx.root).sweep()  # runtime state dirs of creates killed early
    return {"ContainersDeleted": removed, "SpaceReclaimed": reclaimed}


# ---- the filesystem: commit, export, cp, diff ---------------------------------------------------


class _RootfsView:
    """The container's filesystem mounted for the duration of a `with` block (cp, export,
    commit of a directory image), unless it is mounted already (running)."""

    def __init__(self, record: Record):
        self.record = record
        self.mounted = False

    def __enter__(self) -> str:
        from minidocker.engine.start import rootfs_view
        path, self.mounted = rootfs_view(self.record)
        return path

    def __exit__(self, *exc: object) -> None:
        if self.mounted:
            from minidocker.engine.start import unmount_rootfs
            unmount_rootfs(self.record)


def commit(ctx: Context, ref: str, *, repo: str | None = None, comment: str = "",
           author: str = "", changes: list[str] | tuple[str, ...] = (), pause: bool = True
           ) -> dict[str, str]:
    """POST /commit: a new image from the container's changes (paused meanwhile unless
    `pause` is False), with Dockerfile `changes` applied; {"Id": image id}."""
    import json

    from minidocker.engine import control
    from minidocker.image import commit as image_commit
    from minidocker.image.store import Store
    record = find(ctx, ref)
    store = Store(ctx.root)
    config = record.config
    cfg = config["Config"]
    container_config = {k: cfg[k] for k in ("Env", "Cmd", "Entrypoint", "WorkingDir", "User",
                                            "Labels", "ExposedPorts", "StopSignal",
                                            "Volumes") if cfg.get(k)}
    paused = False
    if pause and _live(record).get("Status") == "running":
        control.pause(record)
        paused = True
    try:
        image_id = str(config.get("Image", ""))
        base = store.try_lookup(image_id) if image_id.startswith("sha256:") else None
        if base is not None:
            image = image_commit.commit_container(
                store, record.path("upper"), base, ref=repo, changes=list(changes),
                comment=comment, author=author, container_config=container_config)
        else:  # a directory image: the whole filesystem becomes the one layer
            with _RootfsView(record) as view:
                given = [c.split(None, 1)[0].upper() for c in changes if c.strip()]
                extra = [f"{k.upper()} {json.dumps(cfg[k])}" for k in ("Cmd", "Entrypoint")
                         if cfg.get(k) and k.upper() not in given]
                image = image_commit.import_rootfs(store, view, ref=repo,
                                                   changes=list(changes) + extra,
                                                   message=comment)
    finally:
        if paused:
            control.unpause(record)
    return {"Id": image.id}


def export(ctx: Context, ref: str, out: IO[bytes]) -> None:
    """GET /containers/{id}/export: the container's filesystem as a tar, written to `out`."""
    from minidocker.engine import files
    with _RootfsView(find(ctx, ref)) as root:
        files.export(root, out)


def copy_out(ctx: Context, ref: str, path: str, dest: str, *, follow: bool = False,
             archive: bool = False) -> None:
    """`docker cp CONTAINER:PATH DEST`: copy out to a local path, by docker cp's rules
    (the container's side read by a child chrooted into its filesystem)."""
    from minidocker.engine import files
    with _RootfsView(find(ctx, ref)) as root:
        files.copy_out(root, path, dest, follow=follow, archive=archive)


def get_archive(ctx: Context, ref: str, path: str, out: IO[bytes], *,
                follow: bool = False) -> None:
    """GET /containers/{id}/archive: a tar of PATH written to `out` (`docker cp ... -`)."""
    from minidocker.engine import files
    with _RootfsView(find(ctx, ref)) as root:
        files.copy_out(root, path, out, follow=follow, archive=True)


def copy_in(ctx: Context, ref: str, src: str, path: str, *, archive: bool = False,
            follow: bool = False) -> None:
    """`docker cp SRC CONTAINER:PATH` from a local path (-L: follow SRC's last link)."""
    from minidocker.engine import files
    with _RootfsView(find(ctx, ref)) as root:
        files.copy_in(root, os.path.realpath(src) if follow else src, path,
                      archive=archive)


def put_archive(ctx: Context, ref: str, path: str, source: IO[bytes], *,
                archive: bool = False) -> None:
    """PUT /containers/{id}/archive: unpack the tar `source` into the directory PATH
    (entries may not reach above it)."""
    from minidocker.engine import files
    with _RootfsView(find(ctx, ref)) as root:
        files.copy_in_archive(root, source, path, archive=archive)


def stat_path(ctx: Context, ref: str, path: str) -> PathStat:
    """HEAD /containers/{id}/archive: what PATH is in the container (its name, size,
    Go's FileMode bits, mtime, a link's target), resolved inside its filesystem (every
    symlink stays in it, RESOLVE_IN_ROOT). NotFound."""
    import stat as st

    from minidocker.linux import libc
    with _RootfsView(find(ctx, ref)) as root:
        root_fd = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            rel = path.strip("/") or "."
            try:
                fd = libc.openat2(root_fd, rel, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC,
                                  libc.RESOLVE_IN_ROOT)
            except FileNotFoundError:
                raise NotFound(f"Could not find the file {path} in container {ref}") from None
            try:
                info = os.fstat(fd)
                target = os.readlink("", dir_fd=fd) if st.S_ISLNK(info.st_mode) else ""
            finally:
                os.close(fd)
        finally:
            os.close(root_fd)
    mode = st.S_IMODE(info.st_mode)
    for test, bit in ((st.S_ISDIR, 1 << 31), (st.S_ISLNK, 1 << 27), (st.S_ISBLK, 1 << 26),
                      (st.S_ISFIFO, 1 << 25), (st.S_ISSOCK, 1 << 24),
                      (st.S_ISCHR, (1 << 26) | (1 << 21))):
        if test(info.st_mode):
            mode |= bit
    if info.st_mode & st.S_ISUID:
        mode |= 1 << 23
    if info.st_mode & st.S_ISGID:
        mode |= 1 << 22
    if info.st_mode & st.S_ISVTX:
        mode |= 1 << 20
    mtime = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(info.st_mtime)) + \
        f".{info.st_mtime_ns % 10**9:09d}Z"
    return {"name": os.path.basename(path.rstrip("/")) or "/", "size": info.st_size,
            "mode": mode, "mtime": mtime, "linkTarget": target}


def resize(ctx: Context, ref: str, rows: int, cols: int) -> None:
    """POST /containers/{id}/resize: the container's terminal size (a container without
    a tty ignores it). Conflict if it is not running."""
    stream = attach(ctx, ref, stdin=False)
    try:
        stream.resize(rows, cols)
    finally:
        stream.close()


def diff(ctx: Context, ref: str) -> list[Change]:
    """GET /containers/{id}/changes: [{"Path", "Kind"}] (0 modified, 1 added, 2 deleted)."""
    from minidocker.engine import files
    record = find(ctx, ref)
    kinds = {"C": 0, "A": 1, "D": 2}
    return [{"Path": path, "Kind": kinds[kind]} for kind, path in
            files.diff(record.path("upper"), list(record.config.get("Lowers") or []))]


class AttachStream:
    """A client of the container's monitor: its output as (kind, data), input, resize,
    signals; `exit_code` once the container has ended (None if the stream was cut)."""

    def __init__(self, sock: _socket.socket, *, tty: bool, stdin: bool):
        self.sock = sock
        self.tty = tty          # the container has a terminal: one stream, raw bytes
        self.stdin = stdin      # the container's stdin is open and ours to write
        self.exit_code: int | None = None
        self._buf = b""

    def fileno(self) -> int:
        return self.sock.fileno()

    def read(self) -> tuple[int, bytes] | None:
        """The next piece of output: (STDOUT or STDERR, data); None at the end (the
        container exited: see exit_code; or the monitor went away)."""
        from minidocker.engine.monitor import EXIT
        while True:
            frame = self._next_frame()
            if frame is None:
                try:
                    data = self.sock.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    return None
                self._buf += data
                continue
            kind, payload = frame
            if kind == EXIT:
                self.exit_code = int(payload or b"0")
                return None
            return (STDERR if kind == STDERR else STDOUT), payload

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        """For callers with their own poll loop: the output in `data` just received from
        the socket, as (kind, bytes) pieces; sets exit_code when the end is in it."""
        from minidocker.engine.monitor import EXIT
        self._buf += data
        out = []
        while self.exit_code is None:
            frame = self._next_frame()
            if frame is None:
                break
            kind, payload = frame
            if kind == EXIT:
                self.exit_code = int(payload or b"0")
                break
            out.append(((STDERR if kind == STDERR else STDOUT), payload))
        return out

    def _next_frame(self) -> tuple[int, bytes] | None:
        buf = self._buf
        if len(buf) < 5:
            return None
        length = int.from_bytes(buf[1:5], "big")
        if len(buf) < 5 + length:
            return None
        self._buf = buf[5 + length:]
        return buf[0], buf[5:5 + length]

    def _send(self, kind: int, payload: bytes) -> None:
        from minidocker.engine.monitor import frame
        try:
            self.sock.sendall(frame(kind, payload))
        except OSError:
            pass  # the monitor is gone: read() says so

    def write(self, data: bytes) -> None:
        """Input for the container's stdin."""
        from minidocker.engine.monitor import STDIN
        if data:
            self._send(STDIN, data)

    def close_stdin(self) -> None:
        """End of input: the container reads EOF (Docker's half-close)."""
        from minidocker.engine.monitor import STDIN_EOF
        self._send(STDIN_EOF, b"")

    def resize(self, rows: int, cols: int) -> None:
        from minidocker.engine.monitor import RESIZE
        self._send(RESIZE, f"{int(rows)} {int(cols)}".encode())

    def signal(self, signum: int) -> None:
        """Deliver a signal to the container's main process (sig-proxy)."""
        from minidocker.engine.monitor import SIGNAL
        self._send(SIGNAL, str(int(signum)).encode())

    def close(self) -> None:
        """Detach: the container goes on."""
        self.sock.close()

    def __enter__(self) -> AttachStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
