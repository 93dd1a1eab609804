"""`run` of /bin/true in a busybox bundle: minidocker-runtime side by side with runc (and crun
when installed), alternating, as root. Prints medians and the ratios to runc and crun (issue 16's
goal: at most 0.8 of runc's time and 1.5 of crun's).

--trace adds ours with `--trace FILE` (a fresh file each run) to the alternation and prints
what the trace costs. Each line also gives the median CPU time (user + system) of the
runtime and every process it waited for: less disturbed by a loaded machine than the
wall-clock time, it shows a change's own cost. --baseline SRC adds the minidocker-runtime
of another source tree (`git archive COMMIT src | tar -x -C DIR`; pass DIR/src): a change
against its parent.

On a hybrid cgroup host whose cgroup2 mount has controllers, crun 1.8.1 refuses to run;
its child alone then gets a private mount namespace with that mount hidden (see
hide_hybrid_unified).

usage: python bench/bench_runtime.py [--runs N] [--trace] [--baseline SRC]
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import resource
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
    # crun 1.8.1 (Debian bookworm) refuses any ociVersion but 1.0.x; every runtime here
    # accepts 1.0.2 and the bundle is the same for all of them
    spec["ociVersion"] = "1.0.2"
    (bundle / "config.json").write_text(json.dumps(spec))
    return bundle


def hide_hybrid_unified() -> None:
    """crun 1.8.1 refuses a hybrid cgroup host whose cgroup2 mount has controllers (this
    machine's /sys/fs/cgroup/unified holds hugetlb). In crun's child only, before exec: a
    private mount namespace with an empty tmpfs over that mount, so crun sees plain v1."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(0x00020000) != 0:  # CLONE_NEWNS
        raise OSError(ctypes.get_errno(), "unshare")
    if libc.mount(b"none", b"/", None, 0x40000 | 0x4000, None) != 0:  # MS_PRIVATE|MS_REC
        raise OSError(ctypes.get_errno(), "mount --make-rprivate /")
    if libc.mount(b"none", b"/sys/fs/cgroup/unified", b"tmpfs", 0, None) != 0:
        raise OSError(ctypes.get_errno(), "mount tmpfs on /sys/fs/cgroup/unified")


def needs_hybrid_workaround() -> bool:
    return os.path.isfile("/sys/fs/cgroup/unified/cgroup.controllers") and \
        Path("/sys/fs/cgroup/unified/cgroup.controllers").read_text().strip() != ""


CPU: dict[str, list[float]] = {}  # runtime name -> CPU seconds of each run


def time_run(cmd: list[str], bundle: Path, state: Path, i: int) -> float:
    if "--trace" in cmd:  # one trace per run, as a user makes it
        Path(cmd[cmd.index("--trace") + 1]).unlink(missing_ok=True)
    args = [*cmd, "--root", str(state), "run", "--bundle", str(bundle), f"bench{i}"]
    preexec = hide_hybrid_unified if cmd[0] == "crun" and needs_hybrid_workaround() else None
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True,
                          preexec_fn=preexec)
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.setdefault(" ".join(cmd), []).append(after.ru_utime - before.ru_utime +
                                             after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        sys.exit(f"{cmd[0]} failed: {proc.stderr.decode().strip()}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--trace", action="store_true",
                        help="also time ours with --trace FILE, and print the difference")
    parser.add_argument("--baseline", type=Path, metavar="SRC",
                        help="also time the minidocker-runtime of this source tree")
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
        if args.baseline:
            from baseline import launcher
            runtimes["baseline"] = [launcher(ours or "minidocker-runtime", args.baseline,
                                             root)]
        if args.trace:
            runtimes["traced"] = [*runtimes["minidocker-runtime"], "--trace",
                                  str(root / "trace.json")]
        times: dict[str, list[float]] = {name: [] for name in runtimes}
        for i in range(args.runs + 3):
            for name, cmd in runtimes.items():
                t = time_run(cmd, bundle, root / f"state-{name}", i)
                if i >= 3:  # warm-up runs are not counted
                    times[name].append(t)
        medians = {name: statistics.median(ts) * 1000 for name, ts in times.items()}
        cpu = {name: statistics.median(CPU[" ".join(cmd)][3:]) * 1000
               for name, cmd in runtimes.items()}
        for name, ms in medians.items():
            print(f"{name:20s} run /bin/true  median {ms:7.1f} ms  "
                  f"(min {min(times[name]) * 1000:.1f}; CPU {cpu[name]:.1f} ms)")
        if "runc" in medians:
            ratio = medians["minidocker-runtime"] / medians["runc"]
            print(f"ratio minidocker-runtime / runc: {ratio:.2f} (goal: <= 0.80)")
        if "crun" in medians:
            print(f"ratio minidocker-runtime / crun: "
                  f"{medians['minidocker-runtime'] / medians['crun']:.2f} (goal: <= 1.50)")
        if "baseline" in medians:
            print(f"ratio minidocker-runtime / baseline ({args.baseline}): "
                  f"{medians['minidocker-runtime'] / medians['baseline']:.3f} "
                  f"(CPU {cpu['minidocker-runtime'] / cpu['baseline']:.3f})")
        if "traced" in medians:
            events = (root / "trace.json").read_text().count("\n") - 1
            print(f"--trace costs {medians['traced'] - medians['minidocker-runtime']:+.1f} ms "
                  f"a run, {cpu['traced'] - cpu['minidocker-runtime']:+.1f} ms of CPU "
                  f"({events} events, {(root / 'trace.json').stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
