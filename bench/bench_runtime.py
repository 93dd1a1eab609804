"""`run` of /bin/true in a busybox bundle: minidocker-runtime side by side with runc (and crun
when installed), alternating, as root. Prints medians and the ratio to runc.

usage: python bench/bench_runtime.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def make_bundle(root: Path) -> Path:
    bundle = root / "bundle"
    bundle.mkdir()
    subprocess.run([str(REPO / "scripts" / "build-busybox-rootfs"), str(bundle / "rootfs")],
                   check=True)
    sys.path.insert(0, str(REPO / "src"))
    from minidocker.runtime.spec import default_spec
    spec = default_spec()
    spec["process"]["terminal"] = False
    spec["process"]["args"] = ["/bin/true"]
    (bundle / "config.json").write_text(json.dumps(spec))
    return bundle


def time_run(cmd: list[str], bundle: Path, state: Path, i: int) -> float:
    args = [*cmd, "--root", str(state), "run", "--bundle", str(bundle), f"bench{i}"]
    t0 = time.perf_counter()
    proc = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"{cmd[0]} failed: {proc.stderr.decode().strip()}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_runtime: run as root")
    ours = shutil.which("minidocker-runtime", path=str(Path(sys.executable).parent)) or \
        shutil.which("minidocker-runtime")
    runtimes = {"minidocker-runtime": [ours or "minidocker-runtime"]}
    for peer in ("runc", "crun"):
        if shutil.which(peer):
            runtimes[peer] = [peer]
    with tempfile.TemporaryDirectory(prefix="bench-runtime-") as tmp:
        root = Path(tmp)
        bundle = make_bundle(root)
        times: dict[str, list[float]] = {name: [] for name in runtimes}
        for i in range(args.runs + 3):
            for name, cmd in runtimes.items():
                t = time_run(cmd, bundle, root / f"state-{name}", i)
                if i >= 3:  # warm-up runs are not counted
                    times[name].append(t)
        medians = {name: statistics.median(ts) * 1000 for name, ts in times.items()}
        for name, ms in medians.items():
            print(f"{name:20s} run /bin/true  median {ms:7.1f} ms  "
                  f"(min {min(times[name]) * 1000:.1f})")
        if "runc" in medians:
            ratio = medians["minidocker-runtime"] / medians["runc"]
            print(f"ratio minidocker-runtime / runc: {ratio:.2f} (goal: <= 1.00)")
        if "crun" in medians:
            print(f"ratio minidocker-runtime / crun: "
                  f"{medians['minidocker-runtime'] / medians['crun']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
