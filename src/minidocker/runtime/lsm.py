"""AppArmor and SELinux: apply the process's profile or label where the host has the LSM,
and refuse clearly where it does not (a profile that can't be applied is never skipped)."""

from __future__ import annotations

import os

from minidocker.errors import MinidockerError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def apparmor_enabled() -> bool:
    try:
        with open("/sys/module/apparmor/parameters/enabled") as f:
            return f.read().startswith("Y") and os.path.exists("/proc/self/attr/apparmor")
    except OSError:
        return False


def selinux_enabled() -> bool:
    return os.path.exists("/sys/fs/selinux/enforce")


def check(process: dict[str, Any]) -> None:
    """Before anything is created: can the host apply what the process asks for?"""
    profile = process.get("apparmorProfile")
    if profile and not apparmor_enabled():
        raise MinidockerError(f"apparmor profile {profile!r} requested, but AppArmor is "
                              "not enabled on this host")
    label = process.get("selinuxLabel")
    if label and not selinux_enabled():
        raise MinidockerError(f"selinux label {label!r} requested, but SELinux is not "
                              "enabled on this host")


def apply(process: dict[str, Any], procfd: int) -> None:
    """Arm the profile/label for our next execve (written through the verified procfs)."""
    from minidocker.runtime.rootfs import proc_write
    profile = process.get("apparmorProfile")
    if profile:
        try:
            proc_write(procfd, "thread-self/attr/apparmor/exec", f"exec {profile}")
        except OSError as e:
            raise MinidockerError(f"apply apparmor profile {profile!r}: {e.strerror}")
    label = process.get("selinuxLabel")
    if label:
        try:
            proc_write(procfd, "thread-self/attr/exec", label)
        except OSError as e:
            raise MinidockerError(f"apply selinux label {label!r}: {e.strerror}")
