"""pull: from a real registry filled by skopeo (an independent client) from a layout the
test writes by hand; the result is a run-ready image whose store skopeo can read back."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from minidocker.errors import MinidockerError
from minidocker.image import distribution, snapshot
from minidocker.image.store import Store
from tests.conftest import tool
from tests.integration.image.conftest import Registry, skopeo_copy
from tests.unit.image.helpers import Entry, add_image, add_index, file, write_layout

LAYERS = [
    [Entry("etc", "dir"), file("etc/hostname", "base\n"), file("etc/gone", "x"),
     Entry("opt", "dir"), file("opt/old", "old"), Entry("bin", "dir"),
     file("bin/tool", "#!/bin/sh\n", mode=0o755)],
    [file(".wh.nothing"), Entry("etc", "dir"), file("etc/.wh.gone"),
     Entry("opt", "dir"), file("opt/.wh..wh..opq"), file("opt/new", "new"),
     Entry("bin/link", "symlink", target="tool"), file("etc/hostname", "top\n")],
    [Entry("data", "dir", mode=0o700, uid=1000, gid=1000), file("data/big", os.urandom(300_000))],
]


def push_layout(tmp_path: Path, registry: Registry, repo: str, tag: str = "v1",
                layers: list[list[Entry]] = LAYERS) -> str:
    layout = tmp_path / "src-layout"
    write_layout(layout, {tag: add_image(layout, layers)})
    dest = f"docker://{registry.addr}/{repo}:{tag}"
    skopeo_copy(f"oci:{layout}:{tag}", dest)
    return f"{registry.addr}/{repo}:{tag}"


def test_pull_gives_unpacked_snapshots_with_whiteouts(tmp_path: Path, registry: Registry) -> None:
    name = push_layout(tmp_path, registry, "pull/basic")
    store = Store(str(tmp_path / "root"))
    image = distribution.pull(store, name)
    assert image.repo_tags == [name]
    assert len(image.chain_ids) == 3
    lowers = snapshot.lower_dirs(store, image)
    top, middle, base = (Path(p) for p in lowers)
    assert (base / "etc/hostname").read_text() == "base\n"
    assert (middle / "etc/hostname").read_text() == "top\n"
    gone = (middle / "etc/gone").lstat()
    assert stat.S_ISCHR(gone.st_mode) and gone.st_rdev == 0
    assert os.getxattr(middle / "opt", "trusted.overlay.opaque") == b"y"
    assert os.readlink(middle / "bin/link") == "tool"
    data = (top / "data").stat()
    assert (data.st_uid, data.st_gid, stat.S_IMODE(data.st_mode)) == (1000, 1000, 0o700)
    assert not os.listdir(store.ingest_dir)


def test_pulled_store_is_readable_by_skopeo(tmp_path: Path, registry: Registry) -> None:
    name = push_layout(tmp_path, registry, "pull/skopeo")
    store = Store(str(tmp_path / "root"))
    image = distribution.pull(store, name)
    out = subprocess.run(["skopeo", "inspect", f"oci:{store.layout}:{name}"], check=True,
                         capture_output=True, text=True).stdout
    assert json.loads(out)["Digest"] == image.manifest_digest
    subprocess.run(["skopeo", "copy", "-q", f"oci:{store.layout}:{name}",
                    f"dir:{tmp_path / 'copy'}"], check=True, capture_output=True)
    listed = subprocess.run(["umoci", "ls", "--layout", store.layout], check=True,
                            capture_output=True, text=True).stdout.split()
    assert listed == [f"{name}"]


def test_pull_again_is_up_to_date_and_by_digest_works(tmp_path: Path, registry: Registry) -> None:
    name = push_layout(tmp_path, registry, "pull/again")
    store = Store(str(tmp_path / "root"))
    first = distribution.pull(store, name)
    again = distribution.pull(store, name)
    assert again.id == first.id
    repo = name.rsplit(":", 1)[0]
    digest = first.repo_digests[0].split("@")[1]
    by_digest = distribution.pull(store, f"{repo}@{digest}")
    assert by_digest.id == first.id


def test_pull_selects_platform_from_an_index(tmp_path: Path, registry: Registry) -> None:
    layout = tmp_path / "multi"
    amd = add_image(layout, [[file("arch", "amd64")]], arch="amd64")
    arm = add_image(layout, [[file("arch", "arm64")]], arch="arm64")
    write_layout(layout, {"multi": add_index(layout, [amd, arm])})
    skopeo_copy(f"oci:{layout}:multi", f"docker://{registry.addr}/pull/multi:1", "--all")
    name = f"{registry.addr}/pull/multi:1"
    store = Store(str(tmp_path / "root"))
    image = distribution.pull(store, name)
    assert image.config["architecture"] == "amd64"
    assert Path(snapshot.lower_dirs(store, image)[0], "arch").read_text() == "amd64"
    arm_store = Store(str(tmp_path / "root2"))
    arm_image = distribution.pull(arm_store, name, platform="linux/arm64")
    assert arm_image.config["architecture"] == "arm64"
    with pytest.raises(MinidockerError, match="no image for platform linux/s390x"):
        distribution.pull(Store(str(tmp_path / "root3")), name, platform="linux/s390x")


def test_pull_of_missing_image_is_one_clear_error(tmp_path: Path, registry: Registry) -> None:
    store = Store(str(tmp_path / "root"))
    with pytest.raises(MinidockerError, match="manifest for .* not found: .*HTTP 404") as err:
        distribution.pull(store, f"{registry.addr}/pull/nothing:here")
    assert "\n" not in str(err.value)
    assert store.images() == []


def test_unreachable_registry(tmp_path: Path) -> None:
    from tests.integration.image.conftest import free_port

    store = Store(str(tmp_path / "root"))
    with pytest.raises(MinidockerError, match="cannot reach registry"):
        distribution.pull(store, f"127.0.0.1:{free_port()}/x:1")


def test_docker_schema2_and_zstd_images(tmp_path: Path, registry: Registry) -> None:
    layout = tmp_path / "src"
    write_layout(layout, {"t": add_image(layout, LAYERS, compress="none")})
    docker_ref = f"{registry.addr}/pull/schema2:1"
    skopeo_copy(f"oci:{layout}:t", f"docker://{docker_ref}", "--format", "v2s2",
                "--dest-compress")
    zstd_layout = tmp_path / "zstd"
    write_layout(zstd_layout, {"t": add_image(zstd_layout, LAYERS, compress="zstd",
                                              cmd=["/zstd"])})
    zstd_ref = f"{registry.addr}/pull/zstd:1"
    skopeo_copy(f"oci:{zstd_layout}:t", f"docker://{zstd_ref}", "--preserve-digests")
    store = Store(str(tmp_path / "root"))
    docker_image = distribution.pull(store, docker_ref)
    assert docker_image.manifest["mediaType"] == \
        "application/vnd.docker.distribution.manifest.v2+json"
    zstd_image = distribution.pull(store, zstd_ref)
    assert zstd_image.layers[0]["mediaType"].endswith("+zstd")
    # same content, same diff IDs: the snapshots are shared, not unpacked twice
    assert zstd_image.chain_ids == docker_image.chain_ids
    assert len(os.listdir(store.snapshots_dir)) == 3


def test_concurrent_pulls_into_one_store(tmp_path: Path, registry: Registry) -> None:
    from concurrent.futures import ThreadPoolExecutor

    first = push_layout(tmp_path / "a", registry, "pull/conc-a")
    second = push_layout(tmp_path / "b", registry, "pull/conc-b",
                         layers=[*LAYERS[:2], [file("other", "x")]])
    root = str(tmp_path / "root")
    with ThreadPoolExecutor(4) as pool:
        images = list(pool.map(lambda n: distribution.pull(Store(root), n),
                               [first, second, first, second]))
    store = Store(root)
    assert sorted(t for i in store.images() for t in i.repo_tags) == sorted([first, second])
    assert images[0].chain_ids[:2] == images[1].chain_ids[:2]
    index = json.loads(Path(store.index_path).read_text())
    assert len(index["manifests"]) == 2
    procs = [subprocess.Popen([tool("minidocker"), "--root", root, "pull", "-q", n],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for n in (first, second, first)]
    for p in procs:
        assert p.wait(60) == 0, p.stderr.read() if p.stderr else ""
    assert len(json.loads(Path(store.index_path).read_text())["manifests"]) == 2


def test_pull_shows_progress_on_a_terminal(tmp_path: Path, registry: Registry) -> None:
    name = push_layout(tmp_path, registry, "pull/tty")
    import pty
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(tool("minidocker"), [tool("minidocker"), "--root", str(tmp_path / "root"),
                                      "pull", name])
    out = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    text = out.decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0, text
    assert "\x1b[" in text and "Pull complete" in text and "Downloaded newer image" in text


def test_a_loopback_registry_speaking_tls(tmp_path: Path, tls_registry: Registry,
                                          registry: Registry) -> None:
    name = push_layout(tmp_path, tls_registry, "pull/tls")
    store = Store(str(tmp_path / "root"))
    image = distribution.pull(store, name)
    assert image.chain_ids
    from minidocker.image.registry import Client
    assert Client(tls_registry.addr).scheme == "https"
    assert Client(registry.addr).scheme == "http"


def test_a_malicious_layer_fails_the_pull_and_leaves_no_image(tmp_path: Path,
                                                              registry: Registry) -> None:
    evil = [[file("ok", "fine")], [Entry("link", "symlink", target="/"),
                                   file("link/tmp/pwned-by-layer", "x")]]
    name = push_layout(tmp_path, registry, "pull/evil", layers=evil)
    store = Store(str(tmp_path / "root"))
    with pytest.raises(MinidockerError, match="path goes through a symlink") as err:
        distribution.pull(store, name)
    assert "\n" not in str(err.value)
    assert store.images() == []
    assert not Path("/tmp/pwned-by-layer").exists()
    assert [n for n in os.listdir(store.snapshots_dir) if n.startswith(".tmp")] == []
    assert len(os.listdir(store.snapshots_dir)) <= 1  # at most the harmless first layer
