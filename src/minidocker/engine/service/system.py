"""System-wide operations of the service layer: info, version, df, prune, events, inspect
of any object by name (Docker's fallback order), boot."""

from __future__ import annotations

import os

from minidocker.errors import MinidockerError, NotFound, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

    from minidocker.engine.service import Context
    from minidocker.engine.service.types import Event, PruneReport

API_VERSION = "1.41"      # what Docker 20.10's client negotiates
MIN_API_VERSION = "1.12"
EVENT_FILTERS = ("container", "event", "image", "label", "network", "type", "volume")
KINDS = ("container", "image", "network", "volume")  # `docker inspect`'s order


def version(ctx: Context) -> dict[str, Any]:
    """GET /version: Docker's shape (Version, ApiVersion, MinAPIVersion, Os, Arch as Go
    names it, KernelVersion, Components)."""
    import platform

    from minidocker import OCI_VERSION, __version__
    return {"Platform": {"Name": "minidocker"},
            "Version": __version__, "ApiVersion": API_VERSION,
            "MinAPIVersion": MIN_API_VERSION, "GitCommit": "", "GoVersion":
            "python" + platform.python_version(), "Os": "linux", "Arch": go_arch(),
            "KernelVersion": os.uname().release, "BuildTime": "",
            "Components": [{"Name": "Engine", "Version": __version__,
                            "Details": {"ApiVersion": API_VERSION,
                                        "MinAPIVersion": MIN_API_VERSION}},
                           {"Name": "minidocker-runtime", "Version": __version__,
                            "Details": {"OCI": OCI_VERSION}}]}


def go_arch() -> str:
    """The machine as Go's GOARCH names it (Docker's Arch: amd64, arm64, ...)."""
    machine = os.uname().machine
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386",
            "i386": "386", "ppc64le": "ppc64le", "s390x": "s390x",
            "riscv64": "riscv64"}.get(machine, machine)


def info(ctx: Context) -> dict[str, Any]:
    """GET /info: counts of containers (by state), images and volumes, and the host."""
    from minidocker import __version__
    from minidocker.engine import volumes
    from minidocker.engine.liveness import live_state
    from minidocker.engine.records import Records
    from minidocker.engine.stats import host_memory
    counts = {"running": 0, "paused": 0, "stopped": 0}
    records = Records(ctx.root).all()
    for record in records:
        try:
            status = live_state(record).get("Status")
        except MinidockerError:
            continue
        counts[status if status in ("running", "paused") else "stopped"] += 1
    try:
        from minidocker.image.store import Store
        n_images = len(Store(ctx.root).images())
    except MinidockerError:
        n_images = 0
    try:
        from minidocker.linux import cgroups
        cgroup_version = "2" if cgroups.detect() == cgroups.UNIFIED else "1"
    except (OSError, MinidockerError):
        cgroup_version = ""
    uname = os.uname()
    return {"ID": "", "Containers": len(records), "ContainersRunning": counts["running"],
            "ContainersPaused": counts["paused"], "ContainersStopped": counts["stopped"],
            "Images": n_images, "Volumes": len(volumes.names(ctx.root)), "Driver": "overlay2",
            "DriverStatus": [], "LoggingDriver": "json-file", "CgroupDriver": "cgroupfs",
            "CgroupVersion": cgroup_version, "KernelVersion": uname.release,
            "OperatingSystem": _os_name(), "OSType": "linux", "Architecture": uname.machine,
            "NCPU": os.cpu_count(), "MemTotal": host_memory(), "DockerRootDir": ctx.root,
            "Name": uname.nodename, "ServerVersion": __version__,
            "DefaultRuntime": ctx.runtime or "minidocker",
            "Runtimes": {"minidocker": {"path": "minidocker-runtime"}, "runc": {"path": "runc"},
                         "crun": {"path": "crun"}},
            "SecurityOptions": ["name=seccomp,profile=default"] + (
                ["name=rootless"] if _rootless() else []), "Swarm":
            {"LocalNodeState": "inactive"}, "Plugins": {"Volume": ["local"],
                                                        "Network": ["bridge", "host", "none"],
                                                        "Log": ["json-file", "none"]}}


def _os_name() -> str:
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "Linux"


def df(ctx: Context) -> dict[str, Any]:
    """GET /system/df: LayersSize, Images, Containers (with SizeRw), Volumes (with
    UsageData {Size, RefCount}), BuildCache, as Docker's."""
    from minidocker.engine import views, volumes
    from minidocker.engine.liveness import live_state
    from minidocker.engine.records import Records
    from minidocker.engine.service import images as image_ops
    from minidocker.fs import du
    images = image_ops.ls(ctx)
    users: dict[str, int] = {}
    containers = []
    refs: dict[str, int] = {}
    import time
    now = time.time()
    for record in Records(ctx.root).all():
        try:
            state = live_state(record)
            item = views.summary(record, state, now)
        except MinidockerError:
            continue
        item["SizeRw"] = du(record.path("upper"))
        item["SizeRootFs"] = item["SizeRw"]
        containers.append(item)
        users[item["ImageID"]] = users.get(item["ImageID"], 0) + 1
        for m in record.config.get("Mounts") or []:
            if m.get("Type") == "volume":
                refs[str(m.get("Name"))] = refs.get(str(m.get("Name")), 0) + 1
    for image in images:
        image["Containers"] = users.get(image["Id"], 0)
    vols = []
    for name in volumes.names(ctx.root):
        doc = dict(volumes.inspect(ctx.root, name))
        doc["UsageData"] = {"Size": du(doc["Mountpoint"]), "RefCount": refs.get(name, 0)}
        vols.append(doc)
    return {"LayersSize": sum(i["Size"] for i in images), "Images": images,
            "Containers": containers, "Volumes": vols, "BuildCache": []}


def prune(ctx: Context, *, all: bool = False, volumes: bool = False,  # noqa: A002
          filters: dict[str, list[str]] | None = None) -> PruneReport:
    """`system prune`: stopped containers, unused networks, dangling images (every
    unused one with `all`), and with `volumes` unused anonymous volumes."""
    from minidocker.engine.service import containers, images, networks
    from minidocker.engine.service import volumes as volume_ops
    from minidocker.engine.service.filters import check_prune, until
    wanted = check_prune(dict(filters or {}))
    until(wanted)  # checked before anything is removed
    report: dict[str, Any] = dict(containers.prune(ctx, filters=wanted))
    report.update(networks.prune(ctx, filters=wanted))
    if volumes:  # volumes have no creation time to filter by (Docker's volume prune)
        label_filters = {k: v for k, v in wanted.items() if k != "until"}
        done = volume_ops.prune(ctx, filters=label_filters)
        report["VolumesDeleted"] = done["VolumesDeleted"]
        report["SpaceReclaimed"] += done["SpaceReclaimed"]
    done = images.prune(ctx, all=all, filters=wanted)
    report["ImagesDeleted"] = done["ImagesDeleted"]
    report["SpaceReclaimed"] += done["SpaceReclaimed"]
    return report  # type: ignore[return-value]


def reset(ctx: Context) -> PruneReport:
    """`system reset` (podman's): every container (stopped, then removed, broken records
    included), network (the default one, its bridge and nft table too), volume and
    image of the root, the build cache and the runtime state; what stays is the root's
    configuration (network/config.json) and registry credentials (auth.json). It works
    on a root whose records were deleted by hand: its bridge and nft table go by name."""
    import shutil

    from minidocker import network
    from minidocker.engine import control
    from minidocker.engine.records import Records
    from minidocker.engine.service import volumes as volume_ops
    from minidocker.fs import du
    before = du(ctx.root)
    report: dict[str, Any] = {"ContainersDeleted": [], "ImagesDeleted": [],
                              "NetworksDeleted": [], "VolumesDeleted": []}
    for record in Records(ctx.root).all():
        try:
            control.remove(record, force=True, volumes=True)
        except NotFound:
            continue  # removed meanwhile
        report["ContainersDeleted"].append(record.id)
    for runtime in control.runtimes_of(ctx.root):  # state no record explains
        for cid in runtime.ids():
            try:
                runtime.delete(cid)
            except (MinidockerError, OSError):
                pass
    report["NetworksDeleted"] = network.reset(ctx.root)
    for volume in volume_ops.ls(ctx)["Volumes"]:
        volume_ops.remove(ctx, volume["Name"], force=True)
        report["VolumesDeleted"].append(volume["Name"])
    from minidocker.image.store import Store
    store = Store(ctx.root)
    report["ImagesDeleted"] = [{"Deleted": image.id} for image in store.images()]
    from minidocker.engine.volumes import unmount_all
    for name in ("image", "build", "containers", "volumes", "runtime"):
        # rmtree must not enter a mount: a volume's, a killed build's view, a rootfs
        unmount_all(os.path.join(ctx.root, name))
        shutil.rmtree(os.path.join(ctx.root, name), ignore_errors=True)
    from minidocker.engine import supervisor
    idle = not supervisor.running(ctx.root)  # its last container gone, it exited
    for name in os.listdir(ctx.root) if os.path.isdir(ctx.root) else []:
        if name.startswith("runtime-") or name.startswith("events.jsonl") or \
                idle and name in (supervisor.LOCK, supervisor.ERRORS):
            path = os.path.join(ctx.root, name)
            shutil.rmtree(path, ignore_errors=True) if os.path.isdir(path) else os.unlink(path)
    report["SpaceReclaimed"] = max(0, before - du(ctx.root))
    return report  # type: ignore[return-value]


def events(ctx: Context, *, since: float | None = None, until: float | None = None,
           filters: dict[str, list[str]] | None = None, stop: Any = None
           ) -> Iterator[Event]:
    """GET /events: the events since `since` (none before now without it), then new ones
    as they happen, until `until` (forever without it). Filters container, event, image,
    label, type. Close the iterator to stop."""
    from minidocker.engine import events as event_log
    wanted = dict(filters or {})
    for key in wanted:
        if key not in EVENT_FILTERS:
            raise UsageError(f"invalid filter {key!r}: use container=, event=, image=, "
                             "label=, network=, type= or volume=")
    return event_log.stream(ctx.root, since=since, until=until,  # type: ignore[return-value]
                            filters=wanted, stop=stop)


def inspect(ctx: Context, name: str, *, kind: str | None = None, size: bool = False
            ) -> tuple[str, dict[str, Any]]:
    """`docker inspect NAME`: (kind, document) of the first object of that name, in
    Docker's order (container, image, network, volume), or of `kind` only. NotFound."""
    from minidocker.engine.service import containers, images, networks, volumes
    if kind is not None and kind not in KINDS:
        raise UsageError(f"{kind!r} is not a valid value for --type")
    lookups = {"container": lambda: containers.inspect(ctx, name, size=size),
               "image": lambda: images.inspect(ctx, name),
               "network": lambda: networks.inspect(ctx, name),
               "volume": lambda: volumes.inspect(ctx, name)}
    for each in ([kind] if kind else KINDS):
        try:
            return each, lookups[each]()
        except NotFound:
            if kind is not None:
                raise
    raise NotFound(f"no such object: {name}")


def _rootless() -> bool:
    from minidocker.linux import userns
    return userns.rootless()


def migrate() -> bool:
    """Rootless: end the user's session (the holder of its user namespace, and the
    network's slirp4netns), so that the next command makes a new one with the id ranges
    of /etc/subuid and /etc/subgid as they are now. Containers still running keep the
    namespaces they were started in. False when there was none; a UsageError for root."""
    from minidocker.engine import rootless, session
    from minidocker.network import rootless as rootless_net
    if not rootless.is_rootless():
        raise UsageError("system migrate is for rootless users: root has no session")
    run_dir = rootless.run_dir()
    rootless_net.stop(run_dir)
    return session.stop(run_dir)


def boot(ctx: Context) -> list[tuple[str, Exception | None]]:
    """What dockerd does when it starts, for a daemonless engine (`system boot`, once at
    boot): start the containers whose restart policy asks for it. [(id, None or the
    error)]."""
    from minidocker.engine.exits import start_after_boot
    return start_after_boot(ctx.root)
