"""The content store: an OCI layout whose index.json entries are the tags; lookups by name,
digest and ID; tag moves leave dangling images; gc keeps only what is referenced."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from minidocker.errors import Conflict, InvalidConfig, NotFound
from minidocker.image import manage
from minidocker.image.reference import parse
from minidocker.image.store import (
    MEDIA_OCI_MANIFEST,
    CorruptBlob,
    Image,
    Store,
    chain_ids,
    sha256_digest,
)


def make_image(store: Store, label: str) -> Image:
    layer = store.write_blob(f"layer {label}".encode())
    config = {"architecture": "amd64", "os": "linux", "config": {"Labels": {"l": label}},
              "rootfs": {"type": "layers", "diff_ids": [sha256_digest(label.encode())]}}
    config_digest, config_size = store.write_json(config)
    manifest = {"schemaVersion": 2, "mediaType": MEDIA_OCI_MANIFEST,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": config_digest, "size": config_size},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                            "digest": layer, "size": 7}]}
    digest, size = store.write_json(manifest)
    return Image(config_digest, digest, manifest, config, manifest_size=size)


def add(store: Store, image: Image, *tags: str) -> None:
    store.add_image(image.manifest_digest, image.manifest_size, MEDIA_OCI_MANIFEST,
                    [parse(t) for t in tags])


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(str(tmp_path / "root")).init()


def test_layout_files(store: Store) -> None:
    layout = Path(store.layout)
    assert json.loads((layout / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    assert json.loads((layout / "index.json").read_text())["manifests"] == []


def test_blobs_are_verified_and_content_addressed(store: Store) -> None:
    digest = store.write_blob(b"hello")
    assert digest == sha256_digest(b"hello")
    assert Path(store.blob_path(digest)).read_bytes() == b"hello"
    with pytest.raises(InvalidConfig, match="digest mismatch"):
        store.write_blob(b"other", expected=digest)
    with store.blob_writer(expected=digest) as w:
        w.write(b"hellO")
        with pytest.raises(InvalidConfig, match="digest mismatch"):
            w.commit()
    assert [n for n in os.listdir(store.blobs_dir)] == [digest.split(":")[1]]
    assert os.listdir(store.ingest_dir) == []


def test_tags_are_index_entries_with_full_reference_names(store: Store) -> None:
    image = make_image(store, "a")
    add(store, image, "alpine", "localhost:5000/x:1")
    entries = json.loads(Path(store.index_path).read_text())["manifests"]
    names = sorted(e["annotations"]["org.opencontainers.image.ref.name"] for e in entries)
    assert names == ["docker.io/library/alpine:latest", "localhost:5000/x:1"]
    (found,) = store.images()
    assert sorted(found.repo_tags) == ["alpine:latest", "localhost:5000/x:1"]


def test_lookup_by_name_digest_id_and_prefix(store: Store) -> None:
    image = make_image(store, "a")
    add(store, image, "alpine:3")
    for name in ("alpine:3", "docker.io/library/alpine:3", image.id, image.id[7:19],
                 image.id[7:10], f"alpine@{image.manifest_digest}"):
        assert store.lookup(name).id == image.id, name
    with pytest.raises(NotFound, match="no such image: alpine:latest"):
        store.lookup("alpine")


def test_ambiguous_id_prefix(store: Store) -> None:
    images = [make_image(store, str(i)) for i in range(40)]
    for i, image in enumerate(images):
        add(store, image, f"img:{i}")
    first = images[0].id[7]
    same = [i for i in images if i.id[7] == first]
    if len(same) > 1:
        with pytest.raises(Conflict, match="ambiguous"):
            store.lookup(first)


def test_moving_a_tag_leaves_the_old_image_dangling(store: Store) -> None:
    old, new = make_image(store, "old"), make_image(store, "new")
    add(store, old, "app:1")
    add(store, new, "app:1")
    by_id = {i.id: i for i in store.images()}
    assert by_id[new.id].repo_tags == ["app:1"]
    assert by_id[old.id].repo_tags == []
    lines, _ = manage.prune(store)
    assert lines == [f"deleted: {old.id}"]
    assert not os.path.exists(store.blob_path(old.manifest_digest))
    assert os.path.exists(store.blob_path(new.manifest_digest))


def test_rmi_untags_then_deletes(store: Store) -> None:
    image = make_image(store, "a")
    add(store, image, "a:1", "a:2")
    assert manage.remove(store, "a:1") == ["Untagged: a:1"]
    with pytest.raises(NotFound):
        store.lookup("a:1")
    assert manage.remove(store, "a:2") == ["Untagged: a:2", f"Deleted: {image.id}"]
    assert os.listdir(store.blobs_dir) == []


def test_rmi_by_id_of_a_multi_tagged_image_needs_force(store: Store) -> None:
    image = make_image(store, "a")
    add(store, image, "a:1", "b:1")
    with pytest.raises(Conflict, match="must be forced"):
        manage.remove(store, image.id[7:19])
    lines = manage.remove(store, image.id[7:19], force=True)
    assert lines[-1] == f"Deleted: {image.id}" and len(lines) == 3


def test_concurrent_tagging_loses_no_update(store: Store) -> None:
    images = [make_image(store, str(i)) for i in range(8)]

    def tag_all(i: int) -> None:
        for j in range(5):
            add(Store(store.root), images[i], f"t{i}:{j}")

    threads = [threading.Thread(target=tag_all, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(len(i.repo_tags) for i in store.images()) == 40


def test_chain_ids() -> None:
    a, b = sha256_digest(b"a"), sha256_digest(b"b")
    assert chain_ids([]) == []
    assert chain_ids([a]) == [a]
    assert chain_ids([a, b]) == [a, sha256_digest(f"{a} {b}".encode())]


def test_tag_lookup_sees_every_name_of_the_image(store: Store) -> None:
    """Two manifests of one config (say gzip and zstd variants) are one image: looking up
    either tag gives all its names, as the full listing does."""
    image = make_image(store, "a")
    other_manifest = dict(image.manifest, annotations={"variant": "2"})
    digest, size = store.write_json(other_manifest)
    add(store, image, "a:gzip")
    store.add_image(digest, size, MEDIA_OCI_MANIFEST, [parse("a:zstd")])
    (listed,) = store.images()
    for name in ("a:gzip", "a:zstd"):
        found = store.lookup(name)
        assert found.id == image.id
        assert sorted(found.repo_tags) == sorted(listed.repo_tags) == ["a:gzip", "a:zstd"]
    with pytest.raises(Conflict, match="must be forced"):
        manage.remove(store, image.id)
    assert manage.remove(store, "a:gzip") == ["Untagged: a:gzip"]
    assert store.lookup("a:zstd").id == image.id


def test_rmi_does_not_wait_for_a_running_pull(store: Store) -> None:
    image = make_image(store, "a")
    add(store, image, "a:1")
    with store.writing():  # what a pull holds while it downloads
        assert manage.remove(store, "a:1")[-1] == f"Deleted: {image.id}"
        assert os.path.exists(store.blob_path(image.manifest_digest))  # not collected yet
    store.gc()
    assert not os.path.exists(store.blob_path(image.manifest_digest))


def _corrupt(store: Store, digest: str, change: bytes = b" ") -> None:
    """Edit a blob in place, as a hand or a bad disk would: same name, other content."""
    path = Path(store.blob_path(digest))
    path.write_bytes(path.read_bytes() + change)


@pytest.mark.parametrize("kind", ["config", "manifest"])
def test_a_blob_that_does_not_match_its_digest_is_refused_naming_image_and_blob(
        store: Store, kind: str) -> None:
    image = make_image(store, "a")
    add(store, image, "app:1")
    digest = image.id if kind == "config" else image.manifest_digest
    _corrupt(store, digest)
    for name in ("app:1", image.short_id, image.id, f"app@{image.manifest_digest}"):
        with pytest.raises(CorruptBlob) as info:
            store.lookup(name)
        message = str(info.value)
        assert f"{kind} blob {digest} is corrupt" in message, name
        assert message.startswith(("image app:1:", f"image {image.short_id}:")), message
        assert "rmi" in (info.value.hint or "")
    assert store.images() == []  # left out of the listing, reported in store.corrupt
    assert [e.digest for _, e in store.corrupt] == [digest]


def test_a_damaged_image_is_removed_by_rmi_and_its_blobs_collected(store: Store) -> None:
    image = make_image(store, "a")
    add(store, image, "app:1")
    keep = make_image(store, "b")
    add(store, keep, "other:1")
    _corrupt(store, image.id)
    lines = manage.remove(store, "app:1")
    assert lines == ["Untagged: app:1", f"Deleted: {image.id}"]
    assert store.read_index()["manifests"][0]["annotations"][
        "org.opencontainers.image.ref.name"] == "docker.io/library/other:1"
    for digest in (image.id, image.manifest_digest):
        assert not os.path.exists(store.blob_path(digest))
    assert store.lookup("other:1").id == keep.id


def test_image_prune_all_removes_damaged_images(store: Store) -> None:
    image = make_image(store, "a")
    add(store, image, "app:1")
    _corrupt(store, image.manifest_digest)
    lines, _ = manage.prune(store, all_unused=True)
    assert lines == [f"deleted: {image.id}"]
    assert store.read_index()["manifests"] == []


def test_writing_a_blob_again_repairs_a_damaged_copy(store: Store) -> None:
    digest = store.write_blob(b"hello")
    _corrupt(store, digest)
    with pytest.raises(CorruptBlob):
        store.read_blob(digest)
    assert store.write_blob(b"hello") == digest
    assert store.read_blob(digest) == b"hello"


def test_gc_removes_what_dead_writers_left_and_keeps_fresh_partial_downloads(
        store: Store) -> None:
    ingest = Path(store.ingest_dir)
    (ingest / "load-abc").mkdir()
    (ingest / "load-abc" / "manifest.json").write_text("[]")
    (ingest / "blob-xyz").write_bytes(b"half")
    (ingest / "commit-1").write_bytes(b"half")
    (ingest / ("a" * 64 + ".partial")).write_bytes(b"resume me")
    old = ingest / ("b" * 64 + ".partial")
    old.write_bytes(b"too old")
    os.utime(old, (0, 0))
    Path(store.blobs_dir, ".tmp-123").write_bytes(b"x")
    Path(store.snapshots_dir, ".tmp-456", "fs").mkdir(parents=True)
    Path(store.layout, "index.json.tmp.99.1").write_bytes(b"{")
    store.gc()
    assert sorted(os.listdir(ingest)) == ["a" * 64 + ".partial"]
    assert os.listdir(store.blobs_dir) == []
    assert os.listdir(store.snapshots_dir) == []
    assert sorted(os.listdir(store.layout)) == ["blobs", "index.json", "oci-layout"]


def test_a_failed_lease_or_index_write_leaves_no_temp_file(store: Store) -> None:
    from minidocker.image import snapshot
    from tests.unit.common.failing_writes import fails_for_lack_of_space

    image = make_image(store, "a")
    before = sorted(os.listdir(store.layout))
    assert fails_for_lack_of_space(lambda: add(store, image, "app:1"))
    assert fails_for_lack_of_space(lambda: snapshot.add_lease(store, "c" * 64, image))
    assert sorted(os.listdir(store.layout)) == before
    assert os.listdir(store.leases_dir) == []
    assert store.read_index()["manifests"] == []
