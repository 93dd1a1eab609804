"""minidocker build side by side with Debian's `buildah bud`, as root, on the same
Dockerfiles, contexts and busybox base image (taken from our store into buildah's), both
with `--network none` and runc for buildah's RUN steps, alternating runs:

  1. cold: every step runs (ours --no-cache; buildah --layers --no-cache);
     goal: ours at most 0.5 of buildah's time;
  2. fully cached: an unchanged rebuild (ours as is; buildah --layers);
     goal: ours at most 0.2 of buildah's.

buildah uses a private storage (overlay driver, the fast one) and run root under a temp
directory, removed at the end; ours a private --root. buildah is installed with apt-get
when missing.

usage: python bench/bench_build.py [--runs N] [--storage-driver overlay|vfs]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

DOCKERFILES = {
    "steps": """\
FROM busybox
ENV APP=/app MODE=bench
WORKDIR /app
COPY config.txt ./
COPY src/ ./src/
RUN echo "$MODE" > mode && mkdir -p /var/lib/app && cp -r src /var/lib/app/
RUN find /app -type f | sort > /app/index.txt
USER 1000
EXPOSE 8080
CMD ["cat", "/app/index.txt"]
""",
    "multistage": """\
FROM busybox AS build
WORKDIR /build
COPY src/ ./src/
RUN tar -cf /out.tar src && gzip -9 /out.tar
FROM busybox
COPY --from=build /out.tar.gz /opt/
RUN cd /opt && gunzip out.tar.gz && tar -xf out.tar && rm out.tar
CMD ["ls", "/opt/src"]
""",
    "context": """\
FROM busybox
COPY . /ctx/
RUN du -s /ctx > /size
""",
}


def make_context(path: Path, dockerfile: str) -> None:
    path.mkdir(parents=True)
    (path / "Dockerfile").write_text(dockerfile)
    (path / "config.txt").write_text("setting=1\n")
    for i in range(200):  # a project-sized tree: 200 small files and a 2 MB blob
        sub = path / "src" / f"pkg{i % 10}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"mod{i}.py").write_text(f"# module {i}\n" + "x = 1\n" * (i % 50))
    (path / "src" / "data.bin").write_bytes(os.urandom(2 << 20))


def ensure_buildah() -> str | None:
    path = shutil.which("buildah")
    if path:
        return path
    print("bench_build: installing buildah (apt-get)", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "buildah"],
                   env=env, stdout=subprocess.DEVNULL, check=False)
    return shutil.which("buildah")


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"bench_build: {' '.join(cmd[:8])}... failed: "
                 f"{proc.stderr.decode(errors='replace').strip()[-2000:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--storage-driver", default="overlay", choices=["overlay", "vfs"])
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_build: run as root")
    buildah = ensure_buildah()
    if buildah is None:
        sys.exit("bench_build: buildah is not installed and apt-get could not install it")
    work = Path(tempfile.mkdtemp(prefix="bench-build-"))
    ours_root = work / "root"
    md = [str(BIN / "minidocker"), "--root", str(ours_root)]
    bh = [buildah, "--root", str(work / "buildah"), "--runroot", str(work / "buildah-run"),
          "--storage-driver", args.storage_driver]
    try:
        subprocess.run([*md, "import", str(REPO / "images" / "busybox"), "busybox:latest"],
                       check=True, stdout=subprocess.DEVNULL)
        layout = ours_root / "image" / "oci"
        storage = f"{args.storage_driver}@{work / 'buildah'}+{work / 'buildah-run'}"
        subprocess.run(["skopeo", "copy", "-q", f"oci:{layout}:docker.io/library/busybox:latest",
                        f"containers-storage:[{storage}]docker.io/library/busybox:latest"],
                       check=True, stdout=subprocess.DEVNULL)
        print(f"{'dockerfile':<12} {'mode':<7} {'minidocker':>11} {'buildah':>9} {'ratio':>6}"
              "  goal")
        ratios: dict[str, list[float]] = {"cold": [], "cached": []}
        for name, dockerfile in DOCKERFILES.items():
            ctx = work / f"ctx-{name}"
            make_context(ctx, dockerfile)
            ours_cold = [*md, "build", "-q", "--no-cache", "--network", "none", "-t",
                         f"b-{name}", str(ctx)]
            ours_cached = [x for x in ours_cold if x != "--no-cache"]
            theirs_base = [*bh, "bud", "--runtime", "runc", "--pull-never", "--network",
                           "none", "--layers", "-q", "-t", f"b-{name}"]
            theirs_cold = [*theirs_base, "--no-cache", str(ctx)]
            theirs_cached = [*theirs_base, str(ctx)]
            timed(ours_cold)  # warm-up: page cache, compiled modules, both caches filled
            timed(theirs_cold)
            for mode, ours_cmd, theirs_cmd, goal in (
                    ("cold", ours_cold, theirs_cold, 0.5),
                    ("cached", ours_cached, theirs_cached, 0.2)):
                ours_t, theirs_t = [], []
                for _ in range(args.runs):
                    ours_t.append(timed(ours_cmd))
                    theirs_t.append(timed(theirs_cmd))
                o, t = statistics.median(ours_t), statistics.median(theirs_t)
                ratios[mode].append(o / t)
                print(f"{name:<12} {mode:<7} {o * 1000:9.0f}ms {t * 1000:7.0f}ms "
                      f"{o / t:6.2f}  <= {goal}", flush=True)
        for mode, goal in (("cold", 0.5), ("cached", 0.2)):
            geo = statistics.geometric_mean(ratios[mode])
            print(f"{'all':<12} {mode:<7} geometric mean of ratios {geo:.2f} (goal <= {goal})")
    finally:
        subprocess.run([*bh, "rm", "--all"], capture_output=True)
        subprocess.run([*bh, "rmi", "--all", "--force"], capture_output=True)
        with open("/proc/self/mountinfo") as f:
            mounts = [line.split()[4] for line in f.read().splitlines()]
        for mountpoint in sorted((m for m in mounts if m.startswith(str(work) + "/")),
                                 key=len, reverse=True):
            subprocess.run(["umount", "-l", mountpoint], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
