"""minidocker-runtime under its clients, side by side with runc (and crun):

1. the scenario matrix: tests/integration/clients run once per runtime (runc, crun, ours),
   each scenario's result per runtime in one table;
2. the time of a container through each client, runc and ours alternating:
   `podman run --rm --network none IMAGE true`, `ctr run --rm IMAGE ID true`,
   `docker run --rm --network none IMAGE true`; medians and ours/runc (goal <= 1.0).
   --baseline SRC adds the minidocker-runtime of another source tree to the alternation
   (`git archive COMMIT src | tar -x -C DIR`; pass DIR/src): a change against its parent.

Every daemon runs on private directories (tests/integration/clients/daemons.py) and is
stopped at the end. crun 1.8.1 refuses this hybrid-cgroup host (its cgroup2 mount has a
controller); it runs behind a wrapper that hides /sys/fs/cgroup/unified in a private
mount namespace of its own (as bench_runtime.py does), shown as `crun*`.

usage: python bench/bench_clients.py [--runs N] [--no-matrix] [--no-timing] [--baseline SRC]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "src"))

from bench_engine import timed  # noqa: E402  (bench/ is the script's directory)
from tests.integration.clients.daemons import (  # noqa: E402
    IMAGE,
    Containerd,
    Dockerd,
    Podman,
    write_image_archive,
)

CRUN_WRAPPER = """#!/bin/sh
# crun with the hybrid host's cgroup2 mount hidden (crun 1.8.1 refuses it otherwise)
exec unshare -m --propagation private sh -c \\
    'mount -t tmpfs none /sys/fs/cgroup/unified && exec crun "$@"' crun "$@"
"""


def crun_wrapper(tmp: Path) -> str | None:
    if not shutil.which("crun"):
        return None
    path = tmp / "crun-wrapper"
    path.write_text(CRUN_WRAPPER)
    path.chmod(0o755)
    return str(path)


def matrix(runtimes: list[str], env: dict[str, str], tmp: Path) -> None:
    report = tmp / "clients.xml"
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
           f"--junitxml={report}", str(REPO / "tests" / "integration" / "clients")]
    print(f"scenario matrix: pytest tests/integration/clients with {', '.join(runtimes)} ...",
          flush=True)
    subprocess.run(cmd, cwd=REPO, env={**env, "MDCLIENTS_RUNTIMES": ",".join(runtimes)},
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    results: dict[tuple[str, str], dict[str, str]] = {}
    for case in ET.parse(report).iter("testcase"):
        name = case.get("name", "")
        if "[" not in name:
            continue
        scenario, runtime = name[:-1].split("[", 1)
        client = case.get("classname", "").rsplit(".", 1)[-1].removeprefix("test_")
        outcome = "pass"
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "FAIL"
            elif child.tag == "skipped":  # an expected failure (a known bug) is one too
                outcome = "xfail" if "xfail" in child.get("type", "") else "skip"
        results.setdefault((client, scenario.removeprefix("test_")), {})[runtime] = outcome
    width = max(len(f"{c} {s}") for c, s in results) + 2
    print(f"{'client scenario':<{width}}" + "".join(f"{r:>8}" for r in runtimes))
    for (client, scenario), row in sorted(results.items()):
        print(f"{client + ' ' + scenario:<{width}}" +
              "".join(f"{row.get(r, '-'):>8}" for r in runtimes))
    totals = {r: sum(1 for row in results.values() if row.get(r) == "pass") for r in runtimes}
    print(f"{'passed':<{width}}" + "".join(f"{totals[r]:>4}/{len(results):<3}"
                                           for r in runtimes))


def compare(label: str, make_cmd: object, runs: int, env: dict[str, str] | None = None,
            runtimes: tuple[str, ...] = ("runc", "ours")) -> None:
    """Alternate runc and ours (and the baseline) `runs` times after one warm-up each;
    print medians."""
    times: dict[str, list[float]] = {rt: [] for rt in runtimes}
    for rt in times:  # warm-up, and a runtime failing here is reported, not timed
        proc = subprocess.run(make_cmd(rt, "warm"), env=env,  # type: ignore[operator]
                              stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if proc.returncode != 0:
            why = (proc.stderr.strip().splitlines() or ["?"])[-1]
            print(f"{label:<44} {rt} fails: {why}", flush=True)
            return
    for i in range(runs):
        for rt in times:
            times[rt].append(timed(make_cmd(rt, str(i)), env))  # type: ignore[operator]
    runc = statistics.median(times["runc"]) * 1000
    ours = statistics.median(times["ours"]) * 1000
    line = f"{label:<44} runc {runc:7.1f} ms   ours {ours:7.1f} ms   " \
        f"ratio {ours / runc:5.2f} (goal <= 1.0)"
    if "baseline" in times:
        base = statistics.median(times["baseline"]) * 1000
        line += f"   baseline {base:7.1f} ms ({base / runc:4.2f})"
    print(line, flush=True)


def timing(archive: Path, tmp: Path, runs: int, baseline: bool) -> None:
    rts: tuple[str, ...] = ("runc", "ours", "baseline") if baseline else ("runc", "ours")
    print(f"\ntiming: medians of {runs}, {', '.join(rts)} alternating")
    podman = Podman(tmp / "podman", archive)
    try:
        compare("podman run --rm --network none IMAGE true",
                lambda rt, _: podman.cmd("run", "--rm", "--network", "none", IMAGE, "true",
                                         runtime=rt), runs, podman.env, rts)
    finally:
        podman.close()
    ctrd = Containerd(tmp / "ctrd", archive, handlers=rts)
    try:
        compare("ctr run --rm IMAGE ID true",
                lambda rt, i: ctrd.ctr_cmd("run", "--rm", *ctrd.run_args(rt), IMAGE,
                                           f"b{rt}{i}", "true"), runs, None, rts)
    finally:
        ctrd.close()
    docker = Dockerd(tmp / "dockerd", archive, runtimes=rts)
    try:
        compare("docker run --rm --network none IMAGE true",
                lambda rt, _: docker.cmd("run", "--rm", "--network", "none", IMAGE, "true",
                                         runtime=rt), runs, None, rts)
    finally:
        docker.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--no-matrix", action="store_true")
    ap.add_argument("--no-timing", action="store_true")
    ap.add_argument("--baseline", type=Path, metavar="SRC",
                    help="also time the minidocker-runtime of this source tree")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_clients: needs root")
    missing = [t for t in ("podman", "containerd", "ctr", "dockerd", "/usr/bin/docker")
               if not shutil.which(t)]
    if missing:
        sys.exit(f"bench_clients: not installed: {', '.join(missing)} (scripts/setup --dev)")
    with tempfile.TemporaryDirectory(prefix="bench-clients-") as tmp_s:
        tmp = Path(tmp_s)
        env = dict(os.environ)
        runtimes = ["runc", "ours"]
        wrapper = crun_wrapper(tmp)
        if wrapper:
            env["MDCLIENTS_CRUN"] = wrapper
            runtimes.insert(1, "crun")
        if not args.no_matrix:
            matrix(runtimes, env, tmp)
        if not args.no_timing:
            subprocess.run([str(REPO / "scripts" / "build-busybox-rootfs"),
                            str(tmp / "rootfs")], check=True)
            if args.baseline:  # runtime_binary("baseline") reads MDCLIENTS_BASELINE
                from baseline import launcher
                ours = os.environ.get("MDCLIENTS_OURS") or str(REPO / ".venv" / "bin" /
                                                                "minidocker-runtime")
                os.environ["MDCLIENTS_BASELINE"] = launcher(ours, args.baseline, tmp)
            timing(write_image_archive(tmp / "rootfs", tmp / "images.tar"), tmp, args.runs,
                   bool(args.baseline))


if __name__ == "__main__":
    main()
