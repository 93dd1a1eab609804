"""A container rootfs is overlayfs over the image's snapshots; commit turns its upper dir
back into a layer (whiteouts both ways); images in use cannot be removed."""

from __future__ import annotations

import os
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from minidocker.errors import Conflict
from minidocker.image import archive, commit, manage, snapshot
from minidocker.image.store import Image, Store
from tests.unit.image.helpers import Entry, add_image, file, tree, write_layout

LAYERS = [
    [Entry("etc", "dir"), file("etc/hostname", "base\n"), file("etc/gone", "x"),
     Entry("opt", "dir"), file("opt/old", "old"), Entry("keep", "dir"), file("keep/a", "a"),
     Entry("bin", "dir"), file("bin/tool", "t", mode=0o755)],
    [file("etc/.wh.gone"), file("opt/.wh..wh..opq"), file("opt/new", "new"),
     file("etc/hostname", "top\n")],
]


def load_layout(tmp_path: Path, store: Store, tag: str = "docker.io/library/test:1") -> Image:
    layout = tmp_path / "layout"
    write_layout(layout, {tag: add_image(layout, LAYERS)})
    tarball = tmp_path / "layout.tar"
    with tarfile.open(tarball, "w") as tf:
        tf.add(layout, arcname=".")
    with open(tarball, "rb") as f:
        assert archive.load(store, f) == ["Loaded image: test:1"]
    return store.lookup("test:1")


@pytest.fixture
def mounted(tmp_path: Path) -> Iterator[tuple[Store, Image, snapshot.Rootfs]]:
    store = Store(str(tmp_path / "root"))
    image = load_layout(tmp_path, store)
    rootfs = snapshot.prepare_rootfs(store, image, str(tmp_path / "ctr"), "ctr1")
    snapshot.mount_rootfs(rootfs)
    try:
        yield store, image, rootfs
    finally:
        snapshot.unmount_rootfs(rootfs.target)


def test_rootfs_is_the_merged_image(mounted: tuple[Store, Image, snapshot.Rootfs]) -> None:
    _, _, rootfs = mounted
    assert tree(Path(rootfs.target)) == {
        "etc": "dir", "etc/hostname": "top\n", "opt": "dir", "opt/new": "new",
        "keep": "dir", "keep/a": "a", "bin": "dir", "bin/tool": "t"}


def test_commit_turns_changes_into_a_layer_with_whiteouts(
        tmp_path: Path, mounted: tuple[Store, Image, snapshot.Rootfs]) -> None:
    store, image, rootfs = mounted
    root = Path(rootfs.target)
    (root / "etc/hostname").write_text("changed\n")
    (root / "bin/tool").unlink()
    subprocess.run(["rm", "-rf", str(root / "keep")], check=True)
    (root / "keep").mkdir()  # now an opaque dir in the upper
    (root / "keep/b").write_text("b")
    (root / "new-file").write_text("hello")
    os.link(root / "new-file", root / "new-link")
    expected = tree(root)
    snapshot.unmount_rootfs(rootfs.target)

    new = commit.commit_container(store, rootfs.upper, image, ref="committed:1",
                                  changes=["CMD [\"/bin/tool\"]", "ENV A=1"], comment="c1")
    assert new.diff_ids[:-1] == image.diff_ids
    assert new.config["config"]["Cmd"] == ["/bin/tool"]
    assert "A=1" in new.config["config"]["Env"]
    assert new.config["history"][-1]["comment"] == "c1"
    with tarfile.open(store.blob_path(new.layers[-1]["digest"])) as tf:
        names = set(tf.getnames())
    assert {"bin/.wh.tool", "keep/.wh..wh..opq", "etc/hostname", "new-file",
            "new-link"} <= names
    assert store.lookup("committed:1").id == new.id

    again = snapshot.prepare_rootfs(store, new, str(tmp_path / "ctr2"), "ctr2")
    snapshot.mount_rootfs(again)
    try:
        assert tree(Path(again.target)) == expected
        st_a = (Path(again.target) / "new-file").stat()
        assert st_a.st_ino == (Path(again.target) / "new-link").stat().st_ino
    finally:
        snapshot.unmount_rootfs(again.target)
        snapshot.release(store, "ctr2")


def test_image_in_use_cannot_be_removed(mounted: tuple[Store, Image, snapshot.Rootfs]) -> None:
    store, image, _ = mounted
    with pytest.raises(Conflict, match="being used by container ctr1"):
        manage.remove(store, "test:1")
    assert manage.remove(store, "test:1", force=True) == ["Untagged: test:1"]
    assert store.lookup(image.id).id == image.id  # kept for the container
    assert manage.prune(store)[0] == []  # in use: prune keeps it too
    assert all(snapshot.exists(store, c) for c in image.chain_ids)
    snapshot.release(store, "ctr1")
    lines, _ = manage.prune(store)
    assert lines == [f"deleted: {image.id}"]
    assert not any(snapshot.exists(store, c) for c in image.chain_ids)
    assert os.listdir(store.blobs_dir) == []


def test_import_directory_with_changes(tmp_path: Path, busybox_rootfs: Path) -> None:
    store = Store(str(tmp_path / "root"))
    image = commit.import_rootfs(store, str(busybox_rootfs), ref="bb:imported",
                                 changes=["CMD echo hi", "WORKDIR /tmp",
                                          'ENTRYPOINT ["/bin/busybox"]', "ENV X=1 Y=2"],
                                 message="from dir")
    cfg = image.config["config"]
    assert cfg["Cmd"] == ["/bin/sh", "-c", "echo hi"] and cfg["WorkingDir"] == "/tmp"
    assert cfg["Entrypoint"] == ["/bin/busybox"] and {"X=1", "Y=2"} <= set(cfg["Env"])
    lower = Path(snapshot.lower_dirs(store, image)[0])
    assert tree(lower) == tree(busybox_rootfs)


def test_an_image_with_many_layers_still_mounts(tmp_path: Path) -> None:
    """120 layers exceed one page of lowerdir= paths; the mount still works."""
    layout = tmp_path / "layout"
    layers = [[file(f"f{i:03}", str(i)), file("top", str(i))] for i in range(120)]
    write_layout(layout, {"docker.io/library/many:1": add_image(layout, layers)})
    tarball = tmp_path / "many.tar"
    with tarfile.open(tarball, "w") as tf:
        tf.add(layout, arcname=".")
    store = Store(str(tmp_path / "root"))
    with open(tarball, "rb") as f:
        archive.load(store, f)
    image = store.lookup("many:1")
    assert len(":".join(snapshot.lower_dirs(store, image))) > snapshot.LOWERDIR_BUDGET
    rootfs = snapshot.prepare_rootfs(store, image, str(tmp_path / "ctr"), "many")
    snapshot.mount_rootfs(rootfs)
    try:
        root = Path(rootfs.target)
        assert (root / "top").read_text() == "119"
        assert len(list(root.iterdir())) == 121
    finally:
        snapshot.unmount_rootfs(rootfs.target)
    snapshot.release(store, "many")
    manage.remove(store, "many:1")
    assert os.listdir(store.snapshots_dir) == []


def test_import_keeps_xattrs_and_skips_sockets(tmp_path: Path) -> None:
    import socket

    src = tmp_path / "src"
    src.mkdir()
    (src / "cap").write_text("x")
    os.setxattr(src / "cap", "user.note", b"kept")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(src / "sock"))
        store = Store(str(tmp_path / "root"))
        image = commit.import_rootfs(store, str(src), ref="x:1")
    lower = Path(snapshot.lower_dirs(store, image)[0])
    assert os.getxattr(lower / "cap", "user.note") == b"kept"
    assert not (lower / "sock").exists()
