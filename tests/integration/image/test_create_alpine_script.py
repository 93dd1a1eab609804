"""scripts/create_alpine_image.sh against a mirror served on 127.0.0.1 (never the real one)."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import os
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, tool
from tests.integration.image.conftest import free_port

SCRIPT = str(REPO / "scripts" / "create_alpine_image.sh")
ARCH = os.uname().machine


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """(URL, directory) of a fake Alpine mirror with a minirootfs and its .sha256."""
    root = tmp_path / "mirror"
    rel = root / "v3.20" / "releases" / ARCH
    rel.mkdir(parents=True)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in [("etc/alpine-release", b"3.20.3\n"), ("bin/sh", b"#!fake\n")]:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755
            tf.addfile(info, io.BytesIO(data))
    tarball = rel / f"alpine-minirootfs-3.20.3-{ARCH}.tar.gz"
    tarball.write_bytes(buf.getvalue())
    Path(f"{tarball}.sha256").write_text(
        f"{hashlib.sha256(buf.getvalue()).hexdigest()}  {tarball.name}\n")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", tarball
    finally:
        server.shutdown()
        server.server_close()


def run(cwd: Path, mirror_url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SCRIPT, *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "ALPINE_MIRROR": mirror_url,
                               "MINIDOCKER_ROOT": str(cwd / "root"),
                               "MINIDOCKER": tool("minidocker"), **env}, timeout=120)


def test_downloads_verifies_and_imports(tmp_path: Path, mirror: tuple[str, Path]) -> None:
    proc = run(tmp_path, mirror[0], "--import")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "images/alpine/etc/alpine-release").read_text() == "3.20.3\n"
    out = subprocess.run([tool("minidocker"), "--root", str(tmp_path / "root"), "images",
                          "--format", "{{.Repository}}:{{.Tag}}"], capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "alpine:latest"


def test_checksum_mismatch_fails_and_leaves_nothing(tmp_path: Path,
                                                   mirror: tuple[str, Path]) -> None:
    proc = run(tmp_path, mirror[0], ALPINE_SHA256="0" * 64)
    assert proc.returncode == 1 and "checksum mismatch" in proc.stderr
    assert not (tmp_path / "images/alpine").exists()
    assert os.listdir(tmp_path / "images") == []


def test_unreachable_mirror_falls_back_to_busybox(tmp_path: Path) -> None:
    proc = run(tmp_path, f"http://127.0.0.1:{free_port()}", "--name", "mini")
    assert proc.returncode == 0, proc.stderr
    assert "building busybox instead" in proc.stdout
    assert (tmp_path / "images/mini/bin/busybox").exists()
