"""Cache keys, as BuildKit keys its steps: a step's key is a digest of its parent's key,
what the instruction does (after expansion: the command, its environment, user, working
directory, network and mounts; the destination, ownership and mode of a copy) and, for
COPY and ADD, a checksum of every file it copies — path, content, and the metadata that
lands in the image (type, mode, owner, mtime, link target). A build whose steps all hit
writes nothing and runs nothing.

File checksums are remembered by (device, inode, size, mtime, ctime) in
`<root>/build/checksums.json`, as git's index does, so that an unchanged context is not
read again on the next build.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from typing import Any


def key(parent: str, kind: str, **parts: Any) -> str:
    doc = json.dumps([parent, kind, parts], sort_keys=True, separators=(",", ":"),
                     default=str)
    return "sha256:" + hashlib.sha256(doc.encode()).hexdigest()


class Checksums:
    """Content digests of files, remembered across builds by their stat facts."""

    def __init__(self, path: str | None):
        self.path = path
        self.known: dict[str, list[Any]] = {}
        self.dirty = False
        if path:
            try:
                with open(path) as f:
                    self.known = json.load(f)
            except (OSError, ValueError):
                self.known = {}

    def file(self, host_path: str, st: os.stat_result) -> str:
        facts = [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]
        seen = self.known.get(host_path)
        if seen is not None and seen[:5] == facts:
            return str(seen[5])
        digest = hashlib.sha256()
        with open(host_path, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
        value = digest.hexdigest()
        self.known[host_path] = [*facts, value]
        self.dirty = True
        return value

    def save(self) -> None:
        if not self.path or not self.dirty:
            return
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        tmp = f"{self.path}.tmp.{os.getpid()}"
        with open(tmp, "w") as f:
            json.dump(self.known, f)
        os.rename(tmp, self.path)
        self.dirty = False


def entry_digest(checksums: Checksums, rel: str, host_path: str, st: os.stat_result,
                 link: str = "") -> list[Any]:
    """What of one copied entry can change the layer: its path, type and permission bits,
    owner, mtime, size and content (or link target)."""
    mode = st.st_mode
    facts: list[Any] = [rel, stat.S_IFMT(mode), stat.S_IMODE(mode), st.st_uid, st.st_gid,
                        st.st_mtime_ns // 1000]
    if stat.S_ISREG(mode):
        facts.append(checksums.file(host_path, st))
    elif stat.S_ISLNK(mode):
        facts.append(link)
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        facts.append(st.st_rdev)
    return facts
