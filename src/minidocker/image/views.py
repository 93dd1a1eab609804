"""What the image commands show, as data: Docker-shaped `image inspect` documents and the
rows of `history` (raw sizes and times; the CLI formats them)."""

from __future__ import annotations

import json
from typing import Any

from minidocker.image import snapshot
from minidocker.image import store as st
from minidocker.units import epoch

# Docker's inspect always shows these keys of an image's Config (null when unset)
CONFIG_DEFAULTS: dict[str, Any] = {
    "Hostname": "", "Domainname": "", "User": "", "AttachStdin": False,
    "AttachStdout": False, "AttachStderr": False, "Tty": False, "OpenStdin": False,
    "StdinOnce": False, "Env": None, "Cmd": None, "Image": "", "Volumes": None,
    "WorkingDir": "", "Entrypoint": None, "OnBuild": None, "Labels": None,
}


def created_of(image: st.Image) -> str:
    return str(image.config.get("created") or "")


def image_size(store: st.Store, image: st.Image) -> int:
    """Unpacked size (from snapshot metadata) when known, else the compressed size."""
    total = 0
    for chain in image.chain_ids:
        try:
            with open(f"{snapshot.snapshot_path(store, chain)}/meta.json") as f:
                total += int(json.load(f).get("size", 0))
        except (OSError, ValueError):
            return image.size
    return total


def inspect_doc(store: st.Store, image: st.Image) -> dict[str, Any]:
    config = image.config
    return {
        "Id": image.id,
        "RepoTags": image.repo_tags,
        "RepoDigests": image.repo_digests,
        "Parent": "",
        "Comment": next((h.get("comment", "") for h in reversed(config.get("history") or [])),
                        ""),
        "Created": created_of(image),
        "DockerVersion": config.get("docker_version", ""),
        "Author": config.get("author", ""),
        "Config": {**CONFIG_DEFAULTS, **(config.get("config") or {})},
        "Architecture": config.get("architecture", ""),
        "Variant": config.get("variant", "") or None,
        "Os": config.get("os", ""),
        "Size": image_size(store, image),
        "GraphDriver": graph_driver(store, image),
        "RootFS": {"Type": "layers", "Layers": image.diff_ids},
        "Metadata": {"LastTagTime": "0001-01-01T00:00:00Z"},  # Go's zero time: a time
        "Manifest": image.manifest_digest,
    }


def graph_driver(store: st.Store, image: st.Image) -> dict[str, Any]:
    """Docker's GraphDriver of an image: the top layer's directory (UpperDir) and the
    ones under it (LowerDir, topmost first), as overlay2 shows them; no MergedDir or
    WorkDir, which only a container has here."""
    dirs = [snapshot.fs_path(store, chain) for chain in reversed(image.chain_ids)]
    data = {"UpperDir": dirs[0]} if dirs else {}
    if len(dirs) > 1:
        data["LowerDir"] = ":".join(dirs[1:])
    return {"Name": "overlay2", "Data": data}


def history_rows(store: st.Store, image: st.Image) -> list[dict[str, Any]]:
    """Newest step first: ID (the image for the top step, else <missing>), CreatedAt,
    Created (epoch), CreatedBy, Size (bytes: the layer the step made, unpacked), Comment."""
    history = image.config.get("history") or []
    sizes = []
    for layer, chain in zip(image.layers, image.chain_ids, strict=False):
        size = int(layer.get("size", 0))
        try:
            with open(f"{snapshot.snapshot_path(store, chain)}/meta.json") as f:
                size = int(json.load(f).get("size", size))
        except (OSError, ValueError):
            pass
        sizes.append(size)
    if not history:  # imported without history: one step per layer
        history = [{} for _ in sizes]
    rows = []
    layer_index = len([h for h in history if not h.get("empty_layer")])
    for i, entry in enumerate(reversed(history)):
        size = 0
        if not entry.get("empty_layer"):
            layer_index -= 1
            size = sizes[layer_index] if 0 <= layer_index < len(sizes) else 0
        rows.append({"ID": image.id if i == 0 else "<missing>",
                     "CreatedAt": entry.get("created", ""),
                     "Created": epoch(entry.get("created", "")),
                     "CreatedBy": entry.get("created_by", ""),
                     "Size": size, "Comment": entry.get("comment", "")})
    return rows
