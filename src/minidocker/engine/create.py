"""create: a container record from Docker's create options (image resolved, config
merged Docker's way, volumes made, the OCI bundle written); nothing runs yet, and a
failure leaves nothing behind.
"""

from __future__ import annotations

import os

import minidocker
from minidocker.engine import events
from minidocker.engine.records import ZERO_TIME, Record, Records, now
from minidocker.errors import MinidockerError, NotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from minidocker.engine.records import Record


def resolve_image(root: str, ref: str, pull: Callable[[Any, str], Any] | None = None
                  ) -> tuple[str, list[str], dict[str, Any], Any]:
    """(image id, lower dirs topmost first, image config, store Image or None). An image
    that is not in the store is pulled with `pull(store, ref)` (the service layer's,
    which reports to its sink), or not found without it."""
    if (ref.startswith((".", "/")) or os.sep in ref) and os.path.isdir(ref):
        path = os.path.abspath(ref)
        return path, [path], {}, None
    from minidocker.image.store import Store
    store = Store(root)
    image = store.try_lookup(ref)
    if image is None:
        if ref.startswith((".", "/")):
            raise NotFound(f"no such image or directory: {ref}")
        if pull is None:
            store.lookup(ref)  # raises the image package's NotFound with its hint
        image = pull(store, ref)  # type: ignore[misc]
    from minidocker.image import snapshot
    snapshot.ensure(store, image)
    lowers = snapshot.lower_dirs(store, image)
    return image.id, lowers, dict(image.config.get("config") or {}), image


def _check_platform(config: dict[str, Any], warn: Callable[[str], None]) -> None:
    """dockerd's warning when an image was made for another platform (it runs it all the
    same: an emulator registered with binfmt_misc may do it)."""
    from minidocker.image.hostplatform import host_platform
    wanted = f"{config.get('os') or 'linux'}/{config.get('architecture') or ''}"
    host = host_platform()
    if config.get("architecture") and wanted != host:
        if config.get("variant"):
            wanted += f"/{config['variant']}"
        warn(f"The requested image's platform ({wanted}) does not match the detected host "
             f"platform ({host}) and no specific platform was requested")


def create(root: str, options: dict[str, Any],
           pull: Callable[[Any, str], Any] | None = None,
           warn: Callable[[str], None] | None = None) -> Record:
    """A new container record from `options` (Docker's create body: Image, Cmd, Entrypoint,
    Env, ..., HostConfig, Name, with the mounts parsed into Mounts: see
    service.containers.create); nothing runs yet. Fails leaving nothing behind. `warn`
    hears dockerd's warnings (an image of another platform than the host's)."""
    records = Records(root)
    ref = options["Image"]
    image_id, lowers, image_cfg, image = resolve_image(root, ref, pull)
    if image is not None and warn is not None:
        _check_platform(image.config, warn)
    if minidocker.TRACE:
        minidocker.TRACE.step("image", "resolved", ref=ref, id=image_id, lower_dirs=lowers)
    cid, name = records.allocate(options.get("Name"))
    record = Record(root, cid)
    leased = False
    made: list[dict[str, Any]] = []  # the volumes materialize() created
    # the record's lock until it is whole: an rm -f meanwhile waits for it instead of
    # removing as broken a record still being made (control.remove)
    making = record.lock().__enter__()
    try:
        config = build_config(cid, name, ref, image_id, lowers, image_cfg, options)
        for sub in ("upper", "work", "rootfs", "bundle"):
            os.mkdir(record.path(sub), 0o755 if sub != "work" else 0o700)
        if config["HostConfig"].get("UsernsMode"):
            from minidocker.engine import keepid
            if keepid.check(config["HostConfig"]["UsernsMode"]) == keepid.KEEP_ID:
                config["Lowers"] = keepid.prepare(record.dir, lowers)
        if image is not None:
            from minidocker.image import snapshot
            from minidocker.image.store import Store
            snapshot.add_lease(Store(root), cid, image)
            leased = True
        from minidocker.engine import volumes
        config["Mounts"] = volumes.materialize(root, config["Mounts"], made)
        write_bundle(record, config)
        for fifo in ("stdout", "stderr"):
            os.mkfifo(record.path(fifo), 0o600)
        record.save_state(new_state())
        record.save_config(config)
        events.emit(record, "create")
        if minidocker.TRACE:
            minidocker.TRACE.step("engine", "record created", id=cid, name=name,
                                  bundle=record.path("bundle", "config.json"),
                                  mounts=[m.get("Destination") for m in config["Mounts"]])
        return record
    except BaseException:
        if leased:
            from minidocker.image import snapshot
            from minidocker.image.store import Store
            snapshot.release(Store(root), cid)
        from minidocker.engine.control import _remove_anonymous
        _remove_anonymous(root, made)
        import shutil
        shutil.rmtree(record.dir, ignore_errors=True)
        records.release_name(name, cid)
        raise
    finally:
        making.__exit__()  # (after a failure, once nothing of the record is left)


def new_state() -> dict[str, Any]:
    return {"Status": "created", "Running": False, "Paused": False, "Restarting": False,
            "OOMKilled": False, "Dead": False, "Pid": 0, "PidStart": 0, "ExitCode": 0,
            "Error": "", "StartedAt": ZERO_TIME, "FinishedAt": ZERO_TIME, "MonitorPid": 0,
            "MonitorStart": 0, "RestartCount": 0, "ManualStop": False}


def build_config(cid: str, name: str, ref: str, image_id: str, lowers: list[str],
                 image_cfg: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """The record's config.json: image config merged with the flags, Docker's way."""
    entrypoint = options.get("Entrypoint")
    cmd = options.get("Cmd")
    if entrypoint is None:
        entrypoint = image_cfg.get("Entrypoint") or []
        if not cmd:
            cmd = image_cfg.get("Cmd") or []
    elif not cmd:
        cmd = []  # --entrypoint resets the image's Cmd
    argv = list(entrypoint or []) + list(cmd or [])
    env: dict[str, str] = {}
    for item in list(image_cfg.get("Env") or []) + list(options.get("Env") or []):
        key, sep, value = item.partition("=")
        env[key] = item if sep else f"{key}="  # a front end resolved what it could
    labels = dict(image_cfg.get("Labels") or {})
    labels.update(options.get("Labels") or {})
    host = dict(options.get("HostConfig") or {})
    host.setdefault("NetworkMode", "bridge")
    host.setdefault("RestartPolicy", {"Name": "no", "MaximumRetryCount": 0})
    host.setdefault("LogConfig", {"Type": "json-file", "Config": {}})
    on_host = host["NetworkMode"] == "host" or host.get("UTSMode") == "host"
    hostname = options.get("Hostname") or ("" if on_host else cid[:12])
    if on_host and not hostname:
        hostname = os.uname().nodename
    config: dict[str, Any] = {
        "Id": cid,
        "Name": "/" + name,
        "Created": now(),
        "Path": argv[0] if argv else "",
        "Args": argv[1:],
        "Image": image_id,
        "Lowers": lowers,
        "Config": {
            "Hostname": hostname,
            "Domainname": options.get("Domainname") or "",
            "User": options.get("User") if options.get("User") is not None
            else image_cfg.get("User", ""),
            "AttachStdin": bool(options.get("OpenStdin")) and not options.get("Detach"),
            "AttachStdout": not options.get("Detach"),
            "AttachStderr": not options.get("Detach"),
            "ExposedPorts": {**(image_cfg.get("ExposedPorts") or {}),
                             **(options.get("ExposedPorts") or {})},
            "Tty": bool(options.get("Tty")),
            "OpenStdin": bool(options.get("OpenStdin")),
            "StdinOnce": bool(options.get("OpenStdin")) and not options.get("Detach"),
            "Env": list(env.values()),
            "Cmd": list(cmd or []) or None,
            "Image": ref,
            "Volumes": image_cfg.get("Volumes"),
            "WorkingDir": options.get("WorkingDir") or image_cfg.get("WorkingDir") or "",
            "Entrypoint": list(entrypoint) if entrypoint else None,
            "Labels": labels,
            "StopSignal": options.get("StopSignal") or image_cfg.get("StopSignal")
            or "SIGTERM",
        },
        "HostConfig": host,
        "Mounts": list(options.get("Mounts") or []),
        "LogPath": "",
        "Driver": "overlay2",
    }
    if options.get("StopTimeout") is not None:
        config["Config"]["StopTimeout"] = int(options["StopTimeout"])
    if image_cfg.get("Healthcheck") or options.get("Healthcheck"):
        from minidocker.engine import health
        check = health.merged(image_cfg.get("Healthcheck"), options.get("Healthcheck"))
        if check is not None:
            config["Config"]["Healthcheck"] = check
    if options.get("NetworkingConfig"):
        config["NetworkingConfig"] = options["NetworkingConfig"]
    return config


def write_bundle(record: Record, config: dict[str, Any]) -> None:
    from minidocker import jsonfast
    from minidocker.engine import bundle, volumes
    spec = bundle.make_spec(config, record.dir, config["Lowers"],
                            volumes.oci_mounts(config["Mounts"]))
    if config["HostConfig"].get("Init"):
        _add_init(spec, record)
    bundle.etc_files(config, record.dir)
    if config["HostConfig"].get("UsernsMode") == "keep-id":
        from minidocker.engine import keepid
        keepid.own_files(record.dir, ("hosts", "hostname", "resolv.conf"))
    with open(record.path("bundle", "config.json"), "w") as f:
        f.write(jsonfast.dumps_spaced(spec))  # json.dumps's bytes, without json's imports


# static inits that --init can bind-mount (Docker ships tini as docker-init; podman uses
# catatonit): Debian's `tini` package has /usr/bin/tini-static
INIT_BINARIES = ("/usr/bin/docker-init", "/usr/bin/tini-static", "/usr/libexec/podman/catatonit",
                 "/usr/bin/catatonit")


INIT_PATH = "/sbin/docker-init"


def find_init() -> str:
    for path in INIT_BINARIES:
        if os.access(path, os.X_OK):
            return path
    raise MinidockerError("--init: no static init binary on this host",
                          hint="install one: apt-get install tini (or catatonit)")


def _add_init(spec: dict[str, Any], record: Record) -> None:
    """--init: a tiny init as PID 1 (reaps zombies, forwards signals), bind-mounted
    read-only from the host like Docker's docker-init."""
    source = find_init()
    spec["mounts"].append({"destination": INIT_PATH, "type": "bind", "source": source,
                           "options": ["rbind", "ro", "nosuid", "nodev"]})
    spec["process"]["args"] = [INIT_PATH, "--"] + spec["process"]["args"]
