"""Named volumes (`<root>/volumes/<name>/_data`) and the container mounts of -v, --mount.

A volume is created on first use; anonymous ones (`-v /path`) get a random name and are
removed with their container by `rm -v`. Metadata is `<root>/volumes/<name>/volume.json`.
A volume created with the local driver's options (type, device, o: Docker's `volume
create --opt`) is mounted on its `_data` when a container that uses it starts (as
dockerd's local driver mounts it), and unmounted when the volume is removed.
"""

from __future__ import annotations

import os

from minidocker import jsonfast
from minidocker.engine.records import now, write_atomic
from minidocker.errors import Conflict, NotFound, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def volumes_dir(root: str) -> str:
    return os.path.join(root, "volumes")


def _valid(name: str) -> bool:
    return bool(name) and name[0].isalnum() and all(
        c.isalnum() or c in "_.-" for c in name)


LOCAL_OPTIONS = ("type", "device", "o")
_NEEDS = {"device": ("type",), "type": ("device",), "o": ("device", "type")}  # dockerd's


def check_options(options: dict[str, str]) -> dict[str, str]:
    """The local driver's options, checked as dockerd checks them."""
    for key in options:
        if key not in LOCAL_OPTIONS:
            raise UsageError(f'invalid option key: "{key}"',
                             hint="the local driver takes type, device and o")
    for key, needed in _NEEDS.items():
        for other in needed if key in options else ():
            if other not in options:
                raise UsageError(f'missing required option: "{other}"')
    return options


def create(root: str, name: str | None = None, labels: dict[str, str] | None = None,
           anonymous: bool = False, options: dict[str, str] | None = None
           ) -> dict[str, Any]:
    """Create (or return the existing) volume `name`; `options` those of Docker's local
    driver (check_options)."""
    options = check_options(dict(options or {}))
    if name is None:
        name = os.urandom(32).hex()
    if not _valid(name):
        raise UsageError(f"invalid volume name {name!r}: only [a-zA-Z0-9][a-zA-Z0-9_.-] "
                         "are allowed")
    path = os.path.join(volumes_dir(root), name)
    os.makedirs(volumes_dir(root), mode=0o701, exist_ok=True)
    try:
        os.mkdir(path, 0o701)
    except FileExistsError:
        try:
            return inspect(root, name)
        except NotFound:
            pass  # a create that died before it wrote the metadata: this one finishes it
    doc: dict[str, Any] = {"CreatedAt": now()[:19] + "Z", "Driver": "local", "Labels": labels or {},
           "Mountpoint": os.path.join(path, "_data"), "Name": name, "Options": options,
           "Scope": "local"}
    if anonymous:
        doc["Labels"] = {**doc["Labels"], "com.docker.volume.anonymous": ""}
    try:
        os.makedirs(os.path.join(path, "_data"), 0o755, exist_ok=True)
        write_atomic(os.path.join(path, "volume.json"), jsonfast.dumps_spaced(doc).encode())
    except BaseException:  # a full disk: no volume without its metadata stays
        import shutil
        shutil.rmtree(path, ignore_errors=True)
        raise
    from minidocker.engine.events import emit_object
    emit_object(root, "volume", "create", name, driver=doc["Driver"])
    return doc


def inspect(root: str, name: str) -> dict[str, Any]:
    try:
        with open(os.path.join(volumes_dir(root), name, "volume.json")) as f:
            data: dict[str, Any] = jsonfast.loads(f.read())
            return data
    except (FileNotFoundError, NotADirectoryError):
        raise NotFound(f"no such volume: {name}")
    except ValueError:
        raise Conflict(f"volume {name}: metadata is corrupt")


def names(root: str) -> list[str]:
    try:
        return sorted(n for n in os.listdir(volumes_dir(root))
                      if os.path.exists(os.path.join(volumes_dir(root), n, "volume.json")))
    except FileNotFoundError:
        return []


def users(root: str, name: str) -> list[str]:
    """Ids of containers whose config mounts volume `name`."""
    from minidocker.engine.records import Records
    out = []
    for record in Records(root).all():
        try:
            mounts = record.config.get("Mounts") or []
        except (NotFound, Conflict):
            continue
        if any(m.get("Type") == "volume" and m.get("Name") == name for m in mounts):
            out.append(record.id)
    return out


def remove(root: str, name: str, force: bool = False) -> None:
    try:
        inspect(root, name)
    except NotFound:
        if not _valid(name) or not os.path.isdir(os.path.join(volumes_dir(root), name)):
            raise  # (a directory without metadata: a create that died, removed below)
    in_use = users(root, name)
    if in_use and not force:
        raise Conflict(f"remove {name}: volume is in use - [{', '.join(in_use)}]")
    import shutil
    unmount_all(os.path.join(volumes_dir(root), name))  # never remove what is mounted there
    shutil.rmtree(os.path.join(volumes_dir(root), name), ignore_errors=True)
    from minidocker.engine.events import emit_object
    emit_object(root, "volume", "destroy", name, driver="local")


# ---- mount flags ---------------------------------------------------------------------------


def parse_volume(spec: str) -> dict[str, Any]:
    """-v SRC:DST[:OPTS] | -v DST  ->  Docker's MountPoint shape (Type, Source/Name, ...)."""
    parts = spec.split(":")
    if "" in parts:
        raise UsageError(f"invalid spec: {spec}: empty section between colons")
    if len(parts) == 1:
        return _mount("volume", "", parts[0], True, anonymous=True)
    if len(parts) > 3:
        raise UsageError(f"invalid volume specification: {spec!r}")
    src, dst = parts[0], parts[1]
    opts = parts[2].split(",") if len(parts) == 3 else []
    for opt in opts:
        if opt not in ("ro", "rw", "z", "Z", "private", "rprivate", "shared", "rshared",
                       "slave", "rslave", "nocopy"):
            raise UsageError(f"invalid mode: {opt}")
    rw = "ro" not in opts
    if src.startswith("/") or src.startswith("."):
        return _mount("bind", os.path.abspath(src), dst, rw)
    mount = _mount("volume", src, dst, rw)
    if "nocopy" in opts:
        mount["NoCopy"] = True
    return mount


def parse_mount(spec: str) -> dict[str, Any]:
    """--mount type=bind|volume|tmpfs,source=...,target=...[,readonly][,tmpfs-size=...]
    -> an entry of Docker's HostConfig.Mounts (what the Docker CLI sends for it)."""
    fields: dict[str, str] = {}
    for item in spec.split(","):
        key, sep, value = item.partition("=")
        fields[key.strip().lower()] = value if sep else "true"
    kind = fields.get("type", "volume")
    if kind not in ("bind", "volume", "tmpfs"):
        raise UsageError(f"invalid --mount type {kind!r}: use bind, volume or tmpfs")
    target = fields.get("target") or fields.get("destination") or fields.get("dst")
    if not target:
        raise UsageError(f"invalid --mount {spec!r}: target is required")
    out: dict[str, Any] = {"Type": kind, "Source": fields.get("source") or fields.get("src")
                           or "", "Target": target,
                           "ReadOnly": fields.get("readonly", fields.get("ro", "false"))
                           in ("true", "1")}
    if kind == "tmpfs":
        options: dict[str, int] = {}
        if "tmpfs-size" in fields:
            from minidocker.engine.bundle import parse_bytes
            options["SizeBytes"] = parse_bytes(fields["tmpfs-size"])
        if "tmpfs-mode" in fields:
            try:
                options["Mode"] = int(fields["tmpfs-mode"], 8)
            except ValueError:
                raise UsageError(f"invalid tmpfs-mode {fields['tmpfs-mode']!r}: an octal mode")
        out["TmpfsOptions"] = options
    if kind == "volume" and fields.get("volume-nocopy", "false") in ("true", "1"):
        out["VolumeOptions"] = {"NoCopy": True}
    return out


def from_api_mount(m: dict[str, Any]) -> dict[str, Any]:
    """One entry of Docker's HostConfig.Mounts ({Type, Source, Target, ReadOnly,
    TmpfsOptions: {SizeBytes, Mode}}) in the form engine.create.create takes (Destination,
    RW, Name for a volume, ...)."""
    if not isinstance(m, dict):
        raise UsageError(f"invalid mount {m!r}: an object with Type, Source and Target")
    kind = str(m.get("Type") or "volume")
    target = str(m.get("Target") or m.get("Destination") or "")
    if not target:
        raise UsageError("invalid mount config: Target must not be empty")
    source = str(m.get("Source") or "")
    rw = not m.get("ReadOnly")
    if kind == "bind":
        if not source:
            raise UsageError("invalid mount config for type \"bind\": field Source must "
                             "not be empty")
        if not os.path.exists(source):
            raise UsageError(f"invalid mount config for type \"bind\": bind source path "
                             f"does not exist: {source}")
        return _mount("bind", os.path.abspath(source), target, rw)
    if kind == "volume":
        mount = _mount("volume", source, target, rw, anonymous=not source)
        if (m.get("VolumeOptions") or {}).get("NoCopy"):
            mount["NoCopy"] = True
        return mount
    if kind == "tmpfs":
        out = _mount("tmpfs", "", target, True)
        options = m.get("TmpfsOptions") or {}
        if options.get("SizeBytes"):
            out["TmpfsSize"] = str(int(options["SizeBytes"]))
        if options.get("Mode"):
            out["TmpfsMode"] = f"{int(options['Mode']) & 0o7777:o}"
        return out
    raise UsageError(f"invalid mount type {kind!r}: bind, volume or tmpfs")


def _mount(kind: str, source: str, dest: str, rw: bool, anonymous: bool = False
           ) -> dict[str, Any]:
    if not dest.startswith("/"):
        raise UsageError(f"invalid mount destination {dest!r}: must be an absolute path")
    m: dict[str, Any] = {"Type": kind, "Source": source, "Destination": dest, "RW": rw}
    if kind == "volume":
        m["Name"] = source
        m["Anonymous"] = anonymous
    return m


def materialize(root: str, mounts: list[dict[str, Any]],
                made: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Create the volumes the mounts name (anonymous ones get their name now); each
    mount done is appended to `made` as it is, so that a failure later can undo them."""
    out = []
    for m in mounts:
        m = dict(m)
        if m["Type"] == "volume":
            doc = create(root, m.get("Name") or None, anonymous=bool(m.get("Anonymous")))
            m["Name"] = doc["Name"]
            m["Source"] = doc["Mountpoint"]
            m["Driver"] = "local"
            if doc.get("Options"):
                m["DriverOpts"] = True  # mounted at each start (mount_local)
            if made is not None:
                made.append(m)
        elif m["Type"] == "bind" and not os.path.exists(m["Source"]):
            os.makedirs(m["Source"], exist_ok=True)  # -v creates a missing host dir
        out.append(m)
    return out


def oci_mounts(mounts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for m in mounts:
        if m["Type"] == "tmpfs":
            opts = ["nosuid", "nodev", "noexec"]
            if m.get("TmpfsSize"):
                opts.append(f"size={m['TmpfsSize']}")
            if m.get("TmpfsMode"):
                opts.append(f"mode={m['TmpfsMode']}")
            out.append({"destination": m["Destination"], "type": "tmpfs", "source": "tmpfs",
                        "options": opts})
            continue
        opts = ["rbind", "rprivate"] + ([] if m.get("RW", True) else ["ro"])
        out.append({"destination": m["Destination"], "type": "bind", "source": m["Source"],
                    "options": opts})
    return out


# ---- the local driver's mounts (volume create --opt type=... device=... o=...) -----------


def mount_local(root: str, mounts: list[dict[str, Any]]) -> None:
    """Mount each volume of `mounts` created with the local driver's options on its
    _data, unless it is mounted already (another container uses it); as dockerd's
    local driver: mount -t TYPE -o O DEVICE _data."""
    from minidocker.errors import MinidockerError
    from minidocker.linux import libc
    from minidocker.runtime.rootfs import parse_options
    for m in mounts:
        if m.get("Type") != "volume" or not m.get("DriverOpts"):
            continue
        options = inspect(root, m["Name"]).get("Options") or {}
        target = os.path.join(volumes_dir(root), m["Name"], "_data")
        if not options.get("type") or os.path.ismount(target):
            continue
        flags, _, data = parse_options([o for o in options.get("o", "").split(",") if o])
        try:
            libc.mount(options.get("device"), target, options["type"], flags,
                       ",".join(data) or None)
        except OSError as e:
            raise MinidockerError(f"error while mounting volume '{target}': {e.strerror}",
                                  hint="its options: " + " ".join(
                                      f"{k}={v}" for k, v in options.items())) from None


def unmount_all(path: str) -> None:
    """Unmount whatever is mounted at or under `path` (deepest first; lazily if busy)."""
    from minidocker.linux import libc
    prefix = os.path.realpath(path)
    try:
        with open("/proc/self/mountinfo") as f:
            points = [line.split()[4] for line in f]
    except OSError:
        return
    points = [p.replace("\\040", " ") for p in points]
    for point in sorted((p for p in points if p == prefix or p.startswith(prefix + "/")),
                        key=len, reverse=True):
        try:
            libc.umount2(point)
        except OSError:
            try:
                libc.umount2(point, libc.MNT_DETACH)
            except OSError:
                pass


# ---- copy-up: a new volume gets what the image has where it is mounted -------------------


def copy_up(rootfs: str, mounts: list[dict[str, Any]]) -> None:
    """As Docker: a volume mounted where the image has content, and still empty, gets a
    copy of that content (owners, modes, links) when its container starts, unless the
    mount says nocopy. The image's side is read through directory fds that never follow
    a link out of the container's rootfs (openat2 RESOLVE_IN_ROOT, then O_NOFOLLOW)."""
    for mount in mounts:
        if mount.get("Type") != "volume" or mount.get("NoCopy") or not mount.get("Source"):
            continue
        target = str(mount["Source"])
        try:
            if os.listdir(target):
                continue
        except OSError:
            continue
        _copy_tree(rootfs, str(mount["Destination"]), target)


def _copy_tree(rootfs: str, path: str, target: str) -> None:
    import stat

    from minidocker.linux import libc
    root_fd = os.open(rootfs, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        src_fd = libc.openat2(root_fd, path.lstrip("/") or ".",
                              os.O_RDONLY | os.O_DIRECTORY, libc.RESOLVE_IN_ROOT)
    except OSError:
        return  # nothing there in the image (or not a directory): nothing to copy
    finally:
        os.close(root_fd)
    try:
        top = os.stat(src_fd)
        os.chown(target, top.st_uid, top.st_gid)
        os.chmod(target, stat.S_IMODE(top.st_mode))
        for dirpath, dirs, files, dir_fd in os.fwalk(".", dir_fd=src_fd,
                                                     follow_symlinks=False):
            out = os.path.normpath(os.path.join(target, dirpath))
            for name in list(dirs) + files:
                st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
                dest = os.path.join(out, name)
                if stat.S_ISDIR(st.st_mode):
                    os.mkdir(dest, stat.S_IMODE(st.st_mode))
                elif stat.S_ISLNK(st.st_mode):
                    os.symlink(os.readlink(name, dir_fd=dir_fd), dest)
                elif stat.S_ISREG(st.st_mode):
                    _copy_file(name, dir_fd, dest, st)
                else:
                    continue  # devices, fifos, sockets: as Docker's copy, left out
                os.lchown(dest, st.st_uid, st.st_gid)
                if not stat.S_ISLNK(st.st_mode):
                    os.chmod(dest, stat.S_IMODE(st.st_mode))
                    os.utime(dest, ns=(st.st_atime_ns, st.st_mtime_ns))
    finally:
        os.close(src_fd)


def _copy_file(name: str, dir_fd: int, dest: str, st: os.stat_result) -> None:
    src = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    try:
        out = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            remaining = st.st_size
            while remaining > 0:
                sent = os.sendfile(out, src, None, min(remaining, 1 << 30))
                if sent == 0:
                    break
                remaining -= sent
        finally:
            os.close(out)
    finally:
        os.close(src)
