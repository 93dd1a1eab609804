"""The Docker Engine API side by side: Debian's docker client (/usr/bin/docker) against
`minidocker system service` and against Debian's dockerd, both started here on private
roots and sockets (dockerd with --iptables=false --bridge=none, its containers and ours
with --network none), the same busybox image in both, alternating runs:

  1. `docker run --rm busybox true`: median times and the ratio (goal: ours <= 0.5 of
     dockerd's);
  2. `docker ps` with 100 running containers on each side (goal: ours <= dockerd's).

Everything made is removed at the end: containers, both daemons (and dockerd's
containerd and shims), their roots, mounts and cgroups.

usage: python bench/bench_api.py [--runs N] [--containers N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DOCKER = "/usr/bin/docker"  # Debian's client; never /usr/local/bin/docker
DOCKERD = "/usr/sbin/dockerd"


class Side:
    """One engine behind one socket, driven by the docker client."""

    def __init__(self, name: str, socket: Path, config: Path):
        self.name = name
        self.socket = socket
        self.env = {**{k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")},
                    "DOCKER_HOST": f"unix://{socket}", "DOCKER_CONFIG": str(config)}
        config.mkdir(parents=True, exist_ok=True)
        self.proc: subprocess.Popen[bytes] | None = None

    def docker(self, *args: str, check: bool = True) -> str:
        proc = subprocess.run([DOCKER, *args], env=self.env, stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=300)
        if check and proc.returncode != 0:
            raise RuntimeError(f"{self.name}: docker {' '.join(args)}: "
                               f"{proc.stderr.decode(errors='replace').strip()}")
        return proc.stdout.decode()

    def timed(self, *args: str) -> float:
        t0 = time.perf_counter()
        proc = subprocess.run([DOCKER, *args], env=self.env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        elapsed = time.perf_counter() - t0
        if proc.returncode != 0:
            raise RuntimeError(f"{self.name}: docker {' '.join(args)}: "
                               f"{proc.stderr.decode(errors='replace').strip()}")
        return elapsed

    def wait_ready(self, log: Path) -> None:
        deadline = time.monotonic() + 60
        while True:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} did not start: {log.read_text()[-2000:]}")
            ok = subprocess.run([DOCKER, "version"], env=self.env, capture_output=True)
            if ok.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not answer: {log.read_text()[-2000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def remove_all(self) -> None:
        ids = self.docker("ps", "-aq", check=False).split()
        for i in range(0, len(ids), 50):
            self.docker("rm", "-f", *ids[i:i + 50], check=False)


def start_ours(tmp: Path) -> Side:
    from tests.integration.network.private import private_network
    root = tmp / "md"
    private_network(root)  # its own bridge name, nft table and subnets, removed after
    side = Side("minidocker", tmp / "md.sock", tmp / "md-client")
    subprocess.run([str(BIN / "minidocker"), "--root", str(root), "import", "--change",
                    'CMD ["sh"]', str(REPO / "images" / "busybox"), "busybox:latest"],
                   check=True, stdout=subprocess.DEVNULL)
    log = tmp / "md.log"
    side.proc = subprocess.Popen([str(BIN / "minidocker"), "--root", str(root), "system",
                                  "service", "--time", "0", f"unix://{side.socket}"],
                                 stdin=subprocess.DEVNULL, stdout=log.open("wb"),
                                 stderr=subprocess.STDOUT)
    side.wait_ready(log)
    return side


def start_dockerd(tmp: Path, cgroup_parent: str) -> Side:
    d = tmp / "dockerd"
    d.mkdir()
    (d / "daemon.json").write_text("{}")
    side = Side("dockerd", d / "docker.sock", tmp / "d-client")
    log = tmp / "dockerd.log"
    side.proc = subprocess.Popen(
        [DOCKERD, "--config-file", str(d / "daemon.json"), "--data-root", str(d / "data"),
         "--exec-root", str(d / "exec"), "--pidfile", str(d / "docker.pid"),
         "-H", f"unix://{side.socket}", "--cgroup-parent", cgroup_parent,
         "--iptables=false", "--ip6tables=false", "--ip-forward=false", "--ip-masq=false",
         "--bridge=none"],
        stdin=subprocess.DEVNULL, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    side.wait_ready(log)
    archive = tmp / "busybox.tar"
    subprocess.run([str(BIN / "minidocker"), "--root", str(tmp / "md"), "save", "-o",
                    str(archive), "busybox:latest"], check=True)
    side.docker("load", "-i", str(archive))
    return side


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def report(what: str, ours: list[float], theirs: list[float], goal: float) -> None:
    a, b = median_ms(ours), median_ms(theirs)
    ratio = a / b if b else float("inf")
    verdict = "met" if ratio <= goal else "NOT met"
    print(f"{what:<44} minidocker {a:7.1f} ms   dockerd {b:7.1f} ms   ratio {ratio:.2f}"
          f"   (goal <= {goal:g}: {verdict})", flush=True)


def bench_run(ours: Side, theirs: Side, runs: int) -> None:
    args = ("run", "--rm", "--network", "none", "busybox", "true")
    for side in (ours, theirs):  # warm-up: caches, first-run work
        side.timed(*args)
    a: list[float] = []
    b: list[float] = []
    for _ in range(runs):
        a.append(ours.timed(*args))
        b.append(theirs.timed(*args))
    report("docker run --rm busybox true", a, b, 0.5)


def bench_ps(ours: Side, theirs: Side, containers: int, runs: int) -> None:
    for side in (ours, theirs):
        for _ in range(containers):
            side.docker("run", "-d", "--network", "none", "busybox", "sleep", "3600")
        count = len(side.docker("ps", "-q").split())
        if count != containers:
            raise RuntimeError(f"{side.name}: {count} containers run, not {containers}")
    for side in (ours, theirs):
        side.timed("ps")
    a: list[float] = []
    b: list[float] = []
    for _ in range(runs):
        a.append(ours.timed("ps"))
        b.append(theirs.timed("ps"))
    report(f"docker ps with {containers} containers", a, b, 1.0)


def cleanup_cgroups(parent: str) -> None:
    """dockerd's cgroups under our --cgroup-parent, in every v1 hierarchy (and v2)."""
    base = Path("/sys/fs/cgroup")
    for top in [base, *[p for p in base.iterdir() if p.is_dir()]] if base.exists() else []:
        path = top / parent.strip("/")
        if not path.is_dir():
            continue
        for sub in sorted(path.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            if sub.is_dir():
                try:
                    sub.rmdir()
                except OSError:
                    pass
        try:
            path.rmdir()
        except OSError:
            pass


def unmount_under(path: Path) -> None:
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    for point in sorted((p for p in points if p.startswith(str(path) + "/")), reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--containers", type=int, default=100)
    args = p.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_api: run as root")
    for program in (DOCKER, DOCKERD):
        if not os.access(program, os.X_OK):
            sys.exit(f"bench_api: {program} is missing: make setup-dev (docker.io)")
    if not (REPO / "images" / "busybox" / "bin" / "busybox").exists():
        sys.exit("bench_api: images/busybox is missing: make setup")
    tmp = Path(tempfile.mkdtemp(prefix="bench-api-"))
    cgroup_parent = f"/mdbench-api-{os.getpid()}"
    sides: list[Side] = []
    try:
        ours = start_ours(tmp)
        sides.append(ours)
        theirs = start_dockerd(tmp, cgroup_parent)
        sides.append(theirs)
        print(f"bench_api: docker {theirs.docker('version', '-f', '{{.Client.Version}}').strip()}"
              f" client; dockerd {theirs.docker('version', '-f', '{{.Server.Version}}').strip()}"
              f"; {args.runs} alternating runs, medians", flush=True)
        bench_run(ours, theirs, args.runs)
        bench_ps(ours, theirs, args.containers, args.runs)
    finally:
        for side in sides:
            try:
                side.remove_all()
            except Exception as e:  # noqa: BLE001 - go on cleaning
                print(f"bench_api: {side.name}: {e}", file=sys.stderr)
            side.stop()
        if (tmp / "md").exists():
            from tests.integration.network.private import remove_networks
            remove_networks(tmp / "md")
        unmount_under(tmp)
        cleanup_cgroups(cgroup_parent)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(REPO / "src"))
    sys.exit(main())
