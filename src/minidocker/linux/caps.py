"""Linux capabilities: names, numbers, and applying the five sets of an OCI process."""

from __future__ import annotations

from minidocker.linux import libc
from minidocker.linux.capnames import CAPS

_NUMBER = {name: i for i, name in enumerate(CAPS)}


def cap_number(name: str) -> int | None:
    """CAP_SYS_ADMIN (or SYS_ADMIN, any case) -> 21; None if unknown."""
    key = name.upper()
    if not key.startswith("CAP_"):
        key = "CAP_" + key
    return _NUMBER.get(key)


_LAST_CAP: list[int] = []


def last_cap() -> int:
    """The kernel's highest capability number, read once per process (it cannot change
    while the kernel runs; the container's init masks five sets and walks the bounding
    set with it: each read of the file cost ~0.1 ms on its way to exec)."""
    if not _LAST_CAP:
        try:
            with open("/proc/sys/kernel/cap_last_cap") as f:
                _LAST_CAP.append(int(f.read()))
        except OSError:
            return len(CAPS) - 1
    return _LAST_CAP[0]


def mask(names: list[str] | None) -> int:
    """Bit mask of known capability names; names the kernel lacks are ignored (as runc)."""
    top = last_cap()
    bits = 0
    for name in names or []:
        n = cap_number(name)
        if n is not None and n <= top:
            bits |= 1 << n
    return bits


def drop_bounding(keep: int) -> None:
    for n in range(last_cap() + 1):
        if not keep & (1 << n) and libc.prctl(libc.PR_CAPBSET_READ, n) == 1:
            libc.prctl(libc.PR_CAPBSET_DROP, n, what=f"prctl(PR_CAPBSET_DROP, {CAPS[n]})")


def unraisable_ambient(capabilities: dict[str, list[str]]) -> list[str]:
    """The ambient capabilities of an OCI process that the kernel will not raise: each
    must be permitted and inheritable too. runc warns about them and goes on."""
    usable = mask(capabilities.get("permitted")) & mask(capabilities.get("inheritable"))
    return [name for name in capabilities.get("ambient") or []
            if not mask([name]) & usable and mask([name])]


def apply(effective: int, permitted: int, inheritable: int, ambient: int) -> None:
    """Set the sets; an ambient capability that is not permitted and inheritable is left
    out (unraisable_ambient() names it for a warning beforehand)."""
    ambient &= permitted & inheritable
    libc.capset(effective, permitted, inheritable)
    libc.prctl(libc.PR_CAP_AMBIENT, libc.PR_CAP_AMBIENT_CLEAR_ALL)
    for n in range(last_cap() + 1):
        if ambient & (1 << n):
            libc.prctl(libc.PR_CAP_AMBIENT, libc.PR_CAP_AMBIENT_RAISE, n,
                       what=f"prctl(PR_CAP_AMBIENT_RAISE, {CAPS[n]})")
