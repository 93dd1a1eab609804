"""Blobs are verified when read: an image whose config, manifest or layer was edited on
disk is refused by run, create, inspect, history, save and push with one line naming the
image and the blob, is removable by rmi, and a pull or load of it again repairs it."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from minidocker.image.store import Store
from tests.integration.engine.conftest import Engine
from tests.integration.image.conftest import Registry


@pytest.fixture
def engine(busybox_rootfs: Path) -> Iterator[Engine]:
    root = Path(tempfile.mkdtemp(prefix="md-integrity-"))
    eng = Engine(root, busybox_rootfs)
    try:
        yield eng
    finally:
        eng.cleanup()


def imported(engine: Engine, name: str = "img:1") -> tuple[Store, dict[str, str]]:
    engine.ok("import", engine.image, name)
    store = Store(str(engine.root))
    image = store.lookup(name)
    return store, {"config": image.id, "manifest": image.manifest_digest,
                   "layer": image.layers[0]["digest"]}


def edit_config(store: Store, digest: str) -> None:
    """What a hand editing the config would do: valid JSON, another command."""
    path = Path(store.blob_path(digest))
    config = json.loads(path.read_text())
    config["config"]["Cmd"] = ["echo", "tampered"]
    path.write_text(json.dumps(config))


def one_line_naming(proc: object, *words: str) -> str:
    # Docker's client: 125 when run or create fails, 1 for the other commands
    argv = proc.args  # type: ignore[attr-defined]
    assert proc.returncode == (125 if argv[3] in ("run", "create") else 1), proc.stderr  # type: ignore[attr-defined]
    err: str = proc.stderr  # type: ignore[attr-defined]
    assert err.startswith("minidocker: error: ") and "Traceback" not in err, err
    first = err.splitlines()[0]
    for word in words:
        assert word in first, (word, first)
    return first


@pytest.mark.parametrize("kind", ["config", "manifest"])
def test_an_edited_config_or_manifest_is_refused_by_every_reader(engine: Engine,
                                                                  kind: str) -> None:
    store, blobs = imported(engine)
    if kind == "config":
        edit_config(store, blobs["config"])
    else:
        path = Path(store.blob_path(blobs["manifest"]))
        path.write_text(path.read_text().replace("{", "{ ", 1))
    for args in (["run", "--rm", "--network", "none", "img:1"],
                 ["create", "--network", "none", "img:1"],
                 ["image", "inspect", "img:1"], ["history", "img:1"],
                 ["save", "-o", str(engine.root / "out.tar"), "img:1"],
                 ["tag", "img:1", "other:1"]):
        proc = engine.run(*args)
        one_line_naming(proc, "image img:1", f"{kind} blob {blobs[kind]}", "corrupt")
    assert engine.container_dirs() == []
    assert not (engine.root / "out.tar").exists()
    assert engine.ok("rmi", "img:1").splitlines()[0] == "Untagged: img:1"
    assert Store(str(engine.root)).read_index()["manifests"] == []
    assert engine.ok("images", "-q") == ""


def test_a_damaged_layer_is_refused_when_unpacked_and_when_exported(engine: Engine) -> None:
    store, blobs = imported(engine)
    path = Path(store.blob_path(blobs["layer"]))
    path.write_bytes(path.read_bytes() + b"\0" * 512)  # gunzip would not notice
    for fmt in ("docker", "oci"):
        proc = engine.run("save", "--format", fmt, "-o", str(engine.root / "out.tar"), "img:1")
        one_line_naming(proc, "image img:1", f"layer blob {blobs['layer']}", "corrupt")
    assert not (engine.root / "out.tar").exists()
    shutil.rmtree(Path(store.snapshots_dir))  # the next run must unpack the layer again
    proc = engine.run("run", "--rm", "--network", "none", "img:1", "true")
    one_line_naming(proc, "image img:1", f"layer blob {blobs['layer']}", "corrupt")
    assert engine.container_dirs() == []
    assert [p.name for p in Path(store.snapshots_dir).iterdir()] == []


def test_pull_and_load_replace_a_damaged_blob(engine: Engine, registry: Registry,
                                              tmp_path: Path) -> None:
    store, blobs = imported(engine)
    archive = tmp_path / "img.tar"
    engine.ok("save", "-o", str(archive), "img:1")
    edit_config(store, blobs["config"])
    assert engine.run("image", "inspect", "img:1").returncode == 1
    assert engine.ok("load", "-i", str(archive)).strip() == "Loaded image: img:1"
    assert engine.run("image", "inspect", "img:1").returncode == 0
    # pull: the registry has the image (pushed before the damage); the config is fetched
    # again instead of the damaged copy being kept
    engine.ok("tag", "img:1", f"{registry.addr}/img:1")
    engine.ok("push", f"{registry.addr}/img:1")
    edit_config(store, blobs["config"])
    proc = engine.run("push", f"{registry.addr}/img:1")
    one_line_naming(proc, f"image {registry.addr}/img:1", f"blob {blobs['config']}")
    engine.ok("pull", f"{registry.addr}/img:1")
    doc = json.loads(engine.ok("image", "inspect", "img:1"))[0]
    assert doc["Config"]["Cmd"] != ["echo", "tampered"]
    assert engine.ok("run", "--rm", "--network", "none", "img:1", "echo", "fine") == "fine\n"
