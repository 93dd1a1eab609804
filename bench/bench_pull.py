#!/usr/bin/env python3
"""Pull + unpack of a multi-layer image from a local registry: `minidocker pull` side by
side with `skopeo copy` + `umoci unpack`, alternating, medians and the ratio printed.

Starts Debian's docker-registry on 127.0.0.1 (free port, temp storage), pushes a generated
image with skopeo, and cleans everything up. Usage: bench_pull.py [--rounds N] [--mb M]
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MINIDOCKER = str(REPO / ".venv" / "bin" / "minidocker")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_blob(layout: Path, data: bytes) -> dict[str, object]:
    import hashlib
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def make_layer(rng: random.Random, index: int, files: int, megabytes: float) -> bytes:
    """A layer like real ones: many small text-ish files and a few big binary ones."""
    buf = io.BytesIO()
    words = [bytes(rng.choices(b"abcdefghijklmnopqrstuvwxyz", k=rng.randint(2, 9)))
             for _ in range(500)]
    budget = int(megabytes * 1_000_000)
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for d in range(files // 50 + 1):
            info = tarfile.TarInfo(f"layer{index}/dir{d}")
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tf.addfile(info)
        for i in range(files):
            if i % 100 == 0:
                data = rng.randbytes(min(budget // 20, 2_000_000))
            else:
                data = b" ".join(rng.choices(words, k=rng.randint(20, 400)))
            info = tarfile.TarInfo(f"layer{index}/dir{i // 50}/file{i}")
            info.size, info.mode = len(data), 0o644
            tf.addfile(info, io.BytesIO(data))
            if i % 10 == 0:
                link = tarfile.TarInfo(f"layer{index}/dir{i // 50}/link{i}")
                link.type, link.linkname = tarfile.SYMTYPE, f"file{i}"
                tf.addfile(link)
    return buf.getvalue()


def build_layout(layout: Path, layers: int, total_mb: float) -> None:
    rng = random.Random(42)
    descs, diff_ids = [], []
    for i in range(layers):
        tar = make_layer(rng, i, files=1500, megabytes=total_mb / layers)
        import hashlib
        diff_ids.append("sha256:" + hashlib.sha256(tar).hexdigest())
        blob = gzip.compress(tar, compresslevel=6, mtime=0)
        descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                      **write_blob(layout, blob)})
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    manifest = json.dumps({"schemaVersion": 2,
                           "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      **write_blob(layout, config)},
                           "layers": descs}).encode()
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        **write_blob(layout, manifest),
        "annotations": {"org.opencontainers.image.ref.name": "bench"}}]}))


def start_registry(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    addr = f"127.0.0.1:{port}"
    config = workdir / "registry.yml"
    config.write_text(f"version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
                      f"storage:\n  filesystem:\n    rootdirectory: {workdir / 'storage'}\n"
                      f"http:\n  addr: {addr}\n")
    proc = subprocess.Popen(["docker-registry", "serve", str(config)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://{addr}/v2/", timeout=1)
            return proc, addr
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("docker-registry did not start")


def timed(cmds: list[list[str]]) -> float:
    start = time.perf_counter()
    for cmd in cmds:
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if proc.returncode:
            raise SystemExit(f"bench_pull: {' '.join(cmd[:2])} failed: {proc.stderr.strip()}")
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--layers", type=int, default=5)
    parser.add_argument("--mb", type=float, default=60, help="uncompressed image size")
    args = parser.parse_args()
    for tool in ("docker-registry", "skopeo", "umoci"):
        if not shutil.which(tool):
            print(f"bench_pull: {tool} is missing (make setup-dev)", file=sys.stderr)
            return 1
    work = Path(tempfile.mkdtemp(prefix="bench-pull-"))
    registry = None
    try:
        build_layout(work / "layout", args.layers, args.mb)
        registry, addr = start_registry(work)
        image = f"{addr}/bench/image:1"
        subprocess.run(["skopeo", "copy", "-q", "--dest-tls-verify=false",
                        f"oci:{work / 'layout'}:bench", f"docker://{image}"], check=True)
        ours, theirs = [], []
        for r in range(args.rounds):
            root, peer = work / f"root{r}", work / f"peer{r}"
            peer.mkdir()
            ours.append(timed([[MINIDOCKER, "--root", str(root), "pull", "-q", image]]))
            theirs.append(timed([
                ["skopeo", "copy", "-q", "--src-tls-verify=false", f"docker://{image}",
                 f"oci:{peer / 'layout'}:bench"],
                ["umoci", "unpack", "--image", f"{peer / 'layout'}:bench",
                 str(peer / "bundle")]]))
            shutil.rmtree(root, ignore_errors=True)
            shutil.rmtree(peer, ignore_errors=True)
            print(f"round {r + 1}: minidocker pull {ours[-1]:.2f}s   "
                  f"skopeo copy + umoci unpack {theirs[-1]:.2f}s")
        a, b = statistics.median(ours), statistics.median(theirs)
        print(f"{args.layers} layers, {args.mb:g} MB uncompressed, {args.rounds} rounds (medians)")
        print(f"minidocker pull:             {a:.2f}s")
        print(f"skopeo copy + umoci unpack:  {b:.2f}s")
        print(f"ratio minidocker/peers:      {a / b:.2f}  ({'faster' if a < b else 'slower'})")
        return 0
    finally:
        if registry is not None:
            registry.terminate()
            registry.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
