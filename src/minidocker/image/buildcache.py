"""The build cache as the image store keeps it: build states and the keys that find them.

A state is what a build step leaves (an image manifest and config in blobs/, not an
index.json entry, so `images` does not list it): `buildcache/states/<config hex>` names
its manifest, so that the engine can run a container from it by ID as from any image.
`buildcache/keys/<key hex>` maps a step's cache key (build/cache.py) to the state. gc
keeps what states name (blobs and snapshots); `builder prune` drops keys and states.
"""

from __future__ import annotations

import json
import os
import time
from typing import TYPE_CHECKING

from minidocker.errors import MinidockerError
from minidocker.image.store import Image, Store, digest_hex

if TYPE_CHECKING:
    from typing import Any


def _dir(store: Store, kind: str) -> str:
    return os.path.join(store.path, "buildcache", kind)


def _write(path: str, doc: dict[str, Any]) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(doc, f)
    os.rename(tmp, path)


def _read(path: str) -> dict[str, Any] | None:
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def add_state(store: Store, image: Image) -> None:
    """Record a build state (its blobs must be in the store already)."""
    path = os.path.join(_dir(store, "states"), digest_hex(image.id))
    if not os.path.exists(path):
        _write(path, {"manifest": image.manifest_digest, "size": image.manifest_size,
                      "created": time.time()})


def state(store: Store, image_id: str) -> Image | None:
    """A build state by its full ID (sha256:<config hex>), or None."""
    try:
        path = os.path.join(_dir(store, "states"), digest_hex(image_id))
    except MinidockerError:
        return None
    doc = _read(path)
    if doc is None:
        return None
    try:
        manifest = store.read_json(doc["manifest"])
        config = store.read_json(manifest["config"]["digest"])
    except (MinidockerError, KeyError, TypeError):
        return None
    return Image(manifest["config"]["digest"], doc["manifest"], manifest, config,
                 manifest_size=int(doc.get("size") or 0))


def put(store: Store, key: str, image: Image, description: str = "") -> None:
    add_state(store, image)
    _write(os.path.join(_dir(store, "keys"), digest_hex(key)),
           {"state": image.id, "description": description, "created": time.time(),
            "used": time.time()})


def get(store: Store, key: str) -> Image | None:
    """The state a cache key found before, if it and its blobs are still there."""
    path = os.path.join(_dir(store, "keys"), digest_hex(key))
    doc = _read(path)
    if doc is None:
        return None
    image = state(store, str(doc.get("state", "")))
    if image is None or not all(store.has_blob(layer["digest"]) for layer in image.layers):
        return None
    try:
        os.utime(path)  # last use, for `builder prune --filter until=`
    except OSError:
        pass
    return image


def keys(store: Store) -> list[dict[str, Any]]:
    """Every cache record: key, state, description, created, last used, size of the
    layer its step added."""
    out: list[dict[str, Any]] = []
    directory = _dir(store, "keys")
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        return out
    for name in names:
        if ".tmp." in name:
            continue
        path = os.path.join(directory, name)
        doc = _read(path)
        if doc is None:
            continue
        try:
            doc["used"] = os.stat(path).st_mtime
        except OSError:
            continue
        doc["key"] = "sha256:" + name
        out.append(doc)
    return out


def prune(store: Store, keep: Any = None) -> int:
    """Drop cache records (all, or those `keep(record)` says no to) and the states no
    record names any more; gc then frees their blobs and snapshots. Returns how many
    records went."""
    removed = 0
    kept_states: set[str] = set()
    for record in keys(store):
        if keep is not None and keep(record):
            kept_states.add(str(record.get("state")))
            continue
        try:
            os.unlink(os.path.join(_dir(store, "keys"), digest_hex(record["key"])))
            removed += 1
        except FileNotFoundError:
            pass
    directory = _dir(store, "states")
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        names = []
    for name in names:
        if "sha256:" + name not in kept_states:
            try:
                os.unlink(os.path.join(directory, name))
            except FileNotFoundError:
                pass
    return removed


def roots(store: Store) -> tuple[set[str], set[str]]:
    """(blobs, chain IDs) that gc must keep for the build cache."""
    from minidocker.image.store import chain_ids
    blobs: set[str] = set()
    chains: set[str] = set()
    directory = _dir(store, "states")
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return blobs, chains
    for name in names:
        doc = _read(os.path.join(directory, name))
        if doc is None:
            continue
        try:
            manifest = store.read_json(doc["manifest"])
            config_digest = manifest["config"]["digest"]
            config = store.read_json(config_digest)
        except (MinidockerError, KeyError, TypeError):
            continue
        blobs.update([doc["manifest"], config_digest])
        blobs.update(layer["digest"] for layer in manifest.get("layers", []))
        chains.update(chain_ids(list((config.get("rootfs") or {}).get("diff_ids") or [])))
    return blobs, chains


def layer_sizes(store: Store, records: list[dict[str, Any]]) -> dict[str, int]:
    """key -> bytes of the layer each record's step added (its state's top layer),
    counted once for records that share it: what --keep-storage weighs."""
    out: dict[str, int] = {}
    seen: set[str] = set()
    for record in sorted(records, key=lambda r: r["used"], reverse=True):
        found = state(store, str(record.get("state", "")))
        layer = found.layers[-1] if found is not None and found.layers else None
        if layer is None or layer["digest"] in seen:
            out[record["key"]] = 0
            continue
        seen.add(layer["digest"])
        out[record["key"]] = int(layer.get("size") or 0)
    return out


def unused(store: Store) -> Any:
    """A `keep` for prune(): a record is used while its state's layers are all layers of
    an image in the store (a build of that image would hit it)."""
    chains: set[str] = set()
    for image in store.images():
        chains.update(image.chain_ids)
    states: dict[str, list[str]] = {}

    def keep(record: dict[str, Any]) -> bool:
        state_id = str(record.get("state", ""))
        if state_id not in states:
            found = state(store, state_id)
            states[state_id] = found.chain_ids if found is not None else ["gone"]
        return all(c in chains for c in states[state_id])

    return keep
