"""A container's filesystem from the host: the changes in its upper dir (`diff`), copies
both ways (`cp`) and tar (`export`), read and written by a child chrooted into it, so that
its symlinks can't lead outside it."""

from __future__ import annotations

import os
import stat

from minidocker.errors import MinidockerError, NotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import IO, Any


def diff(upper: str, lowers: list[str]) -> list[tuple[str, str]]:
    """(kind, path) as `docker diff` shows: A added, C changed, D deleted.

    The container writes its upper dir while we read it: the walk goes by directory fds
    that never follow a link (os.fwalk), so a directory swapped for a link to a host
    directory during the walk can't list the host's names; whether a path was in the
    image is asked of each lower layer with RESOLVE_IN_ROOT (its links stay inside it)."""
    from minidocker.linux import libc
    out: dict[str, str] = {}
    lower_fds = [os.open(lower, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
                 for lower in lowers if os.path.isdir(lower)]
    try:
        for dirpath, dirnames, filenames, dirfd in os.fwalk(upper, follow_symlinks=False):
            rel_dir = "/" + os.path.relpath(dirpath, upper).lstrip(".")
            rel_dir = rel_dir if rel_dir != "/" else ""
            for name in sorted(dirnames + filenames):
                rel = f"{rel_dir}/{name}"
                try:
                    st = os.stat(name, dir_fd=dirfd, follow_symlinks=False)
                except FileNotFoundError:
                    continue  # removed while we walked
                if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                    out[rel] = "D"
                    continue
                out[rel] = "C" if any(_exists_in(fd, rel, libc) for fd in lower_fds) \
                    else "A"
    finally:
        for fd in lower_fds:
            os.close(fd)
    return sorted(((k, p) for p, k in out.items()), key=lambda item: item[1])


def _exists_in(root_fd: int, rel: str, libc: Any) -> bool:
    try:
        fd = libc.openat2(root_fd, rel.lstrip("/"), os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC,
                          libc.RESOLVE_IN_ROOT)
    except OSError:
        return False
    os.close(fd)
    return True


def copy_out(root: str, src_path: str, dest: str | IO[bytes], follow: bool = False,
             archive: bool = False) -> None:
    """Copy `src_path` of the container whose filesystem is at `root` to host path `dest`
    (a binary stream: a tar of it written there), with docker cp's rules.

    The reading is done by a child chrooted into `root`, which sends the source as a tar
    stream (_tar_add): every symlink on the way, in the middle of the path or swapped in
    while the copy runs (CVE-2018-15664), resolves as the container sees it, inside it.
    The stream is unpacked here without following any link, the ones it brings included.
    Without -L the source itself is copied as the link it may be; -a keeps its owners,
    otherwise the copy belongs to us.
    """
    import tarfile
    name = _source_name(src_path)
    if not isinstance(dest, str):
        _tar_out(tarfile, root, src_path, name, dest, follow)
        return

    def write(source: IO[bytes]) -> None:
        _unpack(tarfile, source, dest, name, None if archive else (os.geteuid(), os.getegid()),
                confine=True)
        while source.read(65536):
            pass  # the end of the archive: the child must not get EPIPE for it

    _chrooted(root, _tar_reader(tarfile, src_path, ".", follow), write, child_writes=True)


def export(root: str, out: IO[bytes]) -> None:
    """The whole filesystem at `root` as a tar stream on `out`, read as cp reads it."""
    import tarfile
    _tar_out(tarfile, root, "/", ".", out, what="export")


def _tar_out(tarfile: Any, root: str, path: str, arcname: str, out: IO[bytes],
             follow: bool = False, what: str = "") -> None:
    def write(source: IO[bytes]) -> None:
        while chunk := source.read(65536):
            out.write(chunk)
        out.flush()

    _chrooted(root, _tar_reader(tarfile, path, arcname, follow), write, child_writes=True,
              what=what)


def _tar_reader(tarfile: Any, path: str, arcname: str, follow: bool) -> Callable[[int], None]:
    """What the chrooted child runs: `path` as a tar stream on the fd."""
    def read(fd: int) -> None:
        with os.fdopen(fd, "wb") as out, \
                tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            try:
                _tar_add(tarfile, tar, path, arcname, follow=follow)
            except FileNotFoundError:
                raise NotFound(f"could not find the file {path} in container") from None
    return read


def copy_in(root: str, src: str, dest_path: str, archive: bool = False) -> None:
    """Copy host `src` to `dest_path` in the container whose filesystem is at `root`.

    The writing is done by a child chrooted into `root`, fed a tar stream of `src`: every
    path and symlink on the container's side is then resolved as the container sees it,
    so a link the container planted (say /data/sub -> /etc) can never send the copy to
    the host's /etc. New files belong to root, as with `docker cp` (-a: to the source's
    owners).
    """
    import tarfile
    if not os.path.lexists(src):
        raise NotFound(f"could not find the file {src}")

    def write(fd: int) -> None:
        with os.fdopen(fd, "rb") as source:
            _unpack(tarfile, source, dest_path or "/", _source_name(src),
                    None if archive else (0, 0), confine=False)

    def read(out: IO[bytes]) -> None:
        tar_tree(src, out, ".")

    _chrooted(root, write, read, child_writes=False, what=f"copy to {dest_path}")


def copy_in_archive(root: str, source: IO[bytes], dest_path: str,
                    archive: bool = False) -> None:
    """`cp - CONTAINER:DEST`: unpack the tar stream `source` (stdin) into the directory
    `dest_path` of the container, by a child chrooted into it, as copy_in does. Entries
    must stay below DEST (no absolute name, no ".."); new files belong to root (-a: to
    the stream's owners)."""
    import shutil
    import tarfile

    def write(fd: int) -> None:
        with os.fdopen(fd, "rb") as stream:
            _unpack_archive(tarfile, stream, dest_path or "/", None if archive else (0, 0))

    def read(out: IO[bytes]) -> None:
        shutil.copyfileobj(source, out)

    _chrooted(root, write, read, child_writes=False, what=f"copy to {dest_path}")


def _unpack_archive(tarfile: Any, source: IO[bytes], dest: str,
                    owner: tuple[int, int] | None) -> None:
    """In the chrooted child: every entry of a tar stream, below the directory `dest`."""
    if not os.path.isdir(dest):
        raise MinidockerError(f"extraction point is not a directory: {dest}")
    extract_kw: dict[str, Any] = {"numeric_owner": True}
    if hasattr(tarfile, "fully_trusted_filter"):
        extract_kw["filter"] = "fully_trusted"  # the checks are the ones below
    with tarfile.open(fileobj=source, mode="r|") as tar:
        for member in tar:
            for name in (member.name, member.linkname if member.islnk() else ""):
                if name.startswith("/") or ".." in name.split("/"):
                    raise MinidockerError(f"{name}: outside the extraction point")
            if owner is not None:
                member.uid, member.gid = owner
            member.uname = member.gname = ""
            tar.extract(member, dest, **extract_kw)


def _source_name(path: str) -> str:
    """The name a copy of `path` gets; "." for `dir/.` (docker cp: the contents only)."""
    if path in (".", "/") or path.endswith("/.") or path.rstrip("/") == "":
        return "."
    return os.path.basename(os.path.normpath("/" + path)) or "."


def _chrooted(root: str, child: Callable[[int], None], here: Callable[[IO[bytes]], None],
              child_writes: bool, what: str = "") -> None:
    """Run child(fd) in a forked process chrooted into `root` while here(file) runs in this
    one, the two ends of one pipe (the child's is the writing end if child_writes).
    Errors are `what: why` (the child's in the container's terms).

    After the chroot the container's files come first: the child must import nothing (a
    module would be found in the container), and look up no user or group name (glibc's
    NSS would load libraries named by the container's /etc/nsswitch.conf, CVE-2019-14271).
    A broken pipe on the pipe only means the other side stopped reading.
    """
    from minidocker.errors import describe
    r, w = os.pipe()
    err_r, err_w = os.pipe()
    mine, theirs = (r, w) if child_writes else (w, r)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the forked child
        try:
            os.close(mine)
            os.close(err_r)
            os.chroot(root)
            os.chdir("/")
            child(theirs)
            os._exit(0)
        except BrokenPipeError:
            os._exit(2)  # the parent stopped reading: it says why
        except BaseException as e:  # noqa: BLE001 - reported by the parent
            os.write(err_w, describe(e).encode())
            os._exit(1)
    os.close(theirs)
    os.close(err_w)
    failure: Exception | None = None
    try:
        with os.fdopen(mine, "rb" if child_writes else "wb") as f:
            here(f)
    except Exception as e:  # noqa: BLE001 - raised below unless the child's error comes first
        if not (isinstance(e, BrokenPipeError) and not child_writes):
            failure = e  # else the child stopped reading: it failed (says why) or was done
    finally:
        _, status = os.waitpid(pid, 0)
        with os.fdopen(err_r, "rb") as f:
            why = f.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    child_error = None
    if code == 1 or (code != 0 and failure is None):
        why = why or f"failed (status {code})"
        child_error = MinidockerError(f"{what}: {why}" if what else why)
    # the writer's error comes first: the reader's is what a cut stream caused
    if child_error is not None and (child_writes or failure is None):
        raise child_error
    if isinstance(failure, MinidockerError):
        raise failure
    if failure is not None:
        why = describe(failure)
        raise MinidockerError(f"{what}: {why}" if what else why) from failure


def _tar_add(tarfile: Any, tar: Any, path: str, arcname: str, dir_fd: int | None = None,
             follow: bool = False) -> None:
    """Add `path` (relative to `dir_fd`) and what is below it to `tar`, in the chrooted
    child. Below the top, every entry is opened relative to its directory's fd without
    following links, so nothing swapped in while we read can lead elsewhere; only regular
    files are read, and only after fstat says the opened file is one. Owners are numbers
    (no name lookups, see _chrooted)."""
    flags = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY
    st = os.stat(path, dir_fd=dir_fd, follow_symlinks=follow)
    info = tarfile.TarInfo(arcname)
    if stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode):
        fd = os.open(path, flags | (0 if follow else os.O_NOFOLLOW), dir_fd=dir_fd)
        try:
            st = os.fstat(fd)
            _tar_info(info, st)
            if stat.S_ISREG(st.st_mode):
                info.size = st.st_size
                with os.fdopen(os.dup(fd), "rb") as f:
                    tar.addfile(info, f)
            elif stat.S_ISDIR(st.st_mode):
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
                for name in sorted(os.listdir(fd)):
                    _tar_add(tarfile, tar, name, f"{arcname}/{name}", dir_fd=fd)
            else:
                raise MinidockerError(f"{path}: replaced while being copied")
        finally:
            os.close(fd)
        return
    _tar_info(info, st)
    if stat.S_ISLNK(st.st_mode):
        info.type = tarfile.SYMTYPE
        info.linkname = os.readlink(path, dir_fd=dir_fd)
    elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        info.type = tarfile.CHRTYPE if stat.S_ISCHR(st.st_mode) else tarfile.BLKTYPE
        info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
    elif stat.S_ISFIFO(st.st_mode):
        info.type = tarfile.FIFOTYPE
    else:
        return  # a socket: tar leaves it out too
    tar.addfile(info)


def _tar_info(info: Any, st: os.stat_result) -> None:
    info.mode = stat.S_IMODE(st.st_mode)
    info.uid, info.gid = st.st_uid, st.st_gid
    info.mtime = int(st.st_mtime)


def _unpack(tarfile: Any, source: IO[bytes], dest: str, src_name: str,
            owner: tuple[int, int] | None, confine: bool) -> None:
    """Unpack a stream whose top entry is "." (one copied file or directory) at `dest`,
    with docker cp's rules: into `dest` if it is a directory (only the directory's
    contents when `src_name` is "."), else as `dest` (overwriting a file; a directory
    can't replace a file, and `dest` is created only in an existing directory). `owner`:
    (uid, gid) for every entry, None to keep the stream's.

    confine (on the host, for a stream the container filled): no entry is written through
    a symlink, neither one already there nor one the stream made; a link where an entry
    goes is replaced, as docker cp does. Without it (chrooted in the container) the
    container's links are followed as it would follow them."""
    with tarfile.open(fileobj=source, mode="r|") as tar:
        top = tar.next()
        if top is None:
            raise MinidockerError("nothing to copy")
        if confine and os.path.exists(dest):
            dest = os.path.realpath(dest)  # the user's own links on the host are followed
        if os.path.isdir(dest):
            parent, name = dest, src_name
        elif os.path.exists(dest):
            if top.isdir():
                raise MinidockerError(f"cannot copy a directory to a file: {dest}")
            parent, name = os.path.dirname(dest) or ".", os.path.basename(dest)
        elif dest.endswith("/") and not top.isdir():
            raise NotFound(f"{dest}: no such directory")
        else:
            trimmed = dest.rstrip("/")
            parent, name = os.path.dirname(trimmed) or ".", os.path.basename(trimmed)
            if not os.path.isdir(parent):
                raise NotFound(f"{parent}: no such directory")
        if confine:
            parent = os.path.realpath(parent)
        extract_kw: dict[str, Any] = {"numeric_owner": True}
        if hasattr(tarfile, "fully_trusted_filter"):  # Python's with extraction filters
            extract_kw["filter"] = "fully_trusted"  # the checks are ours (confine)
        member = top
        while member is not None:
            if confine:
                _confined(parent, name, member)
            if not (name == "." and member is top):  # the contents only: not dest's own mode
                member.name = name + member.name[1:]
                if owner is not None:
                    member.uid, member.gid = owner
                member.uname = member.gname = ""
                tar.extract(member, parent, **extract_kw)
            member = tar.next()


def _confined(parent: str, name: str, member: Any) -> None:
    """Host side of _unpack: the stream's entry is one of ours (".", "./a/b", no "..", no
    hard link) and nothing on its way below `parent` is a symlink; a link at its place is
    removed, so the entry replaces it instead of writing through it."""
    parts = member.name.split("/")
    if parts[0] != "." or any(p in ("", ".", "..") for p in parts[1:]) or member.islnk():
        raise MinidockerError(f"unexpected entry in the copy: {member.name!r}")
    target = os.path.normpath(os.path.join(parent, name, *parts[1:]))
    where = os.path.dirname(target) if target != parent else parent
    if os.path.realpath(where) != where:
        raise MinidockerError(f"{target}: a symbolic link on the way, not copied")
    if target != parent and os.path.islink(target):
        os.unlink(target)


def tar_tree(top: str, out: IO[bytes], arcname: str = ".") -> None:
    import tarfile
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tf:
        tf.add(top, arcname=arcname, recursive=True)
