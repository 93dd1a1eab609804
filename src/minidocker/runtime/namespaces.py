"""Namespaces of a container: creating, joining, and the id mappings of a user namespace."""

from __future__ import annotations

import os

import minidocker
from minidocker.errors import MinidockerError
from minidocker.linux import libc

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# OCI type -> (clone flag, name under /proc/<pid>/ns)
KINDS: dict[str, tuple[int, str]] = {
    "user": (libc.CLONE_NEWUSER, "user"),
    "pid": (libc.CLONE_NEWPID, "pid"),
    "network": (libc.CLONE_NEWNET, "net"),
    "ipc": (libc.CLONE_NEWIPC, "ipc"),
    "uts": (libc.CLONE_NEWUTS, "uts"),
    "cgroup": (libc.CLONE_NEWCGROUP, "cgroup"),
    "time": (libc.CLONE_NEWTIME, "time"),
    "mount": (libc.CLONE_NEWNS, "mnt"),
}
# setns order: the user namespace first (it owns the others), the mount namespace last
JOIN_ORDER = ["user", "ipc", "uts", "network", "pid", "cgroup", "time", "mount"]


def open_paths(wanted: dict[str, str | None]) -> list[tuple[str, int]]:
    """Open the namespaces given by path, in join order: [(type, fd)]."""
    out = []
    try:
        for kind in JOIN_ORDER:
            path = wanted.get(kind)
            if path:
                try:
                    out.append((kind, os.open(path, os.O_RDONLY | os.O_CLOEXEC)))
                except OSError as e:
                    raise MinidockerError(f"{kind} namespace {path}: {e.strerror}")
        return out
    except BaseException:
        for _, fd in out:
            os.close(fd)
        raise


def join(fds: list[tuple[str, int]]) -> None:
    for kind, fd in fds:
        try:
            libc.setns(fd, KINDS[kind][0], what=f"{kind} namespace")
        finally:
            os.close(fd)
        if minidocker.TRACE:
            minidocker.TRACE.setns(kind, KINDS[kind][0])


def unshare_flags(wanted: dict[str, str | None], exclude: tuple[str, ...] = ()) -> int:
    flags = 0
    for kind, path in wanted.items():
        if path is None and kind not in exclude:
            flags |= KINDS[kind][0]
    return flags


def same_as_ours(pid: int, name: str) -> bool:
    try:
        a = os.stat(f"/proc/{pid}/ns/{name}")
        b = os.stat(f"/proc/self/ns/{name}")
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def paths_of(pid: int, kinds: list[str]) -> dict[str, str]:
    return {k: f"/proc/{pid}/ns/{KINDS[k][1]}" for k in kinds}


def write_time_offsets(offsets: dict[str, Any]) -> None:
    lines = []
    for clock in ("monotonic", "boottime"):
        value = offsets.get(clock)
        if value:
            lines.append(f"{clock} {int(value.get('secs', 0))} "
                         f"{int(value.get('nanosecs', 0))}\n")
    if lines:
        with open("/proc/self/timens_offsets", "w") as f:
            f.write("".join(lines))
        if minidocker.TRACE:
            minidocker.TRACE.step("namespace", "time offsets", timens_offsets=lines)


def write_id_maps(pid: int, linux: dict[str, Any]) -> None:
    """Write uid_map and gid_map of `pid` (directly as root, else with newuidmap)."""
    uid_maps = linux.get("uidMappings") or []
    gid_maps = linux.get("gidMappings") or []
    if os.geteuid() != 0:
        own = [{"containerID": m["containerID"], "hostID": m["hostID"], "size": m["size"]}
               for m in uid_maps]
        simple = (len(own) == 1 and own[0]["hostID"] == os.geteuid() and own[0]["size"] == 1
                  and len(gid_maps) <= 1
                  and all(g["hostID"] == os.getegid() and g["size"] == 1 for g in gid_maps))
        if not simple:
            _newidmap("newuidmap", pid, uid_maps)
            _newidmap("newgidmap", pid, gid_maps)
            if minidocker.TRACE:
                minidocker.TRACE.step("user", "id maps written", pid=pid, uid_map=uid_maps,
                                      gid_map=gid_maps, by="newuidmap/newgidmap")
            return
        with open(f"/proc/{pid}/setgroups", "w") as f:
            f.write("deny")
    _write_map(f"/proc/{pid}/uid_map", uid_maps)
    _write_map(f"/proc/{pid}/gid_map", gid_maps)
    if minidocker.TRACE:
        minidocker.TRACE.step("user", "id maps written", pid=pid, uid_map=uid_maps,
                              gid_map=gid_maps, setgroups="deny" if os.geteuid() else "allow")


def _write_map(path: str, maps: list[dict[str, int]]) -> None:
    if not maps:
        return
    text = "".join(f"{m['containerID']} {m['hostID']} {m['size']}\n" for m in maps)
    try:
        with open(path, "w") as f:
            f.write(text)
    except OSError as e:
        raise MinidockerError(f"write {path}: {e.strerror}")


def _newidmap(tool: str, pid: int, maps: list[dict[str, int]]) -> None:
    if not maps:
        return
    import shutil
    binary = shutil.which(tool)
    if binary is None:
        raise MinidockerError(f"{tool} not found: mapping more than your own id needs it "
                              "(apt-get install uidmap)")
    args = [binary, str(pid)]
    for m in maps:
        args += [str(m["containerID"]), str(m["hostID"]), str(m["size"])]
    pid2 = os.posix_spawn(binary, args, dict(os.environ))
    _, status = os.waitpid(pid2, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise MinidockerError(f"{tool} failed for the mappings {maps}")
