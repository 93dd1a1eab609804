"""`--userns`: `host` (what root's containers always are; accepted as Docker and podman
do) and, rootless, `keep-id` (podman's): the container runs as the user's own uid and
gid, so files of a bind mount or a volume keep their owner on both sides.

keep-id needs a user namespace of the container's own, K, nested in the session's (where
the user is 0 and the subordinate ids are 1..N): K maps its ids 0..U-1 to the session's
1..U, its U (the user's host uid) to the session's 0 (the user), and U+1..N to themselves.
The image's files are stored for the session's map (an image id x as session id x), so
seen through K they would be off by one; overlayfs cannot be idmapped, and lower layers
on the host's filesystem cannot be idmapped by an unprivileged user either. So, as
podman does without idmapped mounts, the container gets a copy of its image's merged
layers with every owner x moved to K(x): made once at create, in the record (its upper
dir and the files bind-mounted into it too), and removed with it.
"""

from __future__ import annotations

import os

from minidocker.errors import MinidockerError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

KEEP_ID = "keep-id"


def check(mode: str) -> str:
    """Validate --userns (HostConfig.UsernsMode): "", "host" or "keep-id"."""
    if mode in ("", "host"):
        return mode
    if mode != KEEP_ID:
        raise UsageError(f"invalid --userns {mode!r}: use host, or keep-id (rootless)")
    from minidocker.linux import userns
    if userns.in_initial():
        raise UsageError("--userns=keep-id is for rootless users: root's containers "
                         "already share the host's ids")
    user, group = userns.outside(0), userns.outside(0, "gid")
    if user is None or group is None:
        raise MinidockerError("--userns=keep-id: cannot tell your uid and gid")
    for kind, own in (("uid", user), ("gid", group)):
        if userns.mapped_ids(kind) <= own:
            raise UsageError(
                f"--userns=keep-id needs more subordinate {kind}s than your {kind} "
                f"({own}): the session maps {userns.mapped_ids(kind)}",
                hint="give your user a range in /etc/subuid and /etc/subgid, then run "
                "`minidocker system migrate`")
    return mode


def ids() -> tuple[int, int]:
    """The user's uid and gid (as the host knows them), which keep-id keeps."""
    from minidocker.linux import userns
    return userns.outside(0) or 0, userns.outside(0, "gid") or 0


def mappings(own: int, total: int) -> list[dict[str, int]]:
    """K's map (OCI uidMappings: containerID, hostID in the session, size)."""
    out = [{"containerID": 0, "hostID": 1, "size": own}] if own else []
    out.append({"containerID": own, "hostID": 0, "size": 1})
    if total > own + 1:
        out.append({"containerID": own + 1, "hostID": own + 1, "size": total - own - 1})
    return out


def shift(value: int, own: int) -> int:
    """The session's id that K shows as `value`."""
    if value < own:
        return value + 1
    if value == own:
        return 0
    return value


def apply_to_spec(linux: dict[str, Any]) -> None:
    """A user namespace K for the container (the spec's `linux`)."""
    from minidocker.linux import userns
    uid, gid = ids()
    linux["namespaces"].insert(0, {"type": "user"})
    linux["uidMappings"] = mappings(uid, userns.mapped_ids("uid"))
    linux["gidMappings"] = mappings(gid, userns.mapped_ids("gid"))


def default_user(user: str) -> str:
    """No --user: the user's own ids, as podman's keep-id does."""
    if user:
        return user
    uid, gid = ids()
    return f"{uid}:{gid}"


def prepare(record_dir: str, lowers: list[str]) -> list[str]:
    """The copy of the image (its lower dirs merged) with owners as K needs them, in
    `record_dir`/keep-id; its upper and work dirs made K's root's. Returns the new lower
    dirs."""
    import subprocess
    import tempfile

    from minidocker.linux import libc
    uid, gid = ids()
    dest = os.path.join(record_dir, "keep-id")
    merged = lowers[0]
    view = None
    if len(lowers) > 1:  # the layers as one tree: a read-only overlay of them
        view = tempfile.mkdtemp(prefix="keepid-view-", dir=record_dir)
        libc.mount("overlay", view, "overlay", libc.MS_RDONLY,
                   "lowerdir=" + ":".join(lowers) + ",userxattr", what=view)
        merged = view
    try:
        proc = subprocess.run(["cp", "-a", "--", merged, dest], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              errors="replace")
        if proc.returncode != 0:
            raise MinidockerError("--userns=keep-id: cannot copy the image: "
                                  + (proc.stderr.strip().splitlines() or ["cp failed"])[-1])
    finally:
        if view is not None:
            libc.umount2(view, libc.MNT_DETACH)
            os.rmdir(view)
    _shift_tree(dest, uid, gid)
    for sub in ("upper", "work"):
        os.chown(os.path.join(record_dir, sub), shift(0, uid), shift(0, gid))
    return [dest]


def own_files(record_dir: str, names: tuple[str, ...]) -> None:
    """The files bind-mounted into the container (hosts ...) belong to K's root."""
    uid, gid = ids()
    for name in names:
        try:
            os.chown(os.path.join(record_dir, name), shift(0, uid), shift(0, gid))
        except FileNotFoundError:
            pass


def _shift_tree(top: str, uid: int, gid: int) -> None:
    """Every owner x under `top` becomes K(x); modes (set-id bits, which chown clears)
    are put back."""
    import stat
    for dirpath, dirnames, filenames in os.walk(top):
        for name in [*dirnames, *filenames, ""]:
            path = os.path.join(dirpath, name) if name else dirpath
            if not name and dirpath != top:
                continue  # each directory is done from its parent
            st = os.lstat(path)
            os.lchown(path, shift(st.st_uid, uid), shift(st.st_gid, gid))
            if not stat.S_ISLNK(st.st_mode) and st.st_mode & 0o6000:
                os.chmod(path, stat.S_IMODE(st.st_mode))
