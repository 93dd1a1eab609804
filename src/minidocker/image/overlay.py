"""Overlay mounts for a rootless engine: the kernel's overlayfs inside the user namespace
(Linux 5.11+), with `userxattr` so that it keeps its metadata in user.overlay.* (trusted.*
cannot be written there), or fuse-overlayfs (Debian's package) where the kernel refuses.

Snapshots unpacked rootless keep whiteouts as 0:0 character devices (which a user
namespace may create) and opaque directories as user.overlay.opaque plus
user.fuseoverlayfs.opaque: both drivers read them (image/layer.py). The driver can be
forced with MINIDOCKER_OVERLAY=native|fuse-overlayfs (podman's mount_program).
"""

from __future__ import annotations

import os

from minidocker.errors import MinidockerError

OVERLAY_ENV = "MINIDOCKER_OVERLAY"
FUSE_PROGRAM = "fuse-overlayfs"


def wanted() -> str:
    """"native", "fuse-overlayfs" or "" (native, falling back to fuse-overlayfs)."""
    value = os.environ.get(OVERLAY_ENV, "").strip()
    if value in ("", "auto"):
        return ""
    if value in ("native", "overlay", "kernel"):
        return "native"
    if value in ("fuse", FUSE_PROGRAM):
        return FUSE_PROGRAM
    raise MinidockerError(f"{OVERLAY_ENV}={value!r}: use native or fuse-overlayfs")


def mount(options: str, target: str, flags: int = 0) -> str:
    """Mount an overlay with `options` (lowerdir=...,upperdir=...,workdir=...[,volatile])
    at `target` inside the user namespace. Returns the driver used."""
    from minidocker.linux import libc
    choice = wanted()
    if choice != FUSE_PROGRAM:
        native = options + ",userxattr"
        try:
            try:
                libc.mount("overlay", target, "overlay", flags, native, what=target)
            except OSError:
                if ",volatile" not in native:
                    raise
                libc.mount("overlay", target, "overlay", flags,
                           native.replace(",volatile", ""), what=target)
            return "native"
        except OSError as e:
            if choice == "native":
                raise
            first = e
    else:
        first = None
    try:
        _fuse_mount(options.replace(",volatile", ""), target, flags)
    except MinidockerError as e:
        if first is None:
            raise
        from minidocker.errors import describe
        raise MinidockerError(f"overlay {target}: {describe(first)}; and {e.message}",
                              hint="Linux 5.11 or later mounts overlayfs in a user "
                              "namespace; else install fuse-overlayfs and let users open "
                              "/dev/fuse") from None
    return FUSE_PROGRAM


def _fuse_mount(options: str, target: str, flags: int) -> None:
    import shutil
    import subprocess

    from minidocker.linux import libc
    program = shutil.which(FUSE_PROGRAM)
    if program is None:
        raise MinidockerError(f"{FUSE_PROGRAM} not found (apt-get install fuse-overlayfs)")
    if flags & libc.MS_RDONLY:
        raise MinidockerError(f"{FUSE_PROGRAM} cannot mount {target} read-only")
    proc = subprocess.run([program, "-o", options, target],
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        why = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
        raise MinidockerError(f"{FUSE_PROGRAM} {target}: {why}")
