"""The build context: a directory, a tar archive (from stdin or the API's body, unpacked
into a private directory first), or none (a Dockerfile from stdin). Paths are resolved
inside its root only: `..` is clamped and symlinks are followed within the root
(openat2 RESOLVE_IN_ROOT), so nothing outside the context is ever read."""

from __future__ import annotations

import errno
import os
import posixpath
import re
import stat
from typing import IO

from minidocker.build import ignore
from minidocker.errors import MinidockerError, UsageError
from minidocker.linux import libc

GLOB_CHARS = re.compile(r"[*?\[]")
_RESOLVE = libc.RESOLVE_IN_ROOT | libc.RESOLVE_NO_MAGICLINKS


class Context:
    """A context root directory (None: no context) and its .dockerignore."""

    def __init__(self, root: str | None, *, owned: bool = False, stdin_dockerfile: str = "",
                 use_ignore: bool = True):
        self.root = root
        self.use_ignore = use_ignore          # False: a state's files (COPY --from)
        self.owned = owned                    # a temp dir of ours: removed by close()
        self.stdin_dockerfile = stdin_dockerfile
        self.matcher = ignore.Matcher([])
        self._fd = -1

    def __repr__(self) -> str:
        return f"Context({self.root!r})"

    def open(self) -> Context:
        if self.root is not None and self._fd < 0:
            try:
                self._fd = os.open(self.root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
            except FileNotFoundError:
                raise UsageError(f"unable to prepare context: path {self.root!r} not "
                                 "found") from None
            except NotADirectoryError:
                raise UsageError(f"unable to prepare context: {self.root!r} is not a "
                                 "directory") from None
            text = self.read_file(".dockerignore") if self.use_ignore else None
            if text is not None:
                self.matcher = ignore.Matcher(ignore.read(text))
        return self

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        if self.owned and self.root:
            import shutil
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> Context:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading

    @property
    def fd(self) -> int:
        if self._fd < 0:
            self.open()
        return self._fd

    def read_file(self, rel: str) -> str | None:
        if self.root is None:
            return None
        try:
            fd = libc.openat2(self.fd, clean(rel), os.O_RDONLY | os.O_CLOEXEC, _RESOLVE)
        except OSError as e:
            if e.errno in (errno.ENOENT, errno.ENOTDIR):
                return None
            raise
        with os.fdopen(fd, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def dockerfile(self, name: str) -> str:
        if self.stdin_dockerfile:
            return self.stdin_dockerfile
        if self.root is None:
            raise UsageError("no Dockerfile: give one on stdin or in the context")
        text = self.read_file(name)
        if text is None:
            raise UsageError(f"failed to read dockerfile: open {name}: no such file or "
                             "directory", hint="give its path with -f")
        return text

    def real_path(self, rel: str) -> str:
        """The host path of a context entry, its symlinks resolved inside the root."""
        try:
            fd = libc.openat2(self.fd, clean(rel) or ".", os.O_PATH | os.O_CLOEXEC, _RESOLVE)
        except OSError as e:
            if e.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
                raise FileNotFoundError(errno.ENOENT, "not found", rel) from None
            raise
        try:
            return os.readlink(f"/proc/self/fd/{fd}")
        finally:
            os.close(fd)

    def excluded(self, rel: str) -> bool:
        rel = clean(rel)
        return bool(rel) and bool(self.matcher) and self.matcher.excluded(rel)

    def match(self, pattern: str) -> list[str]:
        """Context-relative paths that a COPY source names: the path itself, or every
        entry its wildcards match (Go's filepath.Match, element by element); entries
        that .dockerignore excludes are not there."""
        if self.root is None:
            return []
        rel = clean(pattern)
        if not GLOB_CHARS.search(rel):
            if rel and self.excluded(rel):
                return []
            try:
                self.real_path(rel)
            except FileNotFoundError:
                return []
            return [rel]
        found = [""]
        for part in rel.split("/"):
            nxt = []
            for base in found:
                if not GLOB_CHARS.search(part):
                    candidate = posixpath.join(base, part) if base else part
                    nxt.append(candidate)
                    continue
                try:
                    names = sorted(os.listdir(self.real_path(base or ".")))
                except (FileNotFoundError, NotADirectoryError):
                    continue
                regex = go_match_regex(part)
                nxt += [posixpath.join(base, n) if base else n for n in names
                        if regex.fullmatch(n)]
            found = nxt
        out = []
        for path in found:
            if self.excluded(path):
                continue
            try:
                self.real_path(path)
            except FileNotFoundError:
                continue
            out.append(path)
        return out

    def walk(self, rel: str) -> list[tuple[str, os.stat_result]]:
        """(context-relative path, lstat) of `rel` and, for a directory, everything under
        it that .dockerignore lets through, parents before children, sorted."""
        host = self.real_path(rel)
        top = os.lstat(host) if rel else os.stat(host)
        out = [(clean(rel), top)]
        if not stat.S_ISDIR(top.st_mode):
            return out

        def visit(directory: str, host_dir: str) -> None:
            try:
                entries = sorted(os.scandir(host_dir), key=lambda e: e.name)
            except OSError:
                return
            for entry in entries:
                child = posixpath.join(directory, entry.name) if directory else entry.name
                st_ = entry.stat(follow_symlinks=False)
                is_dir = stat.S_ISDIR(st_.st_mode)
                if self.excluded(child):
                    if is_dir and self.matcher.may_descend(child):
                        visit(child, entry.path)
                    continue
                out.append((child, st_))
                if is_dir:
                    visit(child, entry.path)

        visit(clean(rel), host)
        return out


def clean(path: str) -> str:
    """A context-relative path: `..` cannot climb above the root, no leading slash."""
    return posixpath.normpath("/" + path).lstrip("/")


def go_match_regex(pattern: str) -> re.Pattern[str]:
    """Go's filepath.Match for one path element (`*`, `?`, `[...]`, `\\` escapes)."""
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        i += 1
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "\\" and i < len(pattern):
            out.append(re.escape(pattern[i]))
            i += 1
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                raise MinidockerError(f"syntax error in pattern {pattern!r}")
            body = pattern[i:end]
            if body.startswith("^"):
                body = "^" + body[1:].replace("\\", "\\\\")
            else:
                body = body.replace("\\", "\\\\")
            out.append(f"[{body}]")
            i = end + 1
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out), re.S)


# ---- sources --------------------------------------------------------------------------------


def directory(path: str) -> Context:
    return Context(os.path.abspath(path))


def empty(dockerfile: str = "") -> Context:
    return Context(None, stdin_dockerfile=dockerfile)


def is_archive(head: bytes) -> bool:
    """Whether stdin holds an archive (a context) rather than a Dockerfile: compression
    magic, or a tar header (`ustar` at offset 257)."""
    magics = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd")
    return head.startswith(magics) or head[257:262] == b"ustar"


def from_tar(stream: IO[bytes], workdir: str) -> Context:
    """A (possibly compressed) tar context unpacked under `workdir` (safe extraction: no
    entry lands outside it)."""
    import shutil
    import tempfile

    from minidocker.image import layer as layers
    os.makedirs(workdir, exist_ok=True)
    root = tempfile.mkdtemp(prefix=f"{os.getpid()}-context-", dir=workdir)
    try:
        import tarfile
        reader = layers.decompressed(stream)
        extractor = layers.Extractor(root, layers.Mode.APPLY)
        try:
            with tarfile.open(fileobj=reader, mode="r|", errorlevel=2) as tf:
                for member in tf:
                    member.name = member.name.lstrip("/") or "."
                    extractor.member(tf, member)
                extractor.finish()
        finally:
            extractor.close()
    except (tarfile.TarError, layers.LayerError) as e:
        shutil.rmtree(root, ignore_errors=True)
        raise UsageError(f"the build context is not a valid tar archive: {e}") from None
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return Context(root, owned=True)


def stdin_source(stream: IO[bytes], workdir: str) -> Context:
    """`build -`: a tar archive (the context) or a Dockerfile (no context), as Docker
    tells them apart."""
    import io
    buffered = stream if isinstance(stream, io.BufferedReader) else io.BufferedReader(
        stream, 1 << 16)  # type: ignore[type-var]
    head = buffered.peek(512)[:512]
    if is_archive(head):
        return from_tar(buffered, workdir)
    text = buffered.read().decode("utf-8", "replace")
    if not text.strip():
        raise UsageError("the Dockerfile on stdin is empty")
    return empty(text)

