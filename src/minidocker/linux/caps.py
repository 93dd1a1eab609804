"""Linux capabilities: names, numbers, and applying the five sets of an OCI process."""

from __future__ import annotations

from minidocker.linux import libc

CAPS = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
]
_NUMBER = {name: i for i, name in enumerate(CAPS)}


def cap_number(name: str) -> int | None:
    """CAP_SYS_ADMIN (or SYS_ADMIN, any case) -> 21; None if unknown."""
    key = name.upper()
    if not key.startswith("CAP_"):
        key = "CAP_" + key
    return _NUMBER.get(key)


def last_cap() -> int:
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            return int(f.read())
    except OSError:
        return len(CAPS) - 1


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


def apply(effective: int, permitted: int, inheritable: int, ambient: int) -> None:
    libc.capset(effective, permitted, inheritable)
    libc.prctl(libc.PR_CAP_AMBIENT, libc.PR_CAP_AMBIENT_CLEAR_ALL)
    for n in range(last_cap() + 1):
        if ambient & (1 << n):
            libc.prctl(libc.PR_CAP_AMBIENT, libc.PR_CAP_AMBIENT_RAISE, n,
                       what=f"prctl(PR_CAP_AMBIENT_RAISE, {CAPS[n]})")
