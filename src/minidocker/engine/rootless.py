"""Where an unprivileged user's engine keeps its state, chosen here and only here.

Root keeps everything under /var/lib/minidocker. Any other user (or root inside a user
namespace) gets podman's layout: the store under $XDG_DATA_HOME/minidocker (default
~/.local/share/minidocker), and the session's runtime files (the holder of the user
namespace, the rootless network) under $XDG_RUNTIME_DIR/minidocker, or a private
/tmp/minidocker-<uid> when that is unset. `--root` (or $MINIDOCKER_ROOT) still names the
store; the runtime directory is per user whatever the root.
"""

from __future__ import annotations

import os

from minidocker.errors import MinidockerError
from minidocker.linux import userns

ROOT_STORE = "/var/lib/minidocker"


def is_rootless() -> bool:
    """Whether this process works without power over the host (see linux.userns)."""
    return userns.rootless()


def home() -> str:
    home = os.environ.get("HOME")
    if home:
        return home
    import pwd
    return pwd.getpwuid(userns.host_uid()).pw_dir


def default_root() -> str:
    """The store: /var/lib/minidocker for root, $XDG_DATA_HOME/minidocker otherwise."""
    if not is_rootless():
        return ROOT_STORE
    data = os.environ.get("XDG_DATA_HOME") or os.path.join(home(), ".local", "share")
    return os.path.join(data, "minidocker")


def run_dir(create: bool = True) -> str:
    """The user's runtime directory (made 0700 if missing). A directory there that is
    not this user's, or that others may write, is refused: it would let another user
    plant the file that says which namespace to enter."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    if base and os.path.isabs(base):
        path = os.path.join(base, "minidocker")
    else:
        path = f"/tmp/minidocker-{userns.host_uid()}"
    if create:
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass
        except OSError as e:
            raise MinidockerError(f"cannot create the runtime directory {path}: {e.strerror}",
                                  hint="set XDG_RUNTIME_DIR to a directory of yours")
    check_private(path)
    return path


def check_private(path: str) -> None:
    """`path` must be a real directory of ours that no one else can write."""
    import stat
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o022:
        raise MinidockerError(f"{path} is not a private directory of this user",
                              hint="remove it, or set XDG_RUNTIME_DIR to a directory of yours")


def cgroup_v2() -> bool:
    return os.path.exists("/sys/fs/cgroup/cgroup.controllers")


def cgroup_parent() -> str | None:
    """Where a rootless container's cgroup goes on a cgroup v2 host whose cgroup of this
    user is delegated (systemd's user@.service, or a subtree chowned to the user): next
    to this process's own cgroup, under its parent, when the user may create cgroups
    there, move processes and enable controllers (a cgroup with processes may not: v2's
    no-internal-process rule). None without such a delegation (and always on cgroup v1,
    whose hierarchies are never delegated to users)."""
    if not cgroup_v2():
        return None
    try:
        with open("/proc/self/cgroup") as f:
            own = next(line.split(":", 2)[2].strip() for line in f if line.startswith("0::"))
    except (OSError, StopIteration, IndexError):
        return None
    parent = os.path.dirname(own.rstrip("/")) or "/"
    if parent == "/":
        return None
    directory = "/sys/fs/cgroup" + parent
    if all(os.access(p, os.W_OK) for p in (directory, f"{directory}/cgroup.procs",
                                            f"{directory}/cgroup.subtree_control")):
        return parent
    return None
