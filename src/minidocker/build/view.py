"""Read-only views of a build state's filesystem, for what a step reads without running
a container: COPY's destination (does it exist, is it a directory, the metadata of its
parents), `--chown` names (/etc/passwd), `COPY --from` sources, `RUN --mount=from=`.

A state of one layer is its snapshot directory; a state of several is a read-only
overlay of its snapshots (no upper dir), mounted under the build's work directory and
detached when the view closes. Paths are always resolved inside the view's root
(openat2 RESOLVE_IN_ROOT), so a symlink in an image never leads outside it.
"""

from __future__ import annotations

import errno
import os
import stat

from minidocker.image import snapshot
from minidocker.image.store import Image, Store
from minidocker.linux import libc

_RESOLVE = libc.RESOLVE_IN_ROOT | libc.RESOLVE_NO_MAGICLINKS


class View:
    def __init__(self, store: Store, image: Image | None, workdir: str):
        self.store = store
        self.image = image
        self.workdir = workdir
        self.root = ""
        self.mounted = False
        self.fd = -1

    def __enter__(self) -> View:
        import tempfile
        if self.image is None or not self.image.chain_ids:
            os.makedirs(self.workdir, exist_ok=True)
            self.root = tempfile.mkdtemp(prefix="scratch-", dir=self.workdir)
        else:
            snapshot.ensure(self.store, self.image)
            lowers = snapshot.lower_dirs(self.store, self.image)
            if len(lowers) == 1:
                self.root = lowers[0]
            else:
                os.makedirs(self.workdir, exist_ok=True)
                self.root = tempfile.mkdtemp(prefix="view-", dir=self.workdir)
                options = "lowerdir=" + ":".join(lowers)
                from minidocker.linux import userns
                if userns.rootless():  # its metadata in user.overlay.* (image/overlay.py)
                    options += ",userxattr"
                if len(options) > snapshot.LOWERDIR_BUDGET:
                    raise OSError(errno.E2BIG, "too many layers for a read-only view")
                libc.mount("overlay", self.root, "overlay", libc.MS_RDONLY, options,
                           what=self.root)
                self.mounted = True
        self.fd = os.open(self.root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        if self.mounted:
            libc.umount2(self.root, libc.MNT_DETACH)
            self.mounted = False
        if self.root.startswith(self.workdir + "/"):
            try:
                os.rmdir(self.root)
            except OSError:
                pass

    def resolve(self, path: str) -> str | None:
        """The host path of `path` in the view, symlinks resolved inside it; None if
        it does not exist."""
        rel = path.lstrip("/") or "."
        try:
            fd = libc.openat2(self.fd, rel, os.O_PATH | os.O_CLOEXEC, _RESOLVE)
        except OSError as e:
            if e.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
                return None
            raise
        try:
            return os.readlink(f"/proc/self/fd/{fd}")
        finally:
            os.close(fd)

    def lstat(self, path: str) -> os.stat_result | None:
        """lstat of `path`, its parents resolved inside the view."""
        parent, _, name = path.rstrip("/").rpartition("/")
        if not name:
            return os.stat(self.root)
        host_parent = self.resolve(parent or "/")
        if host_parent is None:
            return None
        try:
            return os.lstat(os.path.join(host_parent, name))
        except (FileNotFoundError, NotADirectoryError):
            return None

    def is_dir(self, path: str) -> bool:
        host = self.resolve(path)
        return host is not None and stat.S_ISDIR(os.stat(host).st_mode)

    def lowers(self) -> list[str]:
        """The root as the one lower dir that bundle.resolve_user reads /etc from."""
        return [self.root]
