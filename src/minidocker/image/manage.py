"""Local image management shared by the CLI and the engine: tag, remove, prune."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from minidocker.errors import Conflict, MinidockerError
from minidocker.image import reference as refs
from minidocker.image import snapshot
from minidocker.image import store as st


def tag(store: st.Store, source: str, target: str) -> None:
    image = store.lookup(source)
    ref = refs.parse(target)
    if ref.digest:
        raise MinidockerError(f"tag: {target!r}: a tag cannot contain a digest")
    media_type = image.manifest.get("mediaType") or st.MEDIA_OCI_MANIFEST
    store.add_image(image.manifest_digest, image.manifest_size or len(
        store.read_blob(image.manifest_digest)), media_type, [ref])


def _is_tag_reference(name: str, image: st.Image) -> refs.Reference | None:
    try:
        ref = refs.parse(name)
    except MinidockerError:
        return None
    return ref if ref.tag and ref.familiar() in image.repo_tags else None


def remove(store: st.Store, name: str, force: bool = False) -> list[str]:
    """`rmi`: untag, and delete the image when no tag is left. An image that a container
    uses is kept (untag only with force, refused otherwise); lines as Docker prints them."""
    try:
        image = store.lookup(name)
    except st.CorruptBlob as e:
        return _remove_damaged(store, name, e, force)
    ref = _is_tag_reference(name, image)
    lines: list[str] = []
    users = snapshot.users_of(store, image)
    if ref is not None and len(image.repo_tags) > 1:
        store.untag(ref)
        return [f"Untagged: {ref.familiar()}"]
    if ref is None and len(image.repo_tags) > 1 and not force:
        raise Conflict(f"unable to delete {image.short_id} (must be forced): image is "
                       "referenced in multiple repositories", hint="use rmi -f")
    if users and not force:
        raise Conflict(f"unable to remove image {name}: image {image.short_id} is being used "
                       f"by container {users[0][:12]}", hint="remove the container first")
    tags = [refs.parse(t) for t in image.repo_tags]
    for t in tags:
        store.untag(t)
        lines.append(f"Untagged: {t.familiar()}")
    for rd in image.repo_digests:
        lines.append(f"Untagged: {rd}")
    if users:  # forced: the container keeps the image, now untagged
        media_type = image.manifest.get("mediaType") or st.MEDIA_OCI_MANIFEST
        store.add_image(image.manifest_digest, image.manifest_size, media_type, [])
        return lines
    ids = _same_image_manifests(store, image)
    store.remove_entries(lambda e: e["digest"] in ids)
    store.gc(wait=False)
    lines.append(f"Deleted: {image.id}")
    return lines


def _remove_damaged(store: st.Store, name: str, error: st.CorruptBlob,
                    force: bool) -> list[str]:
    """`rmi` of an image whose manifest or config no longer matches its digest: its index
    entries go (found from index.json alone, nothing of the image is trusted), then gc."""
    entries = st.entries_for(store, name)
    if not entries:
        raise error
    ids = {str((e.get("annotations") or {}).get(st.ANNOTATION_CONFIG, "")) for e in entries}
    users = [lease["container"] for lease in snapshot.leases(store) if lease.get("image") in ids]
    if users and not force:
        raise Conflict(f"unable to remove image {name}: it is being used by container "
                       f"{users[0][:12]}", hint="remove the container first, or use rmi -f")
    digests = {e["digest"] for e in entries}
    store.remove_entries(lambda e: e["digest"] in digests)
    lines = []
    for entry in entries:
        if st.ANNOTATION_REF in (entry.get("annotations") or {}):
            lines.append(f"Untagged: {st.entry_name(entry)}")
    lines += [f"Deleted: {d}" for d in sorted(i for i in ids if i) or sorted(digests)]
    store.gc(wait=False)
    return lines


def _same_image_manifests(store: st.Store, image: st.Image) -> set[str]:
    digests = set()
    for entry in store.read_index()["manifests"]:
        try:
            if store.read_json(entry["digest"]).get("config", {}).get("digest") == image.id:
                digests.add(entry["digest"])
        except MinidockerError:
            continue
    return digests


def prune(store: st.Store, all_unused: bool = False,
          wanted: Callable[[st.Image], bool] | None = None) -> tuple[list[str], int]:
    """Remove untagged images (every unused one with all_unused) that no container uses
    (and that `wanted` accepts: prune's filters); returns (deleted lines, bytes
    reclaimed on disk)."""
    before = _disk_usage(store.path)
    used = {lease.get("image") for lease in snapshot.leases(store)}
    doomed = [i for i in store.images()
              if i.id not in used and (all_unused or not i.repo_tags) and
              (wanted is None or wanted(i))]
    lines = []
    for image in doomed:
        for t in image.repo_tags:
            lines.append(f"untagged: {t}")
        ids = _same_image_manifests(store, image)
        store.remove_entries(lambda e, ids=ids: e["digest"] in ids)  # type: ignore[misc]
        lines.append(f"deleted: {image.id}")
    # damaged images go the same way (by index.json alone), unless filtered: their
    # labels and creation time cannot be read
    for entry, _ in store.corrupt if wanted is None else []:
        config = (entry.get("annotations") or {}).get(st.ANNOTATION_CONFIG)
        if config in used or not (all_unused or st.ANNOTATION_REF not in (
                entry.get("annotations") or {})):
            continue
        store.remove_entries(lambda e, d=entry["digest"]: e["digest"] == d)  # type: ignore[misc]
        lines.append(f"deleted: {config or entry['digest']}")
    from minidocker.image import buildcache
    buildcache.prune(store, keep=buildcache.unused(store))  # cache of no image's layers
    store.gc()
    return lines, max(0, before - _disk_usage(store.path))


def prune_build_cache(store: st.Store, all_records: bool = False,
                      wanted: Callable[[dict[str, Any]], bool] | None = None,
                      keep_storage: int = 0) -> tuple[list[str], int]:
    """`builder prune`: the build cache records whose layers no image has (all of them
    with all_records) that `wanted` accepts (prune's filters), the least recently used
    first and only until the cache's layers take at most `keep_storage` bytes when that
    is given; then what gc frees. Returns (removed keys, bytes reclaimed)."""
    from minidocker.image import buildcache
    before = _disk_usage(store.path)
    keep = None if all_records else buildcache.unused(store)
    records = buildcache.keys(store)
    doomed = [r for r in records if (keep is None or not keep(r)) and
              (wanted is None or wanted(r))]
    if keep_storage > 0:
        sizes = buildcache.layer_sizes(store, records)
        total = sum(sizes.values())
        chosen = []
        for record in sorted(doomed, key=lambda r: r["used"]):
            if total <= keep_storage:
                break
            chosen.append(record)
            total -= sizes.pop(record["key"], 0)
        doomed = chosen
    names = {r["key"] for r in doomed}
    buildcache.prune(store, keep=lambda r: r["key"] not in names)
    store.gc()
    return [r["key"] for r in doomed], max(0, before - _disk_usage(store.path))


def _disk_usage(path: str) -> int:
    total = 0
    for dirpath, _, filenames in os.walk(path):
        for name in filenames:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
            except OSError:
                pass
    return total


def inspect(store: st.Store, names: list[str]) -> list[dict[str, Any]]:
    from minidocker.image import views
    return [views.inspect_doc(store, store.lookup(n)) for n in names]
