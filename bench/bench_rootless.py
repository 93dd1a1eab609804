"""Rootless minidocker side by side with rootless podman (Debian's 4.3, `--runtime runc`),
run by the same ordinary user, on the same busybox image (imported into each store),
alternating:

  1. `run --rm IMAGE true`: medians and the ratio, with `--network none` and on each
     side's default network (ours: the rootless bridge; podman's: slirp4netns per
     container). Goal: ours at most 1/3 of podman's.
  2. published-port throughput: busybox httpd in a container serving a 100 MB file,
     `-p 127.0.0.1:PORT:80`, fetched by curl from the host's loopback; the median of
     a few downloads, MB/s (ours: our splice forwarder; podman's: rootlessport).

Root starts it: it makes a user for the bench (with subordinate ids), gives it a copy of
the source, and removes the user, its processes and files at the end. /dev/net/tun is
0600 on the development VM: it is opened (0666) for the bench and put back after, as both
engines' outbound networking needs it.

usage: python bench/bench_rootless.py [--runs N] [--downloads N] [--no-podman]
"""

from __future__ import annotations

import argparse
import os
import pwd
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = shutil.which("python3", path="/usr/bin:/bin") or sys.executable
LAUNCH = ("import sys; sys.path.insert(0, sys.argv.pop(1)); "
          "from minidocker.cli.main import entry; sys.argv[0] = 'minidocker'; entry()")
SERVE = ("mkdir -p /www && dd if=/dev/zero of=/www/big bs=1M count=100 2>/dev/null && "
         "exec httpd -f -p 80 -h /www")


class BenchUser:
    def __init__(self) -> None:
        self.name = f"mdbench{uuid.uuid4().hex[:4]}"
        self.home = Path(tempfile.mkdtemp(prefix=f"{self.name}-", dir="/tmp"))
        subprocess.run(["useradd", "--no-create-home", "--home-dir", str(self.home),
                        "--shell", "/bin/sh", self.name], check=True, capture_output=True)
        entry = pwd.getpwnam(self.name)
        self.uid, self.gid = entry.pw_uid, entry.pw_gid
        self.subuids = [tuple(int(x) for x in line.split(":")[1:])
                        for line in Path("/etc/subuid").read_text().splitlines()
                        if line.startswith(self.name + ":")]
        os.chown(self.home, self.uid, self.gid)
        self.home.chmod(0o755)
        run_dir = self.home / "run"
        run_dir.mkdir(mode=0o700)
        os.chown(run_dir, self.uid, self.gid)
        self.src = self.home / "src"
        shutil.copytree(REPO / "src" / "minidocker", self.src / "minidocker",
                        ignore=shutil.ignore_patterns("__pycache__"))
        subprocess.run([PYTHON, "-m", "compileall", "-q", str(self.src)], check=True,
                       env={"PATH": "/usr/bin:/bin"})
        conf = self.home / "containers.conf"  # podman's default ulimits fail here
        conf.write_text('[containers]\ndefault_ulimits = ["nofile=20000:20000",'
                        '"nproc=32768:32768"]\n')
        self.env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(self.home),
                    "XDG_RUNTIME_DIR": str(run_dir), "LANG": "C.UTF-8",
                    "CONTAINERS_CONF": str(conf)}

    def ours(self, *args: str) -> list[str]:
        return [PYTHON, "-S", "-c", LAUNCH, str(self.src), *args]

    @staticmethod
    def podman(*args: str) -> list[str]:
        return ["podman", "--runtime", "runc", *args]

    def run(self, argv: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(argv, cwd=self.home, env=self.env, user=self.uid,
                              group=self.gid, extra_groups=[], capture_output=True,
                              text=True, stdin=subprocess.DEVNULL, timeout=300)
        if check and proc.returncode != 0:
            sys.exit(f"bench_rootless: {' '.join(argv[5:9] if argv[0] == PYTHON else argv[:6])}"
                     f"... failed: {proc.stderr.strip()}")
        return proc

    def timed(self, argv: list[str]) -> float:
        t0 = time.perf_counter()
        self.run(argv)
        return time.perf_counter() - t0

    def remove(self) -> None:
        ids = [range(self.uid, self.uid + 1)] + [range(a, a + n) for a, n in self.subuids]
        for _ in range(100):
            pids = []
            for entry in os.listdir("/proc"):
                try:
                    if entry.isdigit() and any(os.stat(f"/proc/{entry}").st_uid in r
                                               for r in ids):
                        pids.append(int(entry))
                except OSError:
                    pass
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.1)
        subprocess.run(["userdel", self.name], capture_output=True)
        for path in ("/etc/subuid", "/etc/subgid"):
            lines = Path(path).read_text().splitlines(keepends=True)
            Path(path).write_text("".join(x for x in lines
                                          if not x.startswith(self.name + ":")))
        shutil.rmtree(self.home, ignore_errors=True)


def busybox_tar(dest: Path) -> None:
    rootfs = REPO / "images" / "busybox"
    if not (rootfs / "bin" / "busybox").exists():
        subprocess.run([str(REPO / "scripts" / "build-busybox-rootfs"), str(rootfs)],
                       check=True)
    subprocess.run(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(dest), "."],
                   check=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fetch_rate(port: int) -> float:
    """MB/s of one download of /big (after waiting for the server to answer)."""
    deadline = time.monotonic() + 30
    while True:
        proc = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w",
                               "%{http_code} %{size_download} %{time_total}",
                               f"http://127.0.0.1:{port}/big"],
                              capture_output=True, text=True, timeout=120)
        code, size, seconds = (proc.stdout.split() + ["", "", ""])[:3]
        if code == "200" and int(size) == 100 << 20:
            return int(size) / float(seconds) / 1e6
        if time.monotonic() > deadline:
            sys.exit(f"bench_rootless: no answer on port {port}: {proc.stdout} {proc.stderr}")
        time.sleep(0.2)


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def bench_run(user: BenchUser, runs: int, podman: bool, network: list[str]) -> None:
    label = "--network none" if network else "default network"
    ours_cmd = user.ours("run", "--rm", *network, "bb:1", "true")
    theirs_cmd = user.podman("run", "--rm", *network, "bb:1", "true")
    user.timed(ours_cmd)
    if podman:
        user.timed(theirs_cmd)
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(runs):
        ours.append(user.timed(ours_cmd))
        if podman:
            theirs.append(user.timed(theirs_cmd))
    print(f"run --rm IMAGE true, {label} ({runs} runs each, medians):")
    print(f"    minidocker (rootless) {median_ms(ours):7.1f} ms")
    if podman:
        print(f"    podman (rootless)     {median_ms(theirs):7.1f} ms")
        print(f"    ratio                 {median_ms(ours) / median_ms(theirs):7.2f}"
              "   (goal: <= 0.33)")


def bench_ports(user: BenchUser, downloads: int, podman: bool) -> None:
    rates: dict[str, list[float]] = {"minidocker": [], "podman": []}
    sides = [("minidocker", user.ours)] + ([("podman", user.podman)] if podman else [])
    for side, cmd in sides:
        port = free_port()
        user.run(cmd("run", "-d", "--name", "web", "-p", f"127.0.0.1:{port}:80", "bb:1",
                     "sh", "-c", SERVE))
        try:
            fetch_rate(port)  # warm: the file is written, the server answers
            for _ in range(downloads):
                rates[side].append(fetch_rate(port))
        finally:
            user.run(cmd("rm", "-f", "web"), check=False)
    print(f"published port, curl of a 100 MB file from 127.0.0.1 ({downloads} downloads, "
          "median):")
    for side, _ in sides:
        print(f"    {side:<21} {statistics.median(rates[side]):7.0f} MB/s")
    if podman:
        print(f"    ratio                 "
              f"{statistics.median(rates['minidocker']) / statistics.median(rates['podman']):7.2f}"
              "   (higher is better)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--downloads", type=int, default=5)
    ap.add_argument("--no-podman", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_rootless: run it as root (it makes the user it benches as)")
    podman = not args.no_podman and shutil.which("podman") is not None
    if not args.no_podman and not podman:
        print("bench_rootless: podman is not installed: ours alone", flush=True)
    tun_mode = os.stat("/dev/net/tun").st_mode & 0o7777
    user = BenchUser()
    try:
        os.chmod("/dev/net/tun", 0o666)
        tar = user.home / "bb.tar"
        busybox_tar(tar)
        os.chown(tar, user.uid, user.gid)
        user.run(user.ours("import", str(tar), "bb:1"))
        if podman:
            user.run(user.podman("import", str(tar), "bb:1"))
        bench_run(user, args.runs, podman, ["--network", "none"])
        bench_run(user, args.runs, podman, [])
        bench_ports(user, args.downloads, podman)
    finally:
        os.chmod("/dev/net/tun", tun_mode)
        user.remove()
    return 0


if __name__ == "__main__":
    sys.exit(main())
