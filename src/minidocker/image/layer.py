"""Layer tars: decompression (gzip, zstd, none) and safe extraction with whiteouts.

Two ways to apply whiteouts: OVERLAY (a fresh snapshot directory for overlayfs: `.wh.x`
becomes a 0:0 character device, `.wh..wh..opq` the `trusted.overlay.opaque` xattr, or in
a user namespace `user.overlay.opaque` and `user.fuseoverlayfs.opaque`: image/overlay.py) and
APPLY (flatten onto a rootfs: whiteouts delete what lower layers left there). The same
extractor unpacks image archives for `load` (ARCHIVE: regular files and directories only,
no whiteouts; a symlink, as Docker's archives hold a layer seen twice, becomes a hard
link to the regular file it names inside the archive, or nothing).

Safety: every entry is created relative to a directory fd opened with openat2(2), so no
entry can land outside the destination: absolute names and `..` are rejected; in OVERLAY
mode, where the directory starts empty, an entry under a symlink is rejected (a real tar
never contains one), in APPLY mode symlinks are resolved inside the root. Hard links must
point at an entry inside the destination.
"""

from __future__ import annotations

import contextlib
import enum
import errno
import hashlib
import io
import os
import shutil
import stat
import subprocess
import tarfile
import zlib
from typing import IO, Any

from minidocker.errors import InvalidConfig
from minidocker.linux import libc

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
OPAQUE_XATTR = "trusted.overlay.opaque"
# In a user namespace (rootless) trusted.* cannot be written: overlayfs mounted there with
# `userxattr` reads user.overlay.*, and fuse-overlayfs its own name (or that one)
ROOTLESS_OPAQUE_XATTRS = ("user.overlay.opaque", "user.fuseoverlayfs.opaque")
# metadata of the overlay filesystems, which a layer must never bring in
OVERLAY_XATTR_PREFIXES = ("trusted.overlay.", "user.overlay.", "user.fuseoverlayfs.")
GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
CHUNK = 1 << 20


class LayerError(InvalidConfig):
    """A layer that is malformed or tries to write outside its destination."""


class Mode(enum.StrEnum):
    OVERLAY = "overlay"
    APPLY = "apply"
    ARCHIVE = "archive"


# ---- decompression ------------------------------------------------------------------------


class HashingReader(io.RawIOBase):
    """Passes bytes through while hashing them (the diff ID of an uncompressed tar)."""

    def __init__(self, raw: IO[bytes]):
        self.raw = raw
        self.hash = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n if n is not None and n >= 0 else CHUNK)
        self.hash.update(data)
        self.size += len(data)
        return data

    def readinto(self, buf: Any) -> int:
        data = self.read(len(buf))
        buf[:len(data)] = data
        return len(data)

    def drain(self) -> None:
        while self.read(CHUNK):
            pass

    @property
    def digest(self) -> str:
        return "sha256:" + self.hash.hexdigest()


class _GzipReader(io.RawIOBase):
    """A streaming gunzip for (possibly multi-member) gzip data, faster than gzip.GzipFile."""

    def __init__(self, raw: IO[bytes]):
        self.raw = raw
        self.obj = zlib.decompressobj(47)
        self.pending = b""
        self.eof = False
        self.in_member = False

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = n if n is not None and n >= 0 else CHUNK
        while not self.pending and not self.eof:
            if self.obj.unconsumed_tail:
                data = self.obj.unconsumed_tail
            else:
                data = self.raw.read(CHUNK)
                if not data:
                    if self.in_member:
                        raise LayerError("gzip stream is truncated")
                    self.eof = True
                    break
            self.in_member = True
            try:
                self.pending = self.obj.decompress(data, max(n, CHUNK))
                while self.obj.eof:  # end of one gzip member; another may follow
                    rest = self.obj.unused_data
                    self.obj = zlib.decompressobj(47)
                    self.in_member = bool(rest.strip(b"\0"))
                    if not self.in_member:
                        break
                    self.pending += self.obj.decompress(rest)
            except zlib.error as e:
                raise LayerError(f"gzip stream is corrupt: {e}") from None
        out, self.pending = self.pending[:n], self.pending[n:]
        return out


class _ZstdReader(io.RawIOBase):
    """zstd through the `zstd` command (Debian package zstd), so nothing to pip install."""

    def __init__(self, raw: IO[bytes]):
        stdin: Any
        try:  # a seekable file: zstd reads it directly, from where our buffer stands
            fileno = raw.fileno()
            os.lseek(fileno, raw.tell(), os.SEEK_SET)
            stdin, feed = fileno, None
        except (OSError, AttributeError, ValueError):
            stdin, feed = subprocess.PIPE, raw
        try:
            self.proc = subprocess.Popen(["zstd", "-dcq"], stdin=stdin, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE)
        except FileNotFoundError:
            raise LayerError("zstd layers need the zstd command",
                             hint="apt-get install zstd") from None
        if feed is not None:
            import threading

            def pump() -> None:
                assert self.proc.stdin is not None
                with contextlib.suppress(BrokenPipeError):
                    while chunk := feed.read(CHUNK):
                        self.proc.stdin.write(chunk)
                    self.proc.stdin.close()

            threading.Thread(target=pump, daemon=True).start()
        assert self.proc.stdout is not None
        self.out = self.proc.stdout

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        data = self.out.read(n if n is not None and n >= 0 else CHUNK)
        if not data:
            rc = self.proc.wait()
            if rc != 0:
                err = self.proc.stderr.read().decode(errors="replace").strip() \
                    if self.proc.stderr else ""
                raise LayerError(f"zstd stream is corrupt: {err or rc}")
        return data

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for f in (self.proc.stdout, self.proc.stderr):
            if f:
                f.close()
        super().close()


def decompressed(raw: IO[bytes]) -> IO[bytes]:
    """A reader of the uncompressed tar, whatever the compression (sniffed from magic)."""
    buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(
        raw if isinstance(raw, io.RawIOBase) else _Raw(raw), CHUNK)
    head = buffered.peek(4)[:4]
    if head.startswith(GZIP_MAGIC):
        return _GzipReader(buffered)  # type: ignore[return-value]
    if head.startswith(ZSTD_MAGIC):
        return _ZstdReader(buffered)  # type: ignore[return-value]
    return buffered


class _Raw(io.RawIOBase):
    def __init__(self, f: IO[bytes]):
        self.f = f

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        data = self.f.read(len(buf))
        buf[:len(data)] = data
        return len(data)

    def fileno(self) -> int:
        return self.f.fileno()


# ---- extraction ---------------------------------------------------------------------------


def clean_name(name: str) -> list[str]:
    """Split a member name into components; reject absolute names and any `..`."""
    if name.startswith("/"):
        raise LayerError(f"{name!r}: absolute path in layer")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise LayerError(f"{name!r}: path escapes the layer ('..')")
    return parts


class Extractor:
    """Creates the members of one tar stream under `dest`; see the module docstring."""

    def __init__(self, dest: str, mode: Mode = Mode.OVERLAY):
        self.dest = dest
        self.mode = mode
        from minidocker.linux import userns
        self.is_root = os.geteuid() == 0  # may set owners (root of a user namespace too)
        self.rootless = userns.rootless()  # no devices; opaque dirs by user.* xattrs
        self.root_fd = os.open(dest, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        self.resolve = libc.RESOLVE_NO_MAGICLINKS | (
            libc.RESOLVE_IN_ROOT if mode == Mode.APPLY
            else libc.RESOLVE_BENEATH | libc.RESOLVE_NO_SYMLINKS)
        self.fds: dict[str, int] = {}
        self.dir_times: list[tuple[list[str], int]] = []
        self.written: set[str] = set()
        self.opaque: list[list[str]] = []
        self.links: list[tuple[list[str], list[str]]] = []  # ARCHIVE: (link, in-archive target)
        self.size = 0

    def close(self) -> None:
        self._forget_all()
        os.close(self.root_fd)

    # -- directories

    def _dir_fd(self, parts: list[str], create: bool = True) -> int:
        key = "/".join(parts)
        fd = self.fds.get(key)
        if fd is not None:
            return fd
        try:
            fd = self._open(self.root_fd, key or ".")
        except FileNotFoundError:
            if not create:
                raise
            fd = self.root_fd if not parts else self._dir_fd(parts[:-1])
            try:
                os.mkdir(parts[-1], 0o755, dir_fd=fd)
            except FileExistsError:
                pass
            try:
                fd = self._open(fd, parts[-1])
            except FileNotFoundError:
                raise LayerError(f"{key!r}: path goes through a dangling symlink") from None
        self.fds[key] = fd
        return fd

    def _open(self, dirfd: int, path: str) -> int:
        try:
            return libc.openat2(dirfd, path, os.O_PATH | os.O_DIRECTORY, self.resolve)
        except OSError as e:
            if e.errno == errno.ENOENT:
                raise FileNotFoundError(e.errno, e.strerror) from None
            if e.errno in (errno.ELOOP, errno.EXDEV, errno.ENOTDIR, errno.EAGAIN):
                raise LayerError(f"{path!r}: path goes through a symlink or a non-directory "
                                 "(an attempt to write outside the layer)") from None
            raise

    def _forget_all(self) -> None:
        for fd in self.fds.values():
            os.close(fd)
        self.fds.clear()

    def _forget(self, parts: list[str]) -> None:
        prefix = "/".join(parts)
        for key in [k for k in self.fds if k == prefix or k.startswith(prefix + "/")]:
            os.close(self.fds.pop(key))

    def _remove(self, pfd: int, parts: list[str]) -> None:
        name = parts[-1]
        try:
            st = os.lstat(name, dir_fd=pfd)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(st.st_mode):
            self._forget(parts)
            shutil.rmtree(name, dir_fd=pfd)
        else:
            os.unlink(name, dir_fd=pfd)

    # -- members

    def extract(self, tf: tarfile.TarFile) -> None:
        for member in tf:
            self.member(tf, member)
        self.finish()

    def member(self, tf: tarfile.TarFile, m: tarfile.TarInfo) -> None:
        if len(self.fds) > 256:  # only here, between members, is no cached fd in use
            self._forget_all()
        parts = clean_name(m.name)
        if not parts:
            return
        base = parts[-1]
        if self.mode == Mode.ARCHIVE:
            if not (m.isreg() or m.isdir() or m.issym() or m.islnk()):
                return  # an archive holds files: anything else is skipped
            if m.issym() or m.islnk():
                base_dir = parts[:-1] if m.issym() else []
                target = os.path.normpath(os.path.join(*base_dir, m.linkname)) \
                    if not m.linkname.startswith("/") else "/"
                self.links.append((parts, clean_name(target)))
                return
        elif base.startswith(WHITEOUT_PREFIX):
            self._whiteout(parts)
            return
        pfd = self._dir_fd(parts[:-1])
        self._mark_written(parts)
        try:
            existing = os.lstat(base, dir_fd=pfd)
        except FileNotFoundError:
            existing = None
        if existing is not None and not (m.isdir() and stat.S_ISDIR(existing.st_mode)):
            self._remove(pfd, parts)
            existing = None
        self.size += m.size if m.isreg() else 0
        if m.isreg():
            self._file(tf, m, pfd, base)
        elif m.isdir():
            if existing is None:
                os.mkdir(base, 0o700, dir_fd=pfd)
            self._meta(m, pfd, base)
            self.dir_times.append((parts, _ns(m.mtime)))
        elif m.issym():
            os.symlink(m.linkname, base, dir_fd=pfd)
            self._meta(m, pfd, base, chmod=False)
        elif m.islnk():
            self._hardlink(m, pfd, base)
        elif m.ischr() or m.isblk() or m.isfifo():
            kind = stat.S_IFCHR if m.ischr() else stat.S_IFBLK if m.isblk() else stat.S_IFIFO
            try:
                os.mknod(base, kind | (m.mode & 0o7777), os.makedev(m.devmajor, m.devminor),
                         dir_fd=pfd)
            except PermissionError:
                if not self.rootless:
                    raise
                return  # unprivileged unpack (tests, rootless): devices are skipped
            self._meta(m, pfd, base)
        else:
            raise LayerError(f"{m.name!r}: unsupported tar entry type {m.type!r}")

    def _mark_written(self, parts: list[str]) -> None:
        if self.mode != Mode.APPLY:
            return  # only APPLY's opaque directories need to know what this layer wrote
        for i in range(1, len(parts) + 1):
            self.written.add("/".join(parts[:i]))

    def _file(self, tf: tarfile.TarFile, m: tarfile.TarInfo, pfd: int, base: str) -> None:
        fd = os.open(base, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o600, dir_fd=pfd)
        try:
            src = tf.extractfile(m)
            assert src is not None
            while chunk := src.read(CHUNK):
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view):]
            if self.is_root:
                self._chown(m, lambda: os.fchown(fd, m.uid, m.gid))
            os.fchmod(fd, m.mode & 0o7777)
            self._xattrs(m, fd)
            os.utime(fd, ns=(_ns(m.mtime), _ns(m.mtime)))
        finally:
            os.close(fd)

    def _meta(self, m: tarfile.TarInfo, pfd: int, base: str, chmod: bool = True) -> None:
        if self.is_root:
            self._chown(m, lambda: os.chown(base, m.uid, m.gid, dir_fd=pfd,
                                            follow_symlinks=False))
        if chmod:
            os.chmod(base, m.mode & 0o7777, dir_fd=pfd)
        self._xattrs(m, f"/proc/self/fd/{pfd}/{base}")
        if not m.isdir():
            os.utime(base, ns=(_ns(m.mtime), _ns(m.mtime)), dir_fd=pfd, follow_symlinks=False)

    def _chown(self, m: tarfile.TarInfo, change: Any) -> None:
        try:
            change()
        except OSError as e:
            if e.errno != errno.EINVAL or not self.rootless:
                raise
            # an id this user namespace does not map (podman says the same)
            raise LayerError(
                f"{m.name!r} is owned by {m.uid}:{m.gid}, which your user namespace does "
                "not map: too few subordinate ids for this image",
                hint="give your user ranges in /etc/subuid and /etc/subgid (usermod "
                "--add-subuids 100000-165535 --add-subgids 100000-165535 USER), then run "
                "`minidocker system migrate`") from None

    def _xattrs(self, m: tarfile.TarInfo, target: int | str) -> None:
        for key, value in m.pax_headers.items():
            if not key.startswith("SCHILY.xattr."):
                continue
            name = key[len("SCHILY.xattr."):]
            if name.startswith(OVERLAY_XATTR_PREFIXES):
                continue  # a layer must not forge overlayfs metadata
            data = value.encode("utf-8", "surrogateescape")
            try:
                if isinstance(target, int):
                    os.setxattr(target, name, data)
                else:
                    os.setxattr(target, name, data, follow_symlinks=False)
            except OSError as e:
                if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EACCES):
                    raise

    def _hardlink(self, m: tarfile.TarInfo, pfd: int, base: str) -> None:
        target = clean_name(m.linkname)
        if not target:
            raise LayerError(f"{m.name!r}: hard link to the layer root")
        try:
            tfd = self._dir_fd(target[:-1], create=False)
            os.link(target[-1], base, src_dir_fd=tfd, dst_dir_fd=pfd, follow_symlinks=False)
        except (FileNotFoundError, PermissionError):
            raise LayerError(f"{m.name!r}: hard link to {m.linkname!r}, which is not a file "
                             "in this layer") from None

    def _whiteout(self, parts: list[str]) -> None:
        pfd = self._dir_fd(parts[:-1])
        base = parts[-1]
        if base == OPAQUE_MARKER:
            self._mark_written(parts[:-1])
            if self.mode == Mode.OVERLAY:
                for name in ROOTLESS_OPAQUE_XATTRS if self.rootless else (OPAQUE_XATTR,):
                    os.setxattr(f"/proc/self/fd/{pfd}", name, b"y")
            else:
                self.opaque.append(parts[:-1])
            return
        name = base[len(WHITEOUT_PREFIX):]
        if not name or name in (".", ".."):
            raise LayerError(f"{'/'.join(parts)!r}: malformed whiteout")
        target = parts[:-1] + [name]
        self._remove(pfd, target)
        if self.mode == Mode.OVERLAY:
            self._mark_written(target)
            os.mknod(name, stat.S_IFCHR | 0o000, os.makedev(0, 0), dir_fd=pfd)

    def finish(self) -> None:
        for parts in self.opaque:
            self._clear_lower(parts)
        for parts, target in self.links:
            self._archive_link(parts, target)
        for parts, mtime in reversed(self.dir_times):
            if len(self.fds) > 256:
                self._forget_all()
            with contextlib.suppress(FileNotFoundError):
                pfd = self._dir_fd(parts[:-1], create=False)
                os.utime(parts[-1], ns=(mtime, mtime), dir_fd=pfd, follow_symlinks=False)

    def _archive_link(self, parts: list[str], target: list[str]) -> None:
        """ARCHIVE: a link becomes a hard link to the regular file it names in the
        archive; a link to anything else (or to nothing) is left out."""
        if not target:
            return
        try:
            tfd = self._dir_fd(target[:-1], create=False)
            if not stat.S_ISREG(os.lstat(target[-1], dir_fd=tfd).st_mode):
                return
        except (FileNotFoundError, NotADirectoryError, LayerError):
            return
        pfd = self._dir_fd(parts[:-1])
        with contextlib.suppress(FileNotFoundError):
            self._remove(pfd, parts)
        os.link(target[-1], parts[-1], src_dir_fd=tfd, dst_dir_fd=pfd, follow_symlinks=False)

    def _clear_lower(self, parts: list[str]) -> None:
        """APPLY mode opaque dir: drop what lower layers put there, keep this layer's."""
        self._forget_all()  # the walk below opens its own fds, one per level
        try:
            fd = self._open(self.root_fd, "/".join(parts))
        except FileNotFoundError:
            return
        try:
            for name in os.listdir(f"/proc/self/fd/{fd}"):
                child = parts + [name]
                key = "/".join(child)
                if key not in self.written:
                    self._remove(fd, child)
                elif stat.S_ISDIR(os.lstat(name, dir_fd=fd).st_mode):
                    self._clear_lower(child)
        finally:
            os.close(fd)


def _ns(mtime: float) -> int:
    return int(mtime * 1_000_000_000)


def unpack(source: IO[bytes], dest: str, mode: Mode = Mode.OVERLAY,
           expected_diff_id: str | None = None) -> tuple[str, int]:
    """Extract a (possibly compressed) layer tar into `dest`; returns (diff ID, content size).

    The caller owns `dest` and removes it if this raises (snapshot.py unpacks into a temp
    directory that only becomes visible when complete)."""
    reader = decompressed(source)
    hashed = HashingReader(reader)
    extractor = Extractor(dest, mode)
    try:
        with tarfile.open(fileobj=hashed, mode="r|", errorlevel=2) as tf:
            extractor.extract(tf)
        hashed.drain()
    except tarfile.TarError as e:
        raise LayerError(f"layer is not a valid tar archive: {e}") from None
    finally:
        extractor.close()
        if reader is not source:
            reader.close()
    if expected_diff_id and hashed.digest != expected_diff_id:
        raise LayerError(f"layer content does not match its diff ID: expected "
                         f"{expected_diff_id}, got {hashed.digest}")
    return hashed.digest, extractor.size


def unpack_file(path: str, dest: str, mode: Mode = Mode.OVERLAY,
                expected_diff_id: str | None = None,
                expected_digest: str | None = None) -> tuple[str, int]:
    """unpack() of a file; with `expected_digest` the file itself (the compressed blob) is
    hashed as it is read, and a mismatch raises CorruptBlob (the caller discards `dest`)."""
    with open(path, "rb", buffering=0) as f:
        if expected_digest is None:
            return unpack(f, dest, mode, expected_diff_id)
        if os.pread(f.fileno(), 4, 0).startswith(ZSTD_MAGIC):
            # the zstd command reads the file itself: hash it in a pass of its own
            _check_digest(HashingReader(f), expected_digest)
            f.seek(0)
            return unpack(f, dest, mode, expected_diff_id)
        blob = HashingReader(f)
        try:
            result = unpack(blob, dest, mode, expected_diff_id)  # type: ignore[arg-type]
        except LayerError:  # a damaged blob is reported as such, not as a bad tar
            with open(path, "rb", buffering=0) as again:
                _check_digest(HashingReader(again), expected_digest)
            raise
        _check_digest(blob, expected_digest)
        return result


def _check_digest(blob: HashingReader, expected: str) -> None:
    blob.drain()
    if blob.digest != expected:
        from minidocker.image.store import CorruptBlob
        raise CorruptBlob(expected, blob.digest)


def diff_id_of(path: str) -> str:
    """The sha256 of the uncompressed content of a layer file."""
    with open(path, "rb", buffering=0) as f:
        reader = HashingReader(decompressed(f))
        reader.drain()
        return reader.digest
