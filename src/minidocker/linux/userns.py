"""Which user namespace this process is in, and who it is outside of it.

Read from /proc/self/uid_map and gid_map (cheap, no imports): the initial namespace maps
every id to itself (`0 0 4294967295`); any other map means a user namespace, where being
uid 0 gives no power over the host (runc's RunningInUserNS).
"""

from __future__ import annotations

_cache: dict[str, list[tuple[int, int, int]]] = {}


def id_map(kind: str = "uid") -> list[tuple[int, int, int]]:
    """[(inside, outside, count)] of /proc/self/{uid,gid}_map (read once per process)."""
    found = _cache.get(kind)
    if found is None:
        try:
            with open(f"/proc/self/{kind}_map") as f:
                found = [(int(a), int(b), int(c)) for a, b, c in
                         (line.split() for line in f if line.strip())]
        except OSError:
            found = [(0, 0, 4294967295)]
        _cache[kind] = found
    return found


def forget() -> None:
    """Read the maps again next time (after setns into another user namespace)."""
    _cache.clear()


def in_initial() -> bool:
    return id_map() == [(0, 0, 4294967295)]


def outside(inside: int, kind: str = "uid") -> int | None:
    """The id that `inside` (an id of this namespace) is in the parent namespace."""
    for first, host, count in id_map(kind):
        if first <= inside < first + count:
            return host + inside - first
    return None


def host_uid() -> int:
    """This process's uid as the host sees it (its own uid outside a user namespace)."""
    import os
    uid = os.getuid()
    found = None if in_initial() else outside(uid)
    return uid if found is None else found


def host_gid() -> int:
    import os
    gid = os.getgid()
    found = None if in_initial() else outside(gid, "gid")
    return gid if found is None else found


def rootless() -> bool:
    """True when this process has no power over the host: not root, or root only inside
    a user namespace."""
    import os
    return os.geteuid() != 0 or not in_initial()


def mapped_ids(kind: str = "uid") -> int:
    """How many ids this namespace maps (1: only the user's own)."""
    return sum(count for _, _, count in id_map(kind))
