"""COPY and ADD: the files a step copies, as a layer tar written directly (no container).

Sources come from the context or from a state's read-only view (`--from`), always
resolved inside their root; the destination is resolved inside the parent state's view,
so `COPY x /bin/` into an image whose /bin is a link to usr/bin writes usr/bin/x, and a
link in the image never leads the write outside the rootfs. The layer holds the copied
entries and their parent directories (existing ones with the metadata they have, missing
ones created 0755 and owned by --chown's user, as BuildKit creates them).
"""

from __future__ import annotations

import io
import os
import posixpath
import stat
import time
from collections.abc import Callable
from typing import IO, Any

from minidocker.build import context as contexts
from minidocker.build import remote
from minidocker.build.view import View
from minidocker.errors import MinidockerError


class CopyError(MinidockerError):
    pass


class Entry:
    """One entry of the layer: its path in the image (relative, no leading slash), its
    kind ("file", "dir", "link", "hardlink", "special", "data" or "archive": a local
    archive ADD extracts at `path`), metadata, and where its content comes from."""

    def __init__(self, path: str, kind: str, mode: int = 0o644, uid: int = 0, gid: int = 0,
                 mtime: float = 0.0, host: str = "", *, data: bytes = b"",
                 linkname: str = "", st: os.stat_result | None = None, archive: str = "",
                 force_owner: bool = False):
        self.path = path
        self.kind = kind
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.mtime = mtime
        self.host = host                  # file content from here
        self.data = data                  # or this content (heredocs)
        self.linkname = linkname
        self.st = st
        self.archive = archive
        self.force_owner = force_owner    # ADD --chown: the archive's members get uid/gid


class Match:
    """One source match: its path in its root, and what walking it found; or an ADD's
    download (rel is the URL, `host` the file, `name` what it is called in a destination
    directory, "" if the URL names nothing, `remote` what of it goes into the cache key)."""

    def __init__(self, rel: str, entries: list[tuple[str, os.stat_result]], is_dir: bool,
                 *, host: str = "", name: str = "", remote: list[Any] | None = None):
        self.rel = rel
        self.entries = entries
        self.is_dir = is_dir
        self.host = host
        self.name = name
        self.remote = remote


def matches(source: contexts.Context, patterns: list[str], keyword: str,
            fetch: Callable[[str], Match] | None = None) -> list[Match]:
    """What the patterns name; an ADD's URL is downloaded by `fetch`."""
    out: list[Match] = []
    for pattern in patterns:
        if keyword == "COPY" and (remote.is_url(pattern) or pattern.startswith("git@")):
            raise CopyError(f"source can't be a URL for COPY: {pattern}")
        if keyword == "ADD" and remote.is_git(pattern):
            raise CopyError(f"ADD {pattern}: git sources are not supported by this builder",
                            hint="clone the repository into the context and COPY it")
        if remote.is_url(pattern) and fetch is not None:
            out.append(fetch(pattern))
            continue
        found = source.match(pattern)
        if not found and not contexts.GLOB_CHARS.search(pattern):
            where = "in the build context" if source.use_ignore else "in the source image"
            raise CopyError(f"{pattern!r}: not found {where}"
                            + (" (or excluded by .dockerignore)" if source.use_ignore
                               else ""))
        for rel in found:
            walked = source.walk(rel)
            out.append(Match(rel, walked, stat.S_ISDIR(walked[0][1].st_mode)))
    if not out:
        raise CopyError("no source files were specified (no file matches "
                        f"{' '.join(patterns)!r})")
    return out


def parse_chown(text: str, view: View) -> tuple[int, int]:
    """--chown=user[:group], names from the destination image's /etc/passwd and group;
    a user alone gives the same number as group, as Docker does."""
    from minidocker.engine.bundle import _read_db
    user, _, group = text.partition(":")

    def lookup(name: str, db: str, what: str) -> int:
        if name.isdigit():
            return int(name)
        for entry in _read_db(view.lowers(), db):
            if len(entry) >= 3 and entry[0] == name and entry[2].isdigit():
                return int(entry[2])
        raise CopyError(f"unable to convert {what} {name!r} of --chown: no such {what} in "
                        f"the image's /etc/{db}")

    uid = lookup(user, "passwd", "user")
    gid = lookup(group, "group", "group") if group else uid
    return uid, gid


def parse_chmod(text: str) -> int:
    try:
        mode = int(text, 8)
    except ValueError:
        mode = -1
    if not 0 <= mode <= 0o7777:
        raise CopyError(f"invalid chmod parameter: '{text}'. it should be octal string and "
                        "between 0 and 07777")
    return mode


def is_archive(path: str) -> bool:
    """ADD extracts a local file that is a tar archive (plain, gzip, bzip2, xz), decided
    by its content as Docker does, not by its name."""
    import tarfile
    try:
        with tarfile.open(path, "r:*") as tf:
            return tf.next() is not None
    except (tarfile.TarError, OSError, EOFError):
        return False


def plan(view: View, items: list[Match], source: contexts.Context, dest: str,
         keyword: str, chown: tuple[int, int] | None, chmod: int | None,
         keep_owner: bool, heredocs: list[tuple[str, bytes]]) -> list[Entry]:
    """The entries of the layer, destination paths resolved in `view`."""
    count = sum(1 for _ in items) + len(heredocs)
    dest_is_dir = dest.endswith("/") or count > 1 or view.is_dir(dest)
    if count > 1 and not dest.endswith("/"):
        raise CopyError(f"when using {keyword} with more than one source file, the "
                        "destination must be a directory and end with a /")
    base = canonical(view, dest)
    out: dict[str, Entry] = {}
    created_dirs: list[str] = []
    seen_inodes: dict[tuple[int, int], str] = {}

    def owner(st: os.stat_result) -> tuple[int, int]:
        if chown is not None:
            return chown
        return (st.st_uid, st.st_gid) if keep_owner else (0, 0)

    def add(path: str, st: os.stat_result, host: str) -> None:
        uid, gid = owner(st)
        mode = stat.S_IMODE(st.st_mode) if chmod is None else chmod
        kind = "file"
        link = ""
        if stat.S_ISDIR(st.st_mode):
            kind = "dir"
        elif stat.S_ISLNK(st.st_mode):
            kind, link = "link", os.readlink(host)
            mode = stat.S_IMODE(st.st_mode)
        elif stat.S_ISREG(st.st_mode):
            if st.st_nlink > 1:
                key = (st.st_dev, st.st_ino)
                if key in seen_inodes:
                    kind, link = "hardlink", seen_inodes[key]
                else:
                    seen_inodes[key] = path
        elif stat.S_ISSOCK(st.st_mode):
            return
        else:
            kind = "special"
        out[path] = Entry(path, kind, mode, uid, gid, st.st_mtime, host, linkname=link,
                          st=st)

    for item in items:
        top_host = item.host or source.real_path(item.rel)
        if item.is_dir:
            # the directory's contents go into dest; dest itself is made like the source
            target = base
            if target and view.lstat("/" + target) is None:
                add(target, item.entries[0][1], top_host)
                created_dirs.append(target)
            for rel, st in item.entries[1:]:
                sub = posixpath.relpath(rel, item.rel) if item.rel else rel
                host = os.path.join(top_host, sub)
                add(posixpath.join(target, sub) if target else sub, st, host)
            continue
        st = item.entries[0][1]
        if item.remote:  # a download: its own name, never extracted
            if dest_is_dir and not item.name:
                raise CopyError("cannot determine filename from url: "
                                f"{remote.redacted(item.rel)}",
                                hint="name the file: ADD <url> /path/to/file")
            add(posixpath.join(base, item.name) if dest_is_dir else base, st, top_host)
            continue
        name = posixpath.basename(item.rel) or posixpath.basename(top_host)
        target = posixpath.join(base, name) if dest_is_dir else base
        if not target:
            raise CopyError(f"cannot copy {item.rel!r} over the root directory")
        if keyword == "ADD" and stat.S_ISREG(st.st_mode) and is_archive(top_host):
            uid, gid = chown or (0, 0)
            out[base + "/" + name] = Entry(base, "archive", uid=uid, gid=gid,
                                           archive=top_host, force_owner=chown is not None)
            if base and not view.is_dir("/" + base):
                out[base] = Entry(base, "dir", 0o755, uid, gid, time.time())
            continue
        add(target, st, top_host)
    for name, data in heredocs:
        target = posixpath.join(base, name) if dest_is_dir else base
        uid, gid = chown if chown is not None else (0, 0)
        out[target] = Entry(target, "data", 0o644 if chmod is None else chmod, uid, gid,
                            time.time(), data=data)
    entries = list(out.values())
    entries += parents(view, [e.path for e in entries if e.kind != "archive"]
                       + [e.path + "/x" for e in entries if e.kind == "archive" and e.path],
                       chown or (0, 0))
    return entries


def parents(view: View, paths: list[str], owner: tuple[int, int]) -> list[Entry]:
    """Directory entries for every parent of `paths`: the image's metadata where the
    directory exists, 0755 and `owner` where it does not."""
    wanted: set[str] = set()
    for path in paths:
        parent = posixpath.dirname(path)
        while parent:
            wanted.add(parent)
            parent = posixpath.dirname(parent)
    wanted -= set(paths)
    out = []
    now = time.time()
    for path in sorted(wanted):
        st = view.lstat("/" + path)
        if st is not None and stat.S_ISDIR(st.st_mode):
            out.append(Entry(path, "dir", stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid,
                             st.st_mtime))
        else:
            out.append(Entry(path, "dir", 0o755, owner[0], owner[1], now))
    return out


def canonical(view: View, path: str) -> str:
    """`path` (absolute) with the symlinks of its existing part resolved in the view;
    relative to the root, no leading slash."""
    parts = [p for p in path.split("/") if p and p != "."]
    done = ""
    for i, part in enumerate(parts):
        if part == "..":
            done = posixpath.dirname(done)
            continue
        candidate = posixpath.join(done, part) if done else part
        host = view.resolve("/" + candidate)
        if host is None:
            rest = [p for p in parts[i + 1:] if p != ".."]
            return posixpath.normpath(posixpath.join(candidate, *rest)).lstrip("/")
        rel = os.path.relpath(host, view.root)
        done = "" if rel == "." else rel
    return done


# ---- the tar --------------------------------------------------------------------------------


def write(entries: list[Entry], out: IO[bytes]) -> None:
    """The layer tar: parents before children, sorted, PAX format."""
    import tarfile
    ordered = sorted(entries, key=lambda e: e.path.split("/"))
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tf:
        for entry in ordered:
            if entry.kind == "archive":
                _extract_into(tf, entry)
                continue
            info = tarfile.TarInfo(entry.path)
            info.mode = entry.mode
            info.uid, info.gid = entry.uid, entry.gid
            info.mtime = entry.mtime
            if entry.kind == "dir":
                info.type = tarfile.DIRTYPE
                tf.addfile(info)
            elif entry.kind == "link":
                info.type, info.linkname = tarfile.SYMTYPE, entry.linkname
                tf.addfile(info)
            elif entry.kind == "hardlink":
                info.type, info.linkname = tarfile.LNKTYPE, entry.linkname
                tf.addfile(info)
            elif entry.kind == "data":
                info.size = len(entry.data)
                tf.addfile(info, io.BytesIO(entry.data))
            elif entry.kind == "special":
                assert entry.st is not None
                mode = entry.st.st_mode
                info.type = (tarfile.FIFOTYPE if stat.S_ISFIFO(mode) else
                             tarfile.CHRTYPE if stat.S_ISCHR(mode) else tarfile.BLKTYPE)
                info.devmajor = os.major(entry.st.st_rdev)
                info.devminor = os.minor(entry.st.st_rdev)
                tf.addfile(info)
            else:
                with open(entry.host, "rb") as f:
                    st = os.fstat(f.fileno())
                    info.size = st.st_size
                    tf.addfile(info, f)


def _extract_into(tf: Any, entry: Entry) -> None:
    """ADD of a local archive: its members, re-rooted under the destination directory."""
    import tarfile
    try:
        with tarfile.open(entry.archive, "r:*") as src:
            for member in src:
                parts = [p for p in member.name.split("/") if p not in ("", ".")]
                if ".." in parts:
                    raise CopyError(f"ADD {os.path.basename(entry.archive)}: member "
                                    f"{member.name!r} leaves the destination")
                if not parts:
                    continue
                member.name = posixpath.join(entry.path, *parts) if entry.path \
                    else "/".join(parts)
                member.uname = member.gname = ""
                if entry.force_owner:
                    member.uid, member.gid = entry.uid, entry.gid
                if member.islnk():
                    link = [p for p in member.linkname.split("/") if p not in ("", ".")]
                    if ".." in link:
                        raise CopyError(f"ADD: hard link {member.linkname!r} leaves the "
                                        "destination")
                    member.linkname = posixpath.join(entry.path, *link) if entry.path \
                        else "/".join(link)
                data = src.extractfile(member) if member.isreg() else None
                tf.addfile(member, data)
    except (tarfile.TarError, EOFError) as e:
        raise CopyError(f"ADD {os.path.basename(entry.archive)}: a damaged archive: {e}") \
            from None

