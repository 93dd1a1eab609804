"""save and load: Docker and OCI archives, written and read by skopeo on the other side."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from minidocker.errors import InvalidConfig
from minidocker.image import archive, snapshot
from minidocker.image.store import Store
from tests.integration.image.test_rootfs_commit import LAYERS, load_layout
from tests.unit.image.helpers import add_image, file, make_tar, write_layout


def skopeo_inspect(target: str) -> dict[str, object]:
    out = subprocess.run(["skopeo", "inspect", target], check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out)  # type: ignore[no-any-return]


@pytest.mark.parametrize("fmt, transport", [("docker", "docker-archive"),
                                            ("oci", "oci-archive")])
def test_save_is_readable_by_skopeo_and_loads_back(tmp_path: Path, fmt: str,
                                                   transport: str) -> None:
    store = Store(str(tmp_path / "root"))
    image = load_layout(tmp_path, store)
    out = tmp_path / f"saved-{fmt}.tar"
    with open(out, "wb") as f:
        archive.save(store, ["test:1"], f, fmt)
    info = skopeo_inspect(f"{transport}:{out}")
    assert len(info["Layers"]) == 2  # type: ignore[arg-type]
    other = Store(str(tmp_path / "other"))
    with open(out, "rb") as f:
        assert archive.load(other, f) == ["Loaded image: test:1"]
    loaded = other.lookup("test:1")
    assert loaded.id == image.id
    assert all(snapshot.exists(other, c) for c in loaded.chain_ids)


def test_load_a_docker_archive_written_by_skopeo(tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    write_layout(layout, {"t": add_image(layout, LAYERS)})
    out = tmp_path / "skopeo.tar"
    subprocess.run(["skopeo", "copy", "-q", f"oci:{layout}:t",
                    f"docker-archive:{out}:example.com/team/app:2"], check=True,
                   capture_output=True)
    store = Store(str(tmp_path / "root"))
    with open(out, "rb") as f:
        assert archive.load(store, f) == ["Loaded image: example.com/team/app:2"]
    image = store.lookup("example.com/team/app:2")
    assert Path(snapshot.lower_dirs(store, image)[0], "opt/new").read_text() == "new"


def test_load_from_a_gzipped_stream(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "root"))
    load_layout(tmp_path, store)
    buf = io.BytesIO()
    archive.save(store, ["test:1"], buf, "docker")
    import gzip
    other = Store(str(tmp_path / "other"))
    assert archive.load(other, io.BytesIO(gzip.compress(buf.getvalue()))) == [
        "Loaded image: test:1"]


def test_bad_archives_leave_nothing_behind(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "root"))
    layer = make_tar([file("../escape", "x")])
    import hashlib
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    config = json.dumps({"rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in [("c.json", config), ("l/layer.tar", layer),
                           ("manifest.json", json.dumps([{"Config": "c.json", "RepoTags":
                                                          ["bad:1"], "Layers":
                                                          ["l/layer.tar"]}]).encode())]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    with pytest.raises(InvalidConfig, match="escapes"):
        archive.load(store, io.BytesIO(buf.getvalue()))
    assert store.images() == []
    assert list(Path(store.snapshots_dir).iterdir()) == []
    assert list(Path(store.ingest_dir).iterdir()) == []
    assert not (tmp_path / "escape").exists()
    with pytest.raises(InvalidConfig, match="not an image archive|not a valid tar"):
        archive.load(store, io.BytesIO(b"garbage" * 1000))


@pytest.mark.parametrize("fmt", ["docker", "oci"])
def test_save_a_repository_saves_all_its_tags(tmp_path: Path, fmt: str) -> None:
    from minidocker.image import manage

    store = Store(str(tmp_path / "root"))
    image = load_layout(tmp_path, store)
    manage.tag(store, "test:1", "test:2")
    manage.tag(store, "test:1", "other:1")
    buf = io.BytesIO()
    archive.save(store, ["test"], buf, fmt)
    other = Store(str(tmp_path / "other"))
    lines = archive.load(other, io.BytesIO(buf.getvalue()))
    assert sorted(lines) == ["Loaded image: test:1", "Loaded image: test:2"]
    assert sorted(other.lookup("test:2").repo_tags) == ["test:1", "test:2"]
    by_id = io.BytesIO()
    archive.save(store, [image.id[7:19]], by_id, fmt)
    assert archive.load(Store(str(tmp_path / "third")), io.BytesIO(by_id.getvalue())) == [
        f"Loaded image ID: {image.id}"]


def _big_archive(tmp_path: Path) -> Path:
    """An archive whose load takes a while: one layer of 64 MB of incompressible data."""
    from tests.conftest import run_captured, tool

    rootfs = tmp_path / "big-rootfs"
    rootfs.mkdir()
    with open(rootfs / "blob", "wb") as f:
        for _ in range(64):
            f.write(os.urandom(1 << 20))
    cmd = [tool("minidocker"), "--root", str(tmp_path / "src-root")]
    run_captured([*cmd, "import", str(rootfs), "big:1"], check=True)
    out = tmp_path / "big.tar"
    run_captured([*cmd, "save", "-o", str(out), "big:1"], check=True)
    shutil.rmtree(tmp_path / "src-root")
    shutil.rmtree(rootfs)
    return out


def test_sigterm_during_load_cleans_up_like_ctrl_c_and_gc_removes_what_kill_9_left(
        tmp_path: Path) -> None:
    import signal
    import time

    from tests.conftest import tool

    archive_path = _big_archive(tmp_path)
    root = tmp_path / "root"
    ingest = root / "image" / "ingest"
    for sig in (signal.SIGTERM, signal.SIGKILL):
        proc = subprocess.Popen([tool("minidocker"), "--root", str(root), "load", "-i",
                                 str(archive_path)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while not (ingest.exists() and any(p.name.startswith("load-")
                                           for p in ingest.iterdir())):
            assert proc.poll() is None and time.monotonic() < deadline, "load ended early"
            time.sleep(0.002)
        proc.send_signal(sig)
        assert proc.wait(timeout=30) == (143 if sig == signal.SIGTERM else -9)
        assert proc.stderr is not None and b"Traceback" not in proc.stderr.read()
        proc.stderr.close()
        left = sorted(p.name for p in ingest.iterdir())
        if sig == signal.SIGTERM:
            assert left == []  # cleaned up as on Ctrl-C
        else:
            assert left and left[0].startswith("load-")
    store = Store(str(root))
    assert store.images() == []
    subprocess.run([tool("minidocker"), "--root", str(root), "image", "prune", "-f"],
                   check=True, capture_output=True)
    assert list(ingest.iterdir()) == []
    snapshots = Path(store.snapshots_dir)
    assert not snapshots.exists() or [p.name for p in snapshots.iterdir()] in ([], ["empty"])
