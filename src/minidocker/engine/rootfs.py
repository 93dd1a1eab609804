"""The container's filesystem on the host: the overlay of its image's layers and its
upper dir mounted at <record>/rootfs (for start, and for cp, export and commit while it
does not run), and unmounted.
"""

from __future__ import annotations

import os

import minidocker
from minidocker.engine.records import Record

TYPE_CHECKING = False
if TYPE_CHECKING:

    from minidocker.engine.records import Record


def mount_rootfs(record: Record) -> None:
    target = record.path("rootfs")
    if os.path.ismount(target):
        return
    lowers = list(record.config["Lowers"])
    options = f"lowerdir={':'.join(lowers)},upperdir={record.path('upper')}," \
        f"workdir={record.path('work')}"
    if record.config["HostConfig"].get("AutoRemove"):
        # its upper dir is thrown away at exit: skip the sync of the upper filesystem
        # that overlayfs does at unmount (about 10 ms on ext4)
        options += ",volatile"
    if any(c in p for p in (*lowers, record.dir) for c in ",:\\"):
        from minidocker.image.snapshot import overlay_options  # its error explains
        overlay_options(lowers, record.path("upper"), record.path("work"))
    from minidocker.linux import libc  # not image.snapshot: keeps `run` imports light
    try:
        libc.mount("overlay", target, "overlay", 0, options, what=target)
    except OSError:
        if not options.endswith(",volatile"):
            raise
        libc.mount("overlay", target, "overlay", 0, options[:-len(",volatile")], what=target)
        options = options[:-len(",volatile")]
    if minidocker.TRACE:
        minidocker.TRACE.step("mount", "rootfs: overlay", target=target, lowerdir=lowers,
                              upperdir=record.path("upper"), workdir=record.path("work"),
                              data=options)


def unmount_rootfs(record: Record) -> None:
    import errno

    from minidocker.linux import libc
    target = record.path("rootfs")
    for _ in range(3):
        if not os.path.ismount(target):
            return
        try:
            libc.umount2(target, libc.MNT_DETACH)
        except OSError as e:
            if e.errno not in (errno.EINVAL, errno.ENOENT):
                raise


def rootfs_view(record: Record) -> tuple[str, bool]:
    """A path where the container's filesystem is visible; True if we mounted it (the
    caller unmounts with unmount_rootfs when done)."""
    target = record.path("rootfs")
    if os.path.ismount(target):
        return target, False
    mount_rootfs(record)
    return target, True
