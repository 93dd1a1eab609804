"""New images from a filesystem: `commit` (a container's overlay upper dir becomes a layer on
top of its image, overlay whiteouts turned back into `.wh.` entries) and `import` (a rootfs
directory or tarball becomes a one-layer image). `--change` lines edit the config."""

from __future__ import annotations

import contextlib
import copy
import datetime
import gzip
import hashlib
import json
import os
import shlex
import shutil
import stat
import tarfile
from collections.abc import Sequence
from typing import IO, Any

from minidocker.errors import InvalidConfig, UsageError
from minidocker.image import layer as layers
from minidocker.image import reference as refs
from minidocker.image import snapshot
from minidocker.image import store as st
from minidocker.image.hostplatform import host_platform

DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# ---- --change -----------------------------------------------------------------------------


def apply_changes(config: dict[str, Any], changes: Sequence[str]) -> None:
    """Apply Dockerfile-like instructions (CMD, ENTRYPOINT, ENV, WORKDIR, USER, EXPOSE,
    LABEL, VOLUME, STOPSIGNAL) to an image's `config` section."""
    for change in changes:
        keyword, _, rest = change.strip().partition(" ")
        keyword, rest = keyword.upper(), rest.strip()
        if keyword in ("CMD", "ENTRYPOINT"):
            config["Cmd" if keyword == "CMD" else "Entrypoint"] = _command(rest, change)
        elif keyword == "ENV":
            env = [e for e in config.get("Env") or []]
            for key, value in _pairs(rest, change):
                env = [e for e in env if e.split("=", 1)[0] != key] + [f"{key}={value}"]
            config["Env"] = env
        elif keyword == "LABEL":
            labels = config.get("Labels") or {}
            labels.update(dict(_pairs(rest, change)))
            config["Labels"] = labels
        elif keyword == "WORKDIR":
            config["WorkingDir"] = rest
        elif keyword == "USER":
            config["User"] = rest
        elif keyword == "STOPSIGNAL":
            config["StopSignal"] = rest
        elif keyword == "EXPOSE":
            ports = config.get("ExposedPorts") or {}
            for port in rest.split():
                ports[port if "/" in port else f"{port}/tcp"] = {}
            config["ExposedPorts"] = ports
        elif keyword == "VOLUME":
            volumes = config.get("Volumes") or {}
            items = _json_list(rest) if rest.startswith("[") else rest.split()
            for v in items:
                volumes[v] = {}
            config["Volumes"] = volumes
        else:
            raise UsageError(f"--change {change!r}: unsupported instruction {keyword!r}",
                             hint="use CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, "
                                  "VOLUME or WORKDIR")


def _command(rest: str, change: str) -> list[str]:
    if rest.startswith("["):
        return _json_list(rest, change)
    return ["/bin/sh", "-c", rest]


def _json_list(text: str, change: str = "") -> list[str]:
    try:
        value = json.loads(text)
    except ValueError:
        raise UsageError(f"--change {change or text!r}: not a JSON list of strings") from None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"--change {change or text!r}: not a JSON list of strings")
    return value


def _pairs(rest: str, change: str) -> list[tuple[str, str]]:
    words = shlex.split(rest)
    if not words:
        raise UsageError(f"--change {change!r}: missing KEY=VALUE")
    if "=" not in words[0]:  # legacy form: ENV KEY VALUE...
        return [(words[0], " ".join(words[1:]))]
    out = []
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or not key:
            raise UsageError(f"--change {change!r}: {word!r} is not KEY=VALUE")
        out.append((key, value))
    return out


# ---- upper dir -> layer tar ---------------------------------------------------------------


def write_upper_tar(upper: str, out: IO[bytes]) -> None:
    """Tar an overlay upper dir as an OCI layer: 0:0 char devices become `.wh.<name>`, opaque
    dirs get `.wh..wh..opq`; hard links within the dir are kept; sorted, so reproducible."""
    seen: dict[tuple[int, int], str] = {}
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tf:
        for rel, full in _walk(upper):
            st_ = os.lstat(full)
            parent, name = os.path.split(rel)
            if stat.S_ISCHR(st_.st_mode) and st_.st_rdev == 0:
                info = tarfile.TarInfo(os.path.join(parent, layers.WHITEOUT_PREFIX + name))
                info.mtime = int(st_.st_mtime)
                tf.addfile(info)
                continue
            info = tf.gettarinfo(full, arcname=rel)
            if info is None:
                continue  # a socket: not something a layer can hold
            info.uname = info.gname = ""
            xattrs = _xattrs(full)
            if xattrs:
                info.pax_headers = {f"SCHILY.xattr.{k}": v for k, v in xattrs.items()}
            key = (st_.st_dev, st_.st_ino)
            if stat.S_ISREG(st_.st_mode) and st_.st_nlink > 1:
                if key in seen:
                    info.type, info.linkname, info.size = tarfile.LNKTYPE, seen[key], 0
                    tf.addfile(info)
                    continue
                seen[key] = rel
            if info.isreg():
                with open(full, "rb") as f:
                    tf.addfile(info, f)
            else:
                tf.addfile(info)
            if stat.S_ISDIR(st_.st_mode) and _is_opaque(full):
                marker = tarfile.TarInfo(os.path.join(rel, layers.OPAQUE_MARKER))
                marker.mtime = int(st_.st_mtime)
                tf.addfile(marker)


def _walk(top: str) -> list[tuple[str, str]]:
    out = []
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            full = os.path.join(dirpath, name)
            out.append((os.path.relpath(full, top), full))
    out.sort(key=lambda item: item[0].split(os.sep))
    return out


def _is_opaque(path: str) -> bool:
    for name in (layers.OPAQUE_XATTR, "user.overlay.opaque"):
        with contextlib.suppress(OSError):
            if os.getxattr(path, name, follow_symlinks=False) == b"y":
                return True
    return False


def _xattrs(path: str) -> dict[str, str]:
    out = {}
    with contextlib.suppress(OSError):
        for name in os.listxattr(path, follow_symlinks=False):
            if name.startswith(("trusted.overlay.", "user.overlay.")):
                continue
            with contextlib.suppress(OSError):
                out[name] = os.getxattr(path, name, follow_symlinks=False).decode(
                    "utf-8", "surrogateescape")
    return out


# ---- building images ----------------------------------------------------------------------


def store_layer(store: st.Store, tar_path: str) -> tuple[dict[str, Any], str]:
    """gzip a layer tar into the store; returns (descriptor, diff ID)."""
    diff = hashlib.sha256()
    writer = store.blob_writer()
    try:
        with open(tar_path, "rb") as src, gzip.GzipFile(fileobj=writer, mode="wb",
                                                        compresslevel=6, mtime=0) as gz:
            while chunk := src.read(1 << 20):
                diff.update(chunk)
                gz.write(chunk)
        size = writer.size
        digest = writer.commit()
    finally:
        writer.discard()
    return {"mediaType": st.MEDIA_OCI_LAYER_GZIP, "digest": digest, "size": size}, \
        "sha256:" + diff.hexdigest()


def build_image(store: st.Store, base: st.Image | None, tar_path: str, *,
                tags: Sequence[refs.Reference] = (), changes: Sequence[str] = (),
                created_by: str = "", comment: str = "", author: str = "",
                container_config: dict[str, Any] | None = None,
                platform: str | None = None) -> st.Image:
    """Add the layer in `tar_path` on top of `base` (or alone: an image of `platform`,
    os/arch[/variant], by default the host's) and record the new image."""
    with store.writing():
        layer_desc, diff_id = store_layer(store, tar_path)
        created = now()
        if base is not None:
            config = copy.deepcopy(base.config)
            base_layers = base.layers
            docker = base.manifest.get("mediaType") == st.MEDIA_DOCKER_MANIFEST
        else:
            os_name, _, arch = (platform or host_platform()).partition("/")
            arch, _, variant = arch.partition("/")
            config = {"architecture": arch, "os": os_name, **(
                      {"variant": variant} if variant else {}),
                      "config": {"Env": [DEFAULT_PATH]}, "rootfs": {"type": "layers",
                                                                    "diff_ids": []},
                      "history": []}
            base_layers, docker = [], False
        if container_config:
            config["config"] = copy.deepcopy(container_config)
        config["created"] = created
        if author:
            config["author"] = author
        config.setdefault("config", {})
        apply_changes(config["config"], changes)
        config.setdefault("rootfs", {"type": "layers", "diff_ids": []})
        config["rootfs"]["diff_ids"] = list(config["rootfs"].get("diff_ids") or []) + [diff_id]
        entry = {"created": created, "created_by": created_by}
        if comment:
            entry["comment"] = comment
        if author:
            entry["author"] = author
        config["history"] = list(config.get("history") or []) + [entry]
        config_digest, config_size = store.write_json(config)
        if docker:
            layer_desc["mediaType"] = st.MEDIA_DOCKER_LAYER_GZIP
        manifest: dict[str, Any] = {
                    "schemaVersion": 2,
                    "mediaType": st.MEDIA_DOCKER_MANIFEST if docker else st.MEDIA_OCI_MANIFEST,
                    "config": {"mediaType": st.MEDIA_DOCKER_CONFIG if docker
                               else st.MEDIA_OCI_CONFIG,
                               "digest": config_digest, "size": config_size},
                    "layers": [*base_layers, layer_desc]}
        manifest_digest, manifest_size = store.write_json(manifest)
        image = st.Image(config_digest, manifest_digest, manifest, config,
                         manifest_size=manifest_size)
        snapshot.ensure(store, image)
        store.add_image(manifest_digest, manifest_size, manifest["mediaType"], list(tags))
    return image


def layer_from_upper(store: st.Store, upper_dir: str) -> tuple[dict[str, Any], str]:
    """An overlay upper dir as a layer blob in the store: (descriptor, diff ID)."""
    tmp = _temp_path(store, "commit-")
    try:
        with open(tmp, "xb") as out:
            write_upper_tar(upper_dir, out)
        return store_layer(store, tmp)
    finally:
        _unlink(tmp)


def write_manifest(store: st.Store, config: dict[str, Any], layers: list[dict[str, Any]]
                   ) -> st.Image:
    """Config and OCI manifest blobs for an image (no index.json entry: the caller tags
    it, or keeps it as a build state). Docker layer media types become their OCI twins."""
    oci_type = {st.MEDIA_DOCKER_LAYER_GZIP: st.MEDIA_OCI_LAYER_GZIP,
                st.MEDIA_DOCKER_LAYER: st.MEDIA_OCI_LAYER}
    layers = [dict(layer, mediaType=oci_type.get(layer.get("mediaType", ""),
                                                 layer.get("mediaType"))) for layer in layers]
    config_digest, config_size = store.write_json(config)
    manifest: dict[str, Any] = {
        "schemaVersion": 2, "mediaType": st.MEDIA_OCI_MANIFEST,
        "config": {"mediaType": st.MEDIA_OCI_CONFIG, "digest": config_digest,
                   "size": config_size},
        "layers": layers}
    manifest_digest, manifest_size = store.write_json(manifest)
    return st.Image(config_digest, manifest_digest, manifest, config,
                    manifest_size=manifest_size)


def commit_container(store: st.Store, upper_dir: str, base_image: st.Image | None, *,
                     ref: str | None = None, changes: Sequence[str] = (), comment: str = "",
                     author: str = "", container_config: dict[str, Any] | None = None,
                     created_by: str = "minidocker commit") -> st.Image:
    """A container's upper dir as a new layer on top of `base_image` (None: a scratch image).

    `container_config` (Env, Cmd, ... as the engine ran it) replaces the image's config
    section when given; `changes` are then applied on top."""
    tags = [refs.parse(ref)] if ref else []
    with store.writing():  # gc removes what is in ingest/ when no writer holds this
        tmp = _temp_path(store, "commit-")
        try:
            with open(tmp, "xb") as out:
                write_upper_tar(upper_dir, out)
            return build_image(store, base_image, tmp, tags=tags, changes=changes,
                               created_by=created_by, comment=comment, author=author,
                               container_config=container_config)
        finally:
            _unlink(tmp)


def import_rootfs(store: st.Store, source: str | IO[bytes], *, ref: str | None = None,
                  changes: Sequence[str] = (), message: str = "",
                  platform: str | None = None) -> st.Image:
    """A rootfs directory, a (possibly compressed) tarball path, or a stream, as a new
    one-layer image (of `platform`, os/arch[/variant], the host's by default)."""
    tags = [refs.parse(ref)] if ref else []
    with store.writing():  # gc removes what is in ingest/ when no writer holds this
        return _import(store, source, tags, changes, message, platform)


def _import(store: st.Store, source: str | IO[bytes], tags: list[refs.Reference],
            changes: Sequence[str], message: str, platform: str | None) -> st.Image:
    tmp = _temp_path(store, "import-")
    try:
        with open(tmp, "xb") as out:
            if isinstance(source, str) and os.path.isdir(source):
                _tar_directory(source, out)
            elif isinstance(source, str):
                try:
                    with open(source, "rb") as src:
                        _copy_decompressed(src, out)
                except FileNotFoundError:
                    raise UsageError(f"import: {source}: no such file or directory") from None
            else:
                _copy_decompressed(source, out)
        _check_tar(tmp)
        label = source if isinstance(source, str) else "-"
        return build_image(store, None, tmp, tags=tags, changes=changes,
                           created_by=f"minidocker import {label}", comment=message,
                           platform=platform)
    finally:
        _unlink(tmp)


def _temp_path(store: st.Store, prefix: str) -> str:
    """A fresh name in ingest/, for a file the caller creates inside its `try` (an
    interrupt at any moment then finds it removed by the `finally`)."""
    return os.path.join(_tmpdir(store), prefix + os.urandom(8).hex())


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _tmpdir(store: st.Store) -> str:
    store.init()
    return store.ingest_dir


def _tar_directory(path: str, out: IO[bytes]) -> None:
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tf:
        seen: dict[tuple[int, int], str] = {}
        for rel, full in _walk(path):
            st_ = os.lstat(full)
            info = tf.gettarinfo(full, arcname=rel)
            if info is None:
                continue  # a socket: not something a layer can hold
            info.uname = info.gname = ""
            xattrs = _xattrs(full)
            if xattrs:
                info.pax_headers = {f"SCHILY.xattr.{k}": v for k, v in xattrs.items()}
            key = (st_.st_dev, st_.st_ino)
            if info.isreg() and st_.st_nlink > 1:
                if key in seen:
                    info.type, info.linkname, info.size = tarfile.LNKTYPE, seen[key], 0
                    tf.addfile(info)
                    continue
                seen[key] = rel
            if info.isreg():
                with open(full, "rb") as f:
                    tf.addfile(info, f)
            else:
                tf.addfile(info)


def _copy_decompressed(src: IO[bytes], out: IO[bytes]) -> None:
    reader = layers.decompressed(src)
    shutil.copyfileobj(reader, out, 1 << 20)


def _check_tar(path: str) -> None:
    try:
        with tarfile.open(path, "r:") as tf:
            tf.next()
    except tarfile.TarError as e:
        raise InvalidConfig(f"import: not a tar archive: {e}") from None
