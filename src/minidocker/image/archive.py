"""Image archives: `save` and `load` in Docker's format (manifest.json, <config>.json,
<layer>/layer.tar) and as an OCI archive (a tar of an OCI image layout).

`load` detects the format; it extracts the archive into a private temp directory (regular
files only, names checked), verifies every blob it keeps, unpacks the snapshots, and only
then adds the tags, so a bad archive leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
from typing import IO, Any

from minidocker.errors import InvalidConfig, MinidockerError, UsageError
from minidocker.image import layer as layers
from minidocker.image import reference as refs
from minidocker.image import snapshot
from minidocker.image import store as st
from minidocker.image.hostplatform import host_platform
from minidocker.image.registry import select_platform

FORMATS = ("docker", "oci")


# ---- save ---------------------------------------------------------------------------------


def save(store: st.Store, names: list[str], out: IO[bytes], fmt: str = "docker") -> None:
    """Write the named images (tags kept) to `out` as a tar stream."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown archive format {fmt!r} (docker or oci)")
    chosen: dict[str, tuple[st.Image, list[str]]] = {}
    for name in names:
        for image, tags in _named(store, name):
            _, have = chosen.setdefault(image.id, (image, []))
            have.extend(t for t in tags if t not in have)
    images = list(chosen.values())
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tf:
        if fmt == "docker":
            _save_docker(store, images, tf)
        else:
            _save_oci(store, images, tf)


def _named(store: st.Store, name: str) -> list[tuple[st.Image, list[str]]]:
    """What `save NAME` means, as in Docker: a repository without a tag is every tagged
    image of it; a tag is that image with that tag; an ID is the image without tags."""
    try:
        ref = refs.parse(name, default_tag=False)
    except MinidockerError:
        ref = None
    if ref is not None and ref.tag is None and ref.digest is None:
        repo = ref.familiar_name
        found = [(i, [t for t in i.repo_tags if t.rsplit(":", 1)[0] == repo])
                 for i in store.images()]
        found = [(i, tags) for i, tags in found if tags]
        if found:
            return found
    image = store.lookup(name)
    if ref is not None and ref.digest is None:
        tag = refs.parse(name).familiar()
        if tag in image.repo_tags:
            return [(image, [tag])]
    return [(image, [])]


def _add_bytes(tf: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o644, 0
    tf.addfile(info, io.BytesIO(data))


def _add_dir(tf: tarfile.TarFile, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 0
    tf.addfile(info)


def _save_docker(store: st.Store, images: list[tuple[st.Image, list[str]]],
                 tf: tarfile.TarFile) -> None:
    manifest = []
    written: set[str] = set()
    for image, tags in images:
        config_name = f"{st.digest_hex(image.id)}.json"
        if config_name not in written:
            _add_bytes(tf, config_name, _verified(store, image, image.id, "config"))
            written.add(config_name)
        layer_names = []
        for desc, diff_id in zip(image.layers, image.diff_ids, strict=True):
            dirname = st.digest_hex(diff_id)
            layer_names.append(f"{dirname}/layer.tar")
            if dirname in written:
                continue
            written.add(dirname)
            _add_dir(tf, dirname)
            try:
                _add_uncompressed(store, tf, f"{dirname}/layer.tar", desc["digest"])
            except st.CorruptBlob as e:
                raise e.named(image.display_name, "layer") from None
        manifest.append({"Config": config_name, "RepoTags": tags or None,
                         "Layers": layer_names})
    _add_bytes(tf, "manifest.json", json.dumps(manifest).encode())


def _verified(store: st.Store, image: st.Image, digest: str, kind: str) -> bytes:
    try:
        return store.read_blob(digest)
    except st.CorruptBlob as e:
        raise e.named(image.display_name, kind) from None


def _add_uncompressed(store: st.Store, tf: tarfile.TarFile, name: str, digest: str) -> None:
    """Docker archives hold uncompressed layer.tar files: decompress into a temp file first,
    since a tar header needs the size. The blob is hashed on the way (CorruptBlob)."""
    path = store.blob_path(digest)
    with open(path, "rb", buffering=0) as raw:
        if os.pread(raw.fileno(), 4, 0).startswith(layers.ZSTD_MAGIC):
            _check(layers.HashingReader(raw), digest)  # zstd reads the file itself
            raw.seek(0)
            blob: IO[bytes] = raw
        else:
            blob = hashed = layers.HashingReader(raw)  # type: ignore[assignment]
        try:
            _copy_layer(store, tf, name, raw, blob)
        except layers.LayerError:  # a damaged blob is reported as such, not as a bad tar
            actual = store.file_digest(digest)
            if actual != digest:
                raise st.CorruptBlob(digest, str(actual)) from None
            raise
        if blob is not raw:
            _check(hashed, digest)


def _copy_layer(store: st.Store, tf: tarfile.TarFile, name: str, raw: IO[bytes],
                blob: IO[bytes]) -> None:
    """The layer in `blob`, decompressed, as member `name` of `tf`."""
    reader = layers.decompressed(blob)
    if isinstance(reader, io.BufferedReader):
        size = os.fstat(raw.fileno()).st_size
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = size, 0o644, 0
        tf.addfile(info, reader)
        return
    with tempfile.TemporaryFile(dir=store.ingest_dir) as tmp:
        shutil.copyfileobj(reader, tmp, 1 << 20)
        reader.close()
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = tmp.tell(), 0o644, 0
        tmp.seek(0)
        tf.addfile(info, tmp)


def _check(hashed: layers.HashingReader, digest: str) -> None:
    hashed.drain()
    if hashed.digest != digest:
        raise st.CorruptBlob(digest, hashed.digest)


def _save_oci(store: st.Store, images: list[tuple[st.Image, list[str]]],
              tf: tarfile.TarFile) -> None:
    _add_bytes(tf, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    entries = []
    written: set[str] = set()
    for dirname in ("blobs", "blobs/sha256"):
        _add_dir(tf, dirname)
    for image, tags in images:
        kinds = {image.manifest_digest: "manifest", image.id: "config"}
        for digest in [image.manifest_digest, image.id, *(d["digest"] for d in image.layers)]:
            if digest in written:
                continue
            written.add(digest)
            path = store.blob_path(digest)
            info = tf.gettarinfo(path, arcname=f"blobs/sha256/{st.digest_hex(digest)}")
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            with open(path, "rb", buffering=0) as f:
                hashed = layers.HashingReader(f)
                tf.addfile(info, hashed)
                try:
                    _check(hashed, digest)
                except st.CorruptBlob as e:
                    raise e.named(image.display_name, kinds.get(digest, "layer")) from None
        media_type = image.manifest.get("mediaType") or st.MEDIA_OCI_MANIFEST
        desc: dict[str, Any] = {"mediaType": media_type, "digest": image.manifest_digest,
                                "size": image.manifest_size or len(
                                    store.read_blob(image.manifest_digest))}
        tag_or_none: list[str | None] = list(tags) or [None]
        for tag in tag_or_none:
            entry = dict(desc)
            if tag:
                entry["annotations"] = {st.ANNOTATION_REF: str(refs.parse(tag))}
            entries.append(entry)
    index = {"schemaVersion": 2, "mediaType": st.MEDIA_OCI_INDEX, "manifests": entries}
    _add_bytes(tf, "index.json", json.dumps(index).encode())


# ---- load ---------------------------------------------------------------------------------


def load(store: st.Store, source: IO[bytes]) -> list[str]:
    """Load every image of a Docker or OCI archive; returns lines like Docker's
    `Loaded image: alpine:latest` / `Loaded image ID: sha256:...`."""
    store.init()
    with store.writing():
        # named first, made inside the try: an interrupt (Ctrl-C, SIGTERM) at any moment
        # finds it removed by the finally
        tmp = os.path.join(store.ingest_dir, f"load-{os.urandom(8).hex()}")
        try:
            os.mkdir(tmp, 0o700)
            _extract(source, tmp)
            if os.path.exists(os.path.join(tmp, "manifest.json")):
                return _load_docker(store, tmp)
            if os.path.exists(os.path.join(tmp, "index.json")):
                return _load_oci(store, tmp)
            raise InvalidConfig("load: not an image archive (no manifest.json or index.json)")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def _extract(source: IO[bytes], dest: str) -> None:
    """The archive's regular files and directories under `dest`, by the layers' safe
    extractor (layer.Mode.ARCHIVE): names checked as a layer's, symlinks (Docker's
    duplicate layers) turned into hard links of their in-archive target."""
    extractor = layers.Extractor(dest, layers.Mode.ARCHIVE)
    try:
        with tarfile.open(fileobj=layers.decompressed(source), mode="r|") as tf:
            extractor.extract(tf)
    except tarfile.TarError as e:
        raise InvalidConfig(f"load: not a valid tar archive: {e}") from None
    finally:
        extractor.close()


def _read_json(path: str) -> Any:
    try:
        with open(path, "rb") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise InvalidConfig(f"load: {os.path.basename(path)}: {e}") from None


def _inside(base: str, name: str) -> str:
    return os.path.join(base, *layers.clean_name(name))


def _publish(store: st.Store, path: str, expected: str | None = None) -> tuple[str, int]:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    digest = "sha256:" + h.hexdigest()
    if expected and digest != expected:
        raise InvalidConfig(f"load: blob {expected} does not match its content ({digest})")
    size = os.path.getsize(path)
    if not store.has_valid_blob(digest):  # a damaged copy is replaced
        try:  # same filesystem (ingest/ is next to blobs/): no copy
            os.link(path, path + ".pub")
        except OSError:
            shutil.copyfile(path, path + ".pub")
        store.publish_file(path + ".pub", digest)
    return digest, size


def _load_docker(store: st.Store, tmp: str) -> list[str]:
    doc = _read_json(os.path.join(tmp, "manifest.json"))
    if not isinstance(doc, list):
        raise InvalidConfig("load: manifest.json is not a list")
    staged = []
    for item in doc:
        config_digest, config_size = _publish(store, _inside(tmp, item["Config"]))
        config = store.read_json(config_digest)
        layer_descs = []
        diff_ids = list((config.get("rootfs") or {}).get("diff_ids") or [])
        if len(diff_ids) != len(item.get("Layers") or []):
            raise InvalidConfig("load: layer count does not match the config's diff IDs")
        for name, diff_id in zip(item["Layers"], diff_ids, strict=True):
            path = _inside(tmp, name)
            if layers.diff_id_of(path) != diff_id:
                raise InvalidConfig(f"load: layer {name} does not match diff ID {diff_id}")
            digest, size = _publish(store, path)
            with open(path, "rb") as f:
                compressed = f.read(2) == layers.GZIP_MAGIC
            layer_descs.append({"mediaType": st.MEDIA_DOCKER_LAYER_GZIP if compressed
                                else st.MEDIA_DOCKER_LAYER, "digest": digest, "size": size})
        manifest = {"schemaVersion": 2, "mediaType": st.MEDIA_DOCKER_MANIFEST,
                    "config": {"mediaType": st.MEDIA_DOCKER_CONFIG, "digest": config_digest,
                               "size": config_size},
                    "layers": layer_descs}
        manifest_digest, manifest_size = store.write_json(manifest)
        image = st.Image(config_digest, manifest_digest, manifest, config,
                         manifest_size=manifest_size)
        tags = [refs.parse(t) for t in item.get("RepoTags") or []]
        staged.append((image, tags))
    return _finish(store, staged)


def _load_oci(store: st.Store, tmp: str) -> list[str]:
    index = _read_json(os.path.join(tmp, "index.json"))
    blobs = os.path.join(tmp, "blobs")
    staged = []

    def blob(digest: str) -> str:
        return os.path.join(blobs, *digest.split(":", 1))

    for desc in index.get("manifests") or []:
        media_type = desc.get("mediaType")
        digest = desc["digest"]
        manifest_doc = _read_json(blob(digest))
        if media_type in st.INDEX_TYPES or "manifests" in manifest_doc:
            _publish(store, blob(digest), digest)
            desc = select_platform(manifest_doc, host_platform())
            digest = desc["digest"]
            manifest_doc = _read_json(blob(digest))
            media_type = desc.get("mediaType")
        manifest_digest, manifest_size = _publish(store, blob(digest), digest)
        config_digest = manifest_doc["config"]["digest"]
        _publish(store, blob(config_digest), config_digest)
        for layer_desc in manifest_doc.get("layers") or []:
            _publish(store, blob(layer_desc["digest"]), layer_desc["digest"])
        image = st.Image(config_digest, manifest_digest, manifest_doc,
                         store.read_json(config_digest), manifest_size=manifest_size)
        ref_name = (desc.get("annotations") or {}).get(st.ANNOTATION_REF, "")
        tags = [refs.parse(ref_name)] if ("/" in ref_name or ":" in ref_name) else []
        staged.append((image, tags))
        image.manifest.setdefault("mediaType", media_type or st.MEDIA_OCI_MANIFEST)
    return _finish(store, staged)


def _finish(store: st.Store, staged: list[tuple[st.Image, list[refs.Reference]]]) -> list[str]:
    for image, _ in staged:
        snapshot.ensure(store, image)
    lines = []
    for image, tags in staged:
        media_type = image.manifest.get("mediaType") or st.MEDIA_OCI_MANIFEST
        store.add_image(image.manifest_digest, image.manifest_size, media_type, tags)
        if tags:
            lines += [f"Loaded image: {t.familiar()}" for t in tags]
        else:
            lines.append(f"Loaded image ID: {image.id}")
    return lines
