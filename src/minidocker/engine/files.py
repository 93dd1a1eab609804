"""A container's filesystem from the host: paths resolved inside its root (symlinks can't
escape), the changes in its upper dir (`diff`), copies both ways (`cp`), tar (`export`)."""

from __future__ import annotations

import os
import stat

from minidocker.errors import MinidockerError, NotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Any


def resolve(root: str, path: str, follow_last: bool = True) -> str:
    """The host path of container path `path` under `root`, following symlinks the way
    the container would see them (absolute targets are relative to `root`)."""
    parts = [p for p in path.split("/") if p not in ("", ".")]
    current: list[str] = []
    hops = 0
    while parts:
        name = parts.pop(0)
        if name == "..":
            if current:
                current.pop()
            continue
        candidate = os.path.join(root, *current, name)
        if (parts or follow_last) and os.path.islink(candidate):
            hops += 1
            if hops > 40:
                raise MinidockerError(f"{path}: too many levels of symbolic links")
            target = os.readlink(candidate)
            if target.startswith("/"):
                current = []
            parts = [p for p in target.split("/") if p not in ("", ".")] + parts
            continue
        current.append(name)
    return os.path.join(root, *current)


def diff(upper: str, lowers: list[str]) -> list[tuple[str, str]]:
    """(kind, path) as `docker diff` shows: A added, C changed, D deleted."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(upper):
        rel_dir = "/" + os.path.relpath(dirpath, upper).lstrip(".")
        rel_dir = rel_dir if rel_dir != "/" else ""
        for name in sorted(dirnames + filenames):
            full = os.path.join(dirpath, name)
            rel = f"{rel_dir}/{name}"
            st = os.lstat(full)
            if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                out[rel] = "D"
                continue
            existed = any(os.path.lexists(os.path.join(lower, rel.lstrip("/")))
                          for lower in lowers)
            out[rel] = "C" if existed else "A"
    return sorted(((k, p) for p, k in out.items()), key=lambda item: item[1])


def copy_out(src: str, dest: str) -> None:
    _copy(src, dest, f"could not find the file {src} in container")


def copy_in(root: str, src: str, dest_path: str) -> None:
    """Copy host `src` to `dest_path` in the container whose filesystem is at `root`.

    The writing is done by a child chrooted into `root`, fed a tar stream of `src`: every
    path and symlink on the container's side is then resolved as the container sees it,
    so a link the container planted (say /data/sub -> /etc) can never send the copy to
    the host's /etc. New files belong to root, as with `docker cp`.
    """
    import tarfile

    from minidocker.errors import describe
    if not os.path.lexists(src):
        raise NotFound(f"could not find the file {src}")
    data_r, data_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(data_w)
            os.close(err_r)
            os.chroot(root)
            os.chdir("/")
            _extract_into(tarfile, data_r, dest_path or "/", os.path.basename(src.rstrip("/")))
            os._exit(0)
        except BaseException as e:  # noqa: BLE001 - reported by the parent
            os.write(err_w, describe(e).encode())
            os._exit(1)
    os.close(data_r)
    os.close(err_w)
    try:
        with os.fdopen(data_w, "wb") as out:
            tar_tree(src, out, ".")
    except BrokenPipeError:
        pass  # the child failed; it says why
    finally:
        _, status = os.waitpid(pid, 0)
        with os.fdopen(err_r, "rb") as f:
            why = f.read().decode(errors="replace")
    if status != 0:
        raise MinidockerError(f"copy to {dest_path}: {why or 'failed'}")


def _extract_into(tarfile: Any, fd: int, dest: str, src_name: str) -> None:
    """In the chrooted child: unpack the stream at `dest` (into it if it is a directory)."""
    if os.path.isdir(dest):
        parent, name = dest, src_name
    else:
        parent, name = os.path.dirname(dest.rstrip("/")) or "/", os.path.basename(dest)
    if not os.path.isdir(parent):
        raise NotFound(f"{parent}: no such directory in the container")
    with os.fdopen(fd, "rb") as f, tarfile.open(fileobj=f, mode="r|") as tar:
        for member in tar:
            member.name = name + member.name[1:]  # the stream's top entry is "."
            member.uid = member.gid = 0
            member.uname = member.gname = ""
            # confined by the chroot: the container's own links are followed as it would
            tar.extract(member, parent, filter="fully_trusted")


def _copy(src: str, dest: str, missing: str) -> None:
    """cp semantics: into `dest` if it is a directory; symlinks copied as links."""
    import shutil
    if not os.path.lexists(src):
        raise NotFound(missing)
    if os.path.isdir(dest):
        dest = os.path.join(dest, os.path.basename(src.rstrip("/")))
    if os.path.isdir(src) and not os.path.islink(src):
        shutil.copytree(src, dest, symlinks=True, dirs_exist_ok=True)
    else:
        shutil.copy2(src, dest, follow_symlinks=False)


def tar_tree(top: str, out: IO[bytes], arcname: str = ".") -> None:
    import tarfile
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tf:
        tf.add(top, arcname=arcname, recursive=True)
