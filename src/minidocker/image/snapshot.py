"""Snapshots: each layer unpacked once into `<root>/image/snapshots/<chain-id hex>/fs`,
shared by images and containers; a container rootfs is overlayfs over them.

A snapshot is unpacked into a temp directory next to the final one and renamed into place
only when complete, so a failed unpack leaves nothing visible. Containers hold a lease
(`leases/<container id>.json`) naming their image and snapshots; gc and rmi respect it.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

from minidocker.errors import MinidockerError, NotFound
from minidocker.image.store import CorruptBlob, Image, Store, digest_hex, write_atomic

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

EMPTY = "empty"  # the lower dir of an image without layers


def snapshot_path(store: Store, chain_id: str) -> str:
    return os.path.join(store.snapshots_dir, digest_hex(chain_id))


def fs_path(store: Store, chain_id: str) -> str:
    return os.path.join(snapshot_path(store, chain_id), "fs")


def exists(store: Store, chain_id: str) -> bool:
    return os.path.isdir(fs_path(store, chain_id))


def missing(store: Store, image: Image) -> list[int]:
    """Indexes of the image's layers whose snapshot is not unpacked yet."""
    return [i for i, chain in enumerate(image.chain_ids) if not exists(store, chain)]


def unpack_layer(store: Store, image: Image, index: int) -> str:
    """Unpack layer `index` of `image` (its blob must be in the store) unless already there."""
    from minidocker.image import layer as layers

    chain_id = image.chain_ids[index]
    diff_id = image.diff_ids[index]
    final = snapshot_path(store, chain_id)
    os.makedirs(store.snapshots_dir, exist_ok=True)
    with store.lock(f"locks/snapshot-{digest_hex(chain_id)}"):
        if os.path.isdir(os.path.join(final, "fs")):
            return final
        import shutil
        import tempfile
        tmp = tempfile.mkdtemp(prefix=".tmp-", dir=store.snapshots_dir)
        try:
            os.chmod(tmp, 0o700)
            fs = os.path.join(tmp, "fs")
            os.mkdir(fs, 0o755)
            blob = store.blob_path(image.layers[index]["digest"])
            if not os.path.exists(blob):
                raise NotFound(f"layer {image.layers[index]['digest']} of image "
                               f"{image.short_id} is missing from the store",
                               hint="pull or load the image again")
            try:
                _, size = layers.unpack_file(blob, fs, layers.Mode.OVERLAY,
                                             expected_diff_id=diff_id,
                                             expected_digest=image.layers[index]["digest"])
            except CorruptBlob as e:
                raise e.named(image.display_name, "layer") from None
            meta = {"chain_id": chain_id, "diff_id": diff_id, "size": size,
                    "parent": image.chain_ids[index - 1] if index else None}
            with open(os.path.join(tmp, "meta.json"), "w") as f:
                json.dump(meta, f)
            os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return final


def adopt(store: Store, chain_id: str, diff_id: str, parent: str | None, *,
          directory: str | None = None, tar_path: str | None = None, size: int = 0) -> None:
    """Make the snapshot of a layer that was just made here, without reading its blob
    back: `directory` (an overlay upper dir, whiteouts and opaque markers already in
    overlay form) is moved into place, or `tar_path` (the layer's uncompressed tar) is
    unpacked. A snapshot that exists already is kept (the directory is left alone)."""
    import shutil
    import tempfile

    final = snapshot_path(store, chain_id)
    os.makedirs(store.snapshots_dir, exist_ok=True)
    with store.lock(f"locks/snapshot-{digest_hex(chain_id)}"):
        if os.path.isdir(os.path.join(final, "fs")):
            return
        tmp = tempfile.mkdtemp(prefix=".tmp-", dir=store.snapshots_dir)
        try:
            os.chmod(tmp, 0o700)
            fs = os.path.join(tmp, "fs")
            if directory is not None:
                os.rename(directory, fs)
            else:
                from minidocker.image import layer as layers
                assert tar_path is not None
                os.mkdir(fs, 0o755)
                _, size = layers.unpack_file(tar_path, fs, layers.Mode.OVERLAY,
                                             expected_diff_id=diff_id)
            meta = {"chain_id": chain_id, "diff_id": diff_id, "size": size, "parent": parent}
            with open(os.path.join(tmp, "meta.json"), "w") as f:
                json.dump(meta, f)
            os.rename(tmp, final)
        except BaseException:
            if directory is not None and os.path.isdir(os.path.join(tmp, "fs")):
                os.rename(os.path.join(tmp, "fs"), directory)  # the caller's, as it was
            shutil.rmtree(tmp, ignore_errors=True)
            raise


def ensure(store: Store, image: Image, on_layer: Callable[[int], None] | None = None) -> None:
    """Unpack every missing snapshot of `image`, in parallel (layers are independent)."""
    todo = missing(store, image)
    if not todo:
        return
    with store.writing():
        if len(todo) == 1:
            unpack_layer(store, image, todo[0])
            if on_layer:
                on_layer(todo[0])
            return
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(max_workers=min(4, len(todo))) as pool:
            futures = [pool.submit(unpack_layer, store, image, i) for i in todo]
            for i, fut in zip(todo, futures, strict=True):
                fut.result()
                if on_layer:
                    on_layer(i)


def lower_dirs(store: Store, image: Image) -> list[str]:
    """The overlay lower dirs of an image, topmost first (the order overlayfs wants)."""
    dirs = []
    for chain in reversed(image.chain_ids):
        path = fs_path(store, chain)
        if not os.path.isdir(path):
            raise NotFound(f"image {image.short_id} is not unpacked (snapshot {chain} missing)")
        dirs.append(path)
    if not dirs:
        empty = os.path.join(store.snapshots_dir, EMPTY)
        os.makedirs(empty, exist_ok=True)
        dirs.append(empty)
    return dirs


# ---- container rootfs ---------------------------------------------------------------------

# mount(2) data is one page: past this, mount_rootfs names lower dirs by /proc/self/fd/N
LOWERDIR_BUDGET = 3500


class Rootfs:
    """What the engine needs to mount a container's rootfs: overlay over `lowers`."""

    __slots__ = ("lowers", "upper", "work", "target")

    def __init__(self, lowers: tuple[str, ...], upper: str, work: str, target: str):
        self.lowers = lowers
        self.upper = upper
        self.work = work
        self.target = target

    def __repr__(self) -> str:
        return f"Rootfs(target={self.target!r}, lowers={len(self.lowers)})"

    @property
    def options(self) -> str:
        return overlay_options(list(self.lowers), self.upper, self.work)


def overlay_options(lowers: list[str], upper: str, work: str) -> str:
    for path in (*lowers, upper, work):
        if any(c in path for c in ",:\\"):
            raise MinidockerError(f"overlay path {path!r} contains ',', ':' or '\\'")
    return f"lowerdir={':'.join(lowers)},upperdir={upper},workdir={work}"


def prepare_rootfs(store: Store, image: Image, container_dir: str, container_id: str) -> Rootfs:
    """Unpack what is missing, create `<container_dir>/{upper,work,rootfs}`, take a lease.

    Does not mount: call mount_rootfs() (in whatever mount namespace the engine wants)."""
    with store.writing():  # no gc between unpacking and taking the lease
        ensure(store, image)
        lowers = lower_dirs(store, image)
        add_lease(store, container_id, image)
    upper = os.path.join(container_dir, "upper")
    work = os.path.join(container_dir, "work")
    target = os.path.join(container_dir, "rootfs")
    try:
        for d in (upper, work, target):
            os.makedirs(d, mode=0o755, exist_ok=True)
    except BaseException:
        release(store, container_id)
        raise
    return Rootfs(tuple(lowers), upper, work, target)


def mount_rootfs(rootfs: Rootfs) -> None:
    """Mount the overlay at rootfs.target. When the lower dirs do not fit in one page of
    mount options (images of many layers), they are passed as /proc/self/fd/N of O_PATH
    fds held just for the mount call (overlayfs resolves them at mount time)."""
    options = rootfs.options
    if len(options) <= LOWERDIR_BUDGET:
        _mount(options, rootfs.target)
        return
    fds = []
    try:
        for path in rootfs.lowers:
            fds.append(os.open(path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC))
        options = overlay_options([f"/proc/self/fd/{fd}" for fd in fds], rootfs.upper,
                                  rootfs.work)
        if len(options) > 4000:
            raise MinidockerError(f"too many layers for one overlay mount ({len(fds)})",
                                  hint="squash the image")
        _mount(options, rootfs.target)
    finally:
        for fd in fds:
            os.close(fd)


def _mount(options: str, target: str) -> None:
    from minidocker.linux import libc, userns
    if userns.rootless():
        from minidocker.image import overlay
        overlay.mount(options, target)
    else:
        libc.mount("overlay", target, "overlay", 0, options, what=target)


def unmount_rootfs(target: str) -> None:
    """Detach the overlay at `target`; a target that is not mounted is fine."""
    import errno

    from minidocker.linux import libc

    try:
        libc.umount2(target, libc.MNT_DETACH)
    except OSError as e:
        if e.errno not in (errno.EINVAL, errno.ENOENT):
            raise


# ---- leases -------------------------------------------------------------------------------


def add_lease(store: Store, container_id: str, image: Image) -> None:
    os.makedirs(store.leases_dir, exist_ok=True)
    doc = {"container": container_id, "image": image.id, "manifest": image.manifest_digest,
           "chain_ids": image.chain_ids}
    path = os.path.join(store.leases_dir, f"{container_id}.json")
    write_atomic(path, json.dumps(doc).encode(), tmp=path + ".tmp", sync=False)


def release(store: Store, container_id: str) -> None:
    """Drop a container's lease (when the container is removed), and the temp file of a
    lease whose writer was killed."""
    for suffix in (".json", ".json.tmp"):
        try:
            os.unlink(os.path.join(store.leases_dir, container_id + suffix))
        except FileNotFoundError:
            pass


def leases(store: Store) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    try:
        names = os.listdir(store.leases_dir)
    except FileNotFoundError:
        return out
    for name in names:
        if name.endswith(".json"):
            try:
                with open(os.path.join(store.leases_dir, name)) as f:
                    out.append(json.load(f))
            except (OSError, ValueError):
                pass  # a lease being written or removed right now
    return out


def users_of(store: Store, image: Image) -> list[str]:
    return [str(lease.get("container")) for lease in leases(store)
            if lease.get("image") == image.id]


def remove_unused(store: Store, keep: set[str]) -> int:
    """Remove snapshots whose chain ID is not in `keep`, and stale temp dirs (gc lock held)."""
    import contextlib
    import shutil

    keep_hex = {digest_hex(c) for c in keep}
    removed = 0

    with contextlib.suppress(FileNotFoundError):
        for name in os.listdir(store.snapshots_dir):
            path = os.path.join(store.snapshots_dir, name)
            if name == EMPTY or name in keep_hex:
                continue
            if os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)
                removed += 0 if name.startswith(".tmp-") else 1
    return removed
