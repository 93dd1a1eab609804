"""Layer unpack: crafted tars for every whiteout form and every escape attempt.

OVERLAY mode (a fresh snapshot for overlayfs) needs root for whiteout devices and trusted
xattrs; APPLY mode (flattening) runs unprivileged."""

from __future__ import annotations

import gzip
import io
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from minidocker.image import layer as L
from minidocker.image import snapshot
from minidocker.image.store import CorruptBlob, Image, Store, sha256_digest
from tests.unit.image.helpers import Entry, file, make_tar, sha, tree

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (mknod, trusted xattrs)")


def unpack(entries: list[Entry], dest: Path, mode: L.Mode = L.Mode.OVERLAY) -> str:
    dest.mkdir(exist_ok=True)
    digest, _ = L.unpack(io.BytesIO(make_tar(entries)), str(dest), mode)
    return digest


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    """(dest, outside): outside is a sibling that must stay empty."""
    dest, outside = tmp_path / "dest", tmp_path / "outside"
    dest.mkdir()
    outside.mkdir()
    return dest, outside


# ---- escapes --------------------------------------------------------------------------------

ESCAPES = {
    "dotdot": [file("../outside/evil", "x")],
    "nested dotdot": [Entry("a", "dir"), file("a/../../outside/evil", "x")],
    "absolute": [file("/tmp/evil-absolute", "x")],
    "symlink then file": [Entry("link", "symlink", target="../outside"), file("link/evil", "x")],
    "absolute symlink then file": [Entry("link", "symlink", target="/"),
                                   file("link/evil", "x")],
    "symlink then dir then file": [Entry("link", "symlink", target="../outside"),
                                   Entry("link/sub", "dir"), file("link/sub/evil", "x")],
    "hardlink dotdot": [Entry("hl", "hardlink", target="../outside/target")],
    "hardlink absolute": [Entry("hl", "hardlink", target="/etc/passwd")],
    "hardlink through symlink": [Entry("s", "symlink", target="../outside"),
                                 Entry("hl", "hardlink", target="s/target")],
    "hardlink to missing": [Entry("hl", "hardlink", target="nothing")],
    "whiteout dotdot": [file("../outside/.wh.target")],
    "whiteout through symlink": [Entry("s", "symlink", target="../outside"),
                                 file("s/.wh.target")],
    "malformed whiteout": [file("a/.wh..")],
}


@pytest.mark.parametrize("mode", [L.Mode.OVERLAY, L.Mode.APPLY])
@pytest.mark.parametrize("name", list(ESCAPES))
def test_escapes_are_rejected_and_write_nothing_outside(name: str, mode: L.Mode,
                                                       dirs: tuple[Path, Path]) -> None:
    dest, outside = dirs
    (outside / "target").write_text("precious")
    if mode == L.Mode.OVERLAY and os.geteuid() != 0 and "whiteout" in name:
        pytest.skip("whiteout devices need root")
    try:
        unpack(ESCAPES[name], dest, mode)
    except L.LayerError as e:
        assert "\n" not in str(e)
    else:
        # APPLY resolves symlinks inside the root: allowed only if it stayed inside
        assert mode == L.Mode.APPLY and "symlink" in name
    assert sorted(os.listdir(outside)) == ["target"]
    assert (outside / "target").read_text() == "precious"
    assert not Path("/tmp/evil-absolute").exists()


def test_symlink_replaced_by_file_does_not_write_through(dirs: tuple[Path, Path]) -> None:
    dest, outside = dirs
    (outside / "target").write_text("precious")
    unpack([Entry("x", "symlink", target=str(outside / "target")), file("x", "mine")], dest)
    assert (dest / "x").read_text() == "mine" and not (dest / "x").is_symlink()
    assert (outside / "target").read_text() == "precious"


def test_in_root_resolution_in_apply_mode(dirs: tuple[Path, Path]) -> None:
    dest, _ = dirs
    (dest / "usr/lib").mkdir(parents=True)
    (dest / "lib").symlink_to("/usr/lib")
    unpack([file("lib/libx.so", "x")], dest, L.Mode.APPLY)
    assert (dest / "usr/lib/libx.so").read_text() == "x"


# ---- whiteouts --------------------------------------------------------------------------------


@root_only
def test_overlay_mode_whiteouts_become_devices_and_opaque_xattrs(dirs: tuple[Path, Path]) -> None:
    dest, _ = dirs
    unpack([Entry("etc", "dir"), file("etc/.wh.passwd"), file(".wh.gone-dir"),
            Entry("opt", "dir"), file("opt/.wh..wh..opq"), file("opt/new", "n"),
            file("newdir/.wh..wh..opq")], dest)
    for path in ("etc/passwd", "gone-dir"):
        st = (dest / path).lstat()
        assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(0, 0)
    assert os.getxattr(dest / "opt", "trusted.overlay.opaque") == b"y"
    assert os.getxattr(dest / "newdir", "trusted.overlay.opaque") == b"y"
    assert (dest / "opt/new").read_text() == "n"
    assert not (dest / ".wh.gone-dir").exists()


@root_only
def test_forged_overlay_xattrs_in_a_layer_are_ignored(dirs: tuple[Path, Path]) -> None:
    dest, _ = dirs
    unpack([Entry("d", "dir", xattrs={"trusted.overlay.opaque": "y",
                                      "user.keep": "v"})], dest)
    assert "trusted.overlay.opaque" not in os.listxattr(dest / "d")
    assert os.getxattr(dest / "d", "user.keep") == b"v"


def test_apply_mode_whiteouts_delete_lower_content(dirs: tuple[Path, Path]) -> None:
    dest, _ = dirs
    unpack([Entry("etc", "dir"), file("etc/passwd", "root"), file("etc/keep", "k"),
            Entry("var/cache/x", "dir"), file("var/cache/x/y", "y"),
            Entry("opt", "dir"), file("opt/old", "o"), Entry("opt/sub", "dir"),
            file("opt/sub/old", "o")], dest, L.Mode.APPLY)
    unpack([file("etc/.wh.passwd"), file("var/.wh.cache"), file("opt/.wh..wh..opq"),
            file("opt/new", "n"), Entry("opt/sub", "dir"), file("opt/sub/new", "n")],
           dest, L.Mode.APPLY)
    t = tree(dest)
    assert "etc/passwd" not in t and t["etc/keep"] == "k"
    assert not any(p.startswith("var/cache") for p in t)
    assert {p for p in t if p.startswith("opt/")} == {"opt/new", "opt/sub", "opt/sub/new"}


# ---- what is preserved ------------------------------------------------------------------------


@root_only
def test_metadata_is_preserved(dirs: tuple[Path, Path]) -> None:
    dest, _ = dirs
    unpack([Entry("d", "dir", mode=0o750, uid=12, gid=34, mtime=1_000_000_000),
            file("d/suid", "s", mode=0o4755, uid=5, gid=6, mtime=1_111_111_111,
                 xattrs={"user.k": "v"}),
            Entry("d/hard", "hardlink", target="d/suid"),
            Entry("d/sym", "symlink", target="suid", uid=7, gid=8),
            Entry("dev/null", "char", mode=0o666, major=1, minor=3),
            Entry("fifo", "fifo", mode=0o600)], dest)
    d = (dest / "d").stat()
    assert (stat.S_IMODE(d.st_mode), d.st_uid, d.st_gid, d.st_mtime) == (0o750, 12, 34,
                                                                          1_000_000_000)
    s = (dest / "d/suid").stat()
    assert (stat.S_IMODE(s.st_mode), s.st_uid, s.st_gid, s.st_mtime) == (0o4755, 5, 6,
                                                                          1_111_111_111)
    assert os.getxattr(dest / "d/suid", "user.k") == b"v"
    assert (dest / "d/hard").stat().st_ino == s.st_ino
    link = (dest / "d/sym").lstat()
    assert os.readlink(dest / "d/sym") == "suid" and (link.st_uid, link.st_gid) == (7, 8)
    null = (dest / "dev/null").lstat()
    assert stat.S_ISCHR(null.st_mode) and null.st_rdev == os.makedev(1, 3)
    assert stat.S_ISFIFO((dest / "fifo").lstat().st_mode)


def test_later_entries_replace_earlier_ones(dirs: tuple[Path, Path]) -> None:
    dest, _ = dirs
    unpack([Entry("a", "dir"), file("a/x", "1"), file("a", "now a file"),
            file("b", "1"), Entry("b", "dir"), file("b/c", "2")], dest, L.Mode.APPLY)
    assert (dest / "a").read_text() == "now a file"
    assert (dest / "b/c").read_text() == "2"


# ---- compression and integrity ---------------------------------------------------------------


def test_gzip_zstd_and_plain_give_the_same_diff_id(tmp_path: Path) -> None:
    tar = make_tar([file("a", "x" * 10000), Entry("d", "dir")])
    variants = {"plain": tar, "gzip": gzip.compress(tar),
                "multi-member gzip": gzip.compress(tar[:5000]) + gzip.compress(tar[5000:])}
    if shutil.which("zstd"):
        variants["zstd"] = subprocess.run(["zstd", "-q", "-c"], input=tar, check=True,
                                          capture_output=True).stdout
    for name, data in variants.items():
        dest = tmp_path / name.replace(" ", "-")
        dest.mkdir()
        digest, _ = L.unpack(io.BytesIO(data), str(dest), L.Mode.APPLY)
        assert digest == sha(tar), name
        assert (dest / "a").read_text() == "x" * 10000
        path = tmp_path / f"{dest.name}.blob"
        path.write_bytes(data)
        assert L.diff_id_of(str(path)) == sha(tar)


@pytest.mark.parametrize("data, message", [
    (b"not a tar at all" * 100, "not a valid tar"),
    (gzip.compress(make_tar([file("a", os.urandom(5000))]))[:200], "truncated"),
    (b"\x1f\x8b" + b"garbage" * 20, "gzip stream is corrupt"),
])
def test_broken_layers_are_rejected(tmp_path: Path, data: bytes, message: str) -> None:
    with pytest.raises(L.LayerError, match=message):
        L.unpack(io.BytesIO(data), str(tmp_path), L.Mode.APPLY)


def test_diff_id_mismatch_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(L.LayerError, match="does not match its diff ID"):
        L.unpack(io.BytesIO(make_tar([file("a")])), str(tmp_path), L.Mode.APPLY,
                 expected_diff_id="sha256:" + "0" * 64)


@root_only
@pytest.mark.parametrize("bad", [[file("../evil")], [file("ok", "x"), file("/abs")]])
def test_bad_layer_leaves_no_snapshot_behind(tmp_path: Path, bad: list[Entry]) -> None:
    store = Store(str(tmp_path / "root")).init()
    tar = make_tar(bad)
    layer_digest = store.write_blob(gzip.compress(tar))
    config = {"rootfs": {"type": "layers", "diff_ids": [sha(tar)]}}
    manifest = {"layers": [{"digest": layer_digest, "size": 1}], "config": {}}
    image = Image(sha256_digest(b"{}"), sha256_digest(b"m"), manifest, config)
    with pytest.raises(L.LayerError):
        snapshot.unpack_layer(store, image, 0)
    leftovers = os.listdir(store.snapshots_dir)
    assert leftovers == []
    assert not snapshot.exists(store, image.chain_ids[0])
    assert not (tmp_path / "evil").exists()


@pytest.mark.parametrize("mode", [L.Mode.OVERLAY, L.Mode.APPLY])
def test_many_directories_and_links_across_them(tmp_path: Path, mode: L.Mode) -> None:
    """More directories than the fd cache holds (and than RLIMIT_NOFILE would allow if
    every one stayed open), with hard links reaching back to early ones."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(512, hard), hard))
    try:
        entries: list[Entry] = []
        for i in range(700):
            entries += [Entry(f"d{i}", "dir", mtime=1000 + i), file(f"d{i}/f", str(i))]
            if i >= 300:
                entries.append(Entry(f"d{i}/link", "hardlink", target=f"d{i - 300}/f"))
        if mode == L.Mode.APPLY:
            entries += [file("d5/.wh..wh..opq"), file("d5/g", "new")]
        dest = tmp_path / "dest"
        unpack(entries, dest, mode)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert (dest / "d699/link").read_text() == "399"
    assert (dest / "d699/link").stat().st_ino == (dest / "d399/f").stat().st_ino
    assert (dest / "d10").stat().st_mtime == 1010
    if mode == L.Mode.APPLY:
        assert sorted(os.listdir(dest / "d5")) == ["f", "g"]


@pytest.mark.parametrize("compress", ["gzip", "zstd", "plain"])
@pytest.mark.parametrize("damage", ["appended", "flipped"])
def test_a_layer_blob_that_does_not_match_its_digest_is_refused(
        tmp_path: Path, compress: str, damage: str) -> None:
    """Unpacking hashes the blob as it reads it: trailing bytes that decompression would
    ignore, or a flipped bit that breaks it, are both reported as a corrupt blob."""
    tar = make_tar([file("a", os.urandom(3000)), file("b", "x")])
    data = {"gzip": lambda: gzip.compress(tar),
            "zstd": lambda: subprocess.run(["zstd", "-q", "-c"], input=tar, check=True,
                                           capture_output=True).stdout,
            "plain": lambda: tar}[compress]()
    blob = tmp_path / "blob"
    if damage == "appended":
        blob.write_bytes(data + b"\0" * 1024)
    else:
        middle = len(data) // 2
        blob.write_bytes(data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1:])
    dest = tmp_path / "fs"
    dest.mkdir()
    with pytest.raises(CorruptBlob, match=f"blob {sha(data)} is corrupt"):
        L.unpack_file(str(blob), str(dest), L.Mode.APPLY, expected_diff_id=sha(tar),
                      expected_digest=sha(data))
    blob.write_bytes(data)
    shutil.rmtree(dest)
    dest.mkdir()
    assert L.unpack_file(str(blob), str(dest), L.Mode.APPLY, expected_diff_id=sha(tar),
                         expected_digest=sha(data))[0] == sha(tar)


def test_archive_mode_keeps_files_and_turns_links_into_hard_links(tmp_path: Path) -> None:
    """`load` unpacks an image archive with the same extractor: regular files and
    directories; a symlink to a file in the archive (Docker's archives hold a layer seen
    twice so) becomes a hard link to it, a link to anything else is left out, devices
    too, and a name like a whiteout is only a name there."""
    dest = tmp_path / "archive"
    dest.mkdir()
    entries = [Entry("abc", "dir"), file("abc/layer.tar", b"layer bytes"),
               Entry("def", "dir"), Entry("def/layer.tar", "symlink", target="../abc/layer.tar"),
               Entry("ghi/layer.tar", "symlink", target="../nothing"),
               Entry("dev", "char", major=1, minor=3), file(".wh.kept", b"x"),
               file("manifest.json", b"[]")]
    unpack(entries, dest, L.Mode.ARCHIVE)
    twin = dest / "def" / "layer.tar"
    assert not twin.is_symlink() and twin.read_bytes() == b"layer bytes"
    assert twin.stat().st_ino == (dest / "abc" / "layer.tar").stat().st_ino
    assert not (dest / "ghi" / "layer.tar").exists() and not (dest / "dev").exists()
    assert (dest / ".wh.kept").read_bytes() == b"x"
    for bad in ("/etc/passwd", "../../etc/passwd"):
        with pytest.raises(L.LayerError):
            unpack([Entry("x", "symlink", target=bad)], tmp_path / f"bad{len(bad)}",
                   L.Mode.ARCHIVE)
