"""Built images as the real peers see them: skopeo inspects and copies them, umoci
unpacks them, and Debian's buildah, building the same Dockerfile on the same busybox
base, makes the same file tree and the same config."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.integration.build.conftest import Builder, Files, tar_of

DOCKERFILE = """\
FROM busybox AS tools
RUN mkdir -p /out && echo built-in-stage > /out/tool && chmod 750 /out/tool
FROM busybox
ARG WHO=world
ENV GREETING="hello $WHO" EMPTY=
LABEL purpose=comparison
WORKDIR /app
COPY file.txt dir/ ./
COPY --chown=10:20 --chmod=600 file.txt /secret/file.txt
ADD files.tar /opt/
COPY --from=tools /out/tool /usr/local/bin/tool
RUN echo "$GREETING" > greeting && rm /bin/vi && mkdir -p /var/empty/deep \\
    && ln -s /app/greeting /greeting-link
USER 1000:1000
EXPOSE 8080/tcp 9999/udp
VOLUME ["/data"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat /app/greeting"]
"""


def _tree(top: Path) -> dict[str, tuple[Any, ...]]:
    out = {}
    for directory, dirs, files in os.walk(top):
        for name in dirs + files:
            path = os.path.join(directory, name)
            st = os.lstat(path)
            out[os.path.relpath(path, top)] = (
                stat.filemode(st.st_mode), st.st_uid, st.st_gid,
                st.st_size if stat.S_ISREG(st.st_mode) else 0,
                os.readlink(path) if stat.S_ISLNK(st.st_mode) else "")
    return out


def _unpack(layout: Path, tag: str, dest: Path) -> tuple[dict[str, tuple[Any, ...]],
                                                         dict[str, Any]]:
    subprocess.run(["umoci", "unpack", "--image", f"{layout}:{tag}", str(dest)], check=True,
                   capture_output=True, timeout=120)
    config = json.loads(subprocess.run(
        ["skopeo", "inspect", "--config", f"oci:{layout}:{tag}"], check=True,
        capture_output=True, text=True, timeout=60).stdout)
    return _tree(dest / "rootfs"), config


@pytest.fixture
def buildah(tmp_path: Path) -> Any:
    if not shutil.which("buildah"):
        pytest.skip("Debian's buildah is not installed (scripts/setup --dev installs it)")
    storage = tmp_path / "buildah"
    base = ["buildah", "--root", str(storage / "root"), "--runroot", str(storage / "run"),
            "--storage-driver", "vfs"]

    class Buildah:
        root = storage / "root"
        runroot = storage / "run"

        def __call__(self, *args: str) -> str:
            proc = subprocess.run([*base, *args], capture_output=True, text=True,
                                  timeout=300)
            assert proc.returncode == 0, proc.stderr
            return proc.stdout

    try:
        yield Buildah()
    finally:
        subprocess.run([*base, "rm", "--all"], capture_output=True, timeout=120)
        subprocess.run([*base, "rmi", "--all", "--force"], capture_output=True, timeout=120)
        shutil.rmtree(storage, ignore_errors=True)


def test_skopeo_and_umoci_read_a_built_image(builder: Builder, tmp_path: Path) -> None:
    ctx = builder.context("FROM busybox\nCOPY file.txt /file.txt\nRUN echo ran > /ran\n"
                          "CMD [\"cat\", \"/ran\"]\n", {"file.txt": "copied\n"})
    image_id = builder.image_id(builder.build(ctx, "-t", "peers:1"))
    layout = builder.root / "image" / "oci"
    inspected = json.loads(subprocess.run(
        ["skopeo", "inspect", f"oci:{layout}:docker.io/library/peers:1"], check=True,
        capture_output=True, text=True).stdout)
    assert len(inspected["Layers"]) == 3  # busybox, the COPY, the RUN
    copy = tmp_path / "copy"
    subprocess.run(["skopeo", "copy", "-q", f"oci:{layout}:docker.io/library/peers:1",
                    f"oci:{copy}:peers"], check=True, capture_output=True)
    saved = tmp_path / "saved.tar"  # savable like any image: skopeo reads the archive
    builder.engine.ok("save", "-o", str(saved), "peers:1")
    archived = json.loads(subprocess.run(
        ["skopeo", "inspect", f"docker-archive:{saved}"], check=True, capture_output=True,
        text=True).stdout)
    assert len(archived["Layers"]) == 3
    tree, config = _unpack(copy, "peers", tmp_path / "bundle")
    assert "file.txt" in tree and "ran" in tree
    assert (tmp_path / "bundle" / "rootfs" / "ran").read_text() == "ran\n"
    assert config["config"]["Cmd"] == ["cat", "/ran"]
    assert "sha256:" + subprocess.run(
        ["sha256sum"], input=(copy / "blobs" / "sha256" / json.loads(
            (copy / "blobs" / "sha256" / json.loads((copy / "index.json").read_text())[
                "manifests"][0]["digest"].removeprefix("sha256:")).read_text())["config"][
            "digest"].removeprefix("sha256:")).read_bytes(), capture_output=True
    ).stdout.decode().split()[0] == image_id


def _both(builder: Builder, buildah: Any, ctx: Path, tmp_path: Path
          ) -> tuple[tuple[dict[str, tuple[Any, ...]], dict[str, Any]], ...]:
    """`ctx` built by us and by buildah: (tree, config) of each, unpacked by umoci."""
    builder.build(ctx, "-t", "compare:ours")
    layout = builder.root / "image" / "oci"
    # buildah builds on the very same base image, copied from our store into its storage
    subprocess.run(["skopeo", "copy", "-q", f"oci:{layout}:docker.io/library/busybox:latest",
                    f"containers-storage:[vfs@{buildah.root}+{buildah.runroot}]"
                    "docker.io/library/busybox:latest"], check=True, capture_output=True)
    buildah("bud", "--runtime", "runc", "--pull-never", "--network", "none", "-q",
            "-t", "compare-theirs", str(ctx))
    out = tmp_path / "layout"
    buildah("push", "-q", "compare-theirs", f"oci:{out}:theirs")
    subprocess.run(["skopeo", "copy", "-q", f"oci:{layout}:docker.io/library/compare:ours",
                    f"oci:{out}:ours"], check=True, capture_output=True)
    return _unpack(out, "ours", tmp_path / "ours"), _unpack(out, "theirs", tmp_path / "theirs")


def test_same_tree_and_config_as_buildah(builder: Builder, buildah: Any,
                                         tmp_path: Path) -> None:
    ctx = builder.context(DOCKERFILE, {
        "file.txt": "a file\n", "dir/one.txt": "one\n", "dir/sub/two.txt": "two\n",
        "files.tar": tar_of({"extracted/a.txt": b"from the archive\n"})})
    (ours, our_config), (theirs, their_config) = _both(builder, buildah, ctx, tmp_path)
    differences = {k: (ours.get(k), theirs.get(k)) for k in set(ours) | set(theirs)
                   if ours.get(k) != theirs.get(k)}
    assert differences == {}
    assert "bin/vi" not in ours and "greeting-link" in ours  # the whiteout was applied
    for key in ("Env", "Cmd", "Entrypoint", "WorkingDir", "User", "ExposedPorts", "Volumes",
                "StopSignal"):
        assert our_config["config"].get(key) == their_config["config"].get(key), key
    their_labels = dict(their_config["config"].get("Labels") or {})
    their_labels.pop("io.buildah.version", None)
    assert our_config["config"].get("Labels") == their_labels
    assert (our_config["os"], our_config["architecture"]) == \
        (their_config["os"], their_config["architecture"])


def test_snapshots_made_in_place_match_their_blobs(builder: Builder, tmp_path: Path) -> None:
    """A RUN's upper dir becomes its snapshot, a COPY's tar is unpacked into its own: each
    must hold what unpacking the layer's blob gives (whiteouts, opaque dirs included)."""
    from minidocker.image import layer, snapshot
    from minidocker.image.store import Store
    ctx = builder.context("FROM busybox\nCOPY d/ /d/\nRUN rm /bin/vi && rm -rf /d && "
                          "mkdir /d && echo new > /d/only && ln -s x /link && "
                          "mkfifo /fifo\n", {"d/a": "a\n", "d/b/c": "c\n"})
    builder.build(ctx, "-t", "inplace")
    store = Store(str(builder.root))
    image = store.lookup("inplace")
    for index in (1, 2):  # the COPY and the RUN layers
        unpacked = tmp_path / f"unpacked{index}"
        unpacked.mkdir()
        layer.unpack_file(store.blob_path(image.layers[index]["digest"]), str(unpacked))
        in_place = Path(snapshot.fs_path(store, image.chain_ids[index]))
        assert _tree(in_place) == _tree(unpacked)
        if index == 2:  # /d was replaced: an opaque directory; /bin/vi a whiteout
            assert os.getxattr(in_place / "d", "trusted.overlay.opaque") == b"y"
            assert os.getxattr(unpacked / "d", "trusted.overlay.opaque") == b"y"
            assert stat.S_ISCHR(os.lstat(in_place / "bin" / "vi").st_mode)


def test_add_url_same_tree_as_buildah(builder: Builder, buildah: Any, files: Files,
                                      tmp_path: Path) -> None:
    """ADD of URLs (a file into a directory, an archive kept as it is, a named file,
    --chown and --chmod) gives buildah's tree: names, modes, owners, sizes."""
    data = files.serve("/f/data.txt", b"downloaded\n")
    packed = files.serve("/f/pack.tar.gz", tar_of({"inside.txt": b"x\n"}, "gz"))
    ctx = builder.context(f"FROM busybox\nADD {data} {packed} /dl/\nADD {data} /named\n"
                          f"ADD --chown=7:8 --chmod=640 {data} /owned/\n")
    (ours, _), (theirs, _) = _both(builder, buildah, ctx, tmp_path)
    assert {k: (ours.get(k), theirs.get(k)) for k in set(ours) | set(theirs)
            if ours.get(k) != theirs.get(k)} == {}
    assert ours["dl/pack.tar.gz"][0] == "-rw-------" and "dl/inside.txt" not in ours
    assert ours["owned/data.txt"][:3] == ("-rw-r-----", 7, 8)
