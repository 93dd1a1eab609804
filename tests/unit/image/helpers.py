"""Builders shared by the image tests: crafted layer tars and OCI layouts written by hand
(plain tarfile + json, independent of minidocker.image), so that what our code reads was
produced by something else."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Entry:
    """One tar member: kind is file, dir, symlink, hardlink, char, fifo."""

    name: str
    kind: str = "file"
    data: bytes = b""
    target: str = ""
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    mtime: int = 1_600_000_000
    xattrs: dict[str, str] = field(default_factory=dict)
    major: int = 0
    minor: int = 0


def file(name: str, data: bytes | str = b"", **kw: object) -> Entry:
    return Entry(name, "file", data.encode() if isinstance(data, str) else data, **kw)  # type: ignore[arg-type]


def make_tar(entries: list[Entry]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for e in entries:
            info = tarfile.TarInfo(e.name)
            info.mode, info.uid, info.gid, info.mtime = e.mode, e.uid, e.gid, e.mtime
            if e.xattrs:
                info.pax_headers = {f"SCHILY.xattr.{k}": v for k, v in e.xattrs.items()}
            data = None
            if e.kind == "file":
                info.size = len(e.data)
                data = io.BytesIO(e.data)
            elif e.kind == "dir":
                info.type = tarfile.DIRTYPE
                info.mode = e.mode if e.mode != 0o644 else 0o755
            elif e.kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, e.target
            elif e.kind == "hardlink":
                info.type, info.linkname = tarfile.LNKTYPE, e.target
            elif e.kind == "char":
                info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, e.major, e.minor
            elif e.kind == "fifo":
                info.type = tarfile.FIFOTYPE
            tf.addfile(info, data)
    return buf.getvalue()


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def write_blob(layout: Path, data: bytes) -> str:
    digest = sha(data)
    path = layout / "blobs" / "sha256" / digest.split(":")[1]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return digest


def add_image(layout: Path, layers: list[list[Entry]], *, arch: str = "amd64",
              cmd: list[str] | None = None, compress: str = "gzip") -> dict[str, object]:
    """Write config, layers and manifest blobs; return the manifest descriptor."""
    layer_descs, diff_ids = [], []
    for entries in layers:
        tar = make_tar(entries)
        diff_ids.append(sha(tar))
        if compress == "gzip":
            blob = gzip.compress(tar, mtime=0)
            media = "application/vnd.oci.image.layer.v1.tar+gzip"
        elif compress == "zstd":
            import subprocess
            blob = subprocess.run(["zstd", "-q", "-c"], input=tar, check=True,
                                  capture_output=True).stdout
            media = "application/vnd.oci.image.layer.v1.tar+zstd"
        else:
            blob = tar
            media = "application/vnd.oci.image.layer.v1.tar"
        layer_descs.append({"mediaType": media, "digest": write_blob(layout, blob),
                            "size": len(blob)})
    config = {"architecture": arch, "os": "linux",
              "config": {"Cmd": cmd or ["/bin/sh"], "Env": ["PATH=/bin"]},
              "rootfs": {"type": "layers", "diff_ids": diff_ids},
              "history": [{"created_by": f"layer {i}"} for i in range(len(layers))]}
    config_bytes = json.dumps(config).encode()
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": write_blob(layout, config_bytes),
                           "size": len(config_bytes)},
                "layers": layer_descs}
    manifest_bytes = json.dumps(manifest).encode()
    return {"mediaType": manifest["mediaType"], "digest": write_blob(layout, manifest_bytes),
            "size": len(manifest_bytes), "platform": {"os": "linux", "architecture": arch}}


def write_layout(layout: Path, tags: dict[str, dict[str, object]]) -> Path:
    """index.json with one entry per tag (the descriptor may be an image or an index)."""
    layout.mkdir(parents=True, exist_ok=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    manifests = []
    for tag, desc in tags.items():
        d = {k: v for k, v in desc.items() if k != "platform"}
        d["annotations"] = {"org.opencontainers.image.ref.name": tag}
        manifests.append(d)
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": manifests}))
    return layout


def add_index(layout: Path, images: list[dict[str, object]]) -> dict[str, object]:
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": images}
    data = json.dumps(index).encode()
    return {"mediaType": index["mediaType"], "digest": write_blob(layout, data),
            "size": len(data)}


def tree(root: Path) -> dict[str, str]:
    """A comparable description of a directory tree: path -> kind and content."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            st = p.lstat()
            if p.is_symlink():
                out[rel] = "-> " + os.readlink(p)
            elif p.is_dir():
                out[rel] = "dir"
            elif p.is_file():
                out[rel] = p.read_bytes().decode(errors="replace")
            else:
                out[rel] = f"special {st.st_mode:o} {os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"
    return out
