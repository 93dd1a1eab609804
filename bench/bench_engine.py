"""minidocker side by side with podman (Debian's package), as root, same busybox rootfs,
`--network none`, alternating runs:

  1. `run --rm IMAGE true`: median times and the ratio (goal: ours <= 1/3 of podman's),
     with `--network none` and then on each side's default (bridge) network;
  2. memory per container for 100 `run -d IMAGE sleep`: PSS of the processes that stay
     with each container (our monitor; podman's conmon), from /proc/<pid>/smaps_rollup;
  3. `ps -a` with 1000 containers (goal: under 100 ms).

--baseline SRC also times `run --rm --network none` with the minidocker of another source
tree (`git archive COMMIT src | tar -x -C DIR`; pass DIR/src), alternating: a change
against its parent. --trace also times ours with `--trace FILE` and prints its cost.

podman is installed with apt-get when missing; its default ulimits fail here (no
CAP_SYS_RESOURCE in the bounding set), so it gets a containers.conf that sets them.

usage: python bench/bench_engine.py [--runs N] [--containers N] [--ps N] [--no-podman]
                                   [--baseline SRC] [--trace]
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
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def ensure_podman() -> str | None:
    path = shutil.which("podman")
    if path:
        return path
    print("bench_engine: installing podman (apt-get)", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "podman"],
                   env=env, stdout=subprocess.DEVNULL, check=False)
    return shutil.which("podman")


def timed(cmd: list[str], env: dict[str, str] | None = None) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, env=env)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"bench_engine: {' '.join(cmd[:6])}... failed: "
                 f"{proc.stderr.decode(errors='replace').strip()}")
    return elapsed


def pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def monitor_pids(root: str) -> list[int]:
    """Our monitors: the MonitorPid of each record under `root` (their command line is a
    `python -c` that names no file), each once (the root's supervisor watches many)."""
    out: list[int] = []
    containers = Path(root) / "containers"
    for state in containers.glob("*/state.json"):
        try:
            pid = int(json.loads(state.read_text()).get("MonitorPid") or 0)
        except (OSError, ValueError):
            continue
        if pid and pid not in out and os.path.exists(f"/proc/{pid}"):
            out.append(pid)
    return out


def pids_of(pattern: str) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if pattern in cmdline:
            out.append(int(entry))
    return out


class Tools:
    def __init__(self, tmp: Path, image: Path, podman: str | None):
        self.image = str(image)
        self.ours = [str(BIN / "minidocker"), "--root", str(tmp / "md")]
        self.podman = podman
        self.podman_root = tmp / "podman"
        conf = tmp / "containers.conf"
        conf.write_text('[containers]\ndefault_ulimits = ["nofile=20000:20000",'
                        '"nproc=32768:32768"]\n')
        self.podman_env = {**os.environ, "CONTAINERS_CONF": str(conf)}
        self.podman_cmd = [podman or "podman", "--root", str(tmp / "podman" / "storage"),
                           "--runroot", str(tmp / "podman" / "run"), "--runtime", "runc",
                           # its own tmp dir: `system reset` at the end would remove
                           # the host's /run/libpod
                           "--tmpdir", str(tmp / "podman" / "tmp")]

    def ours_run(self, *args: str) -> list[str]:
        return [*self.ours, "run", "--network", "none", *args]

    def podman_run(self, *args: str) -> list[str]:
        return [*self.podman_cmd, "run", "--network", "none", *args]


def bench_run(t: Tools, runs: int) -> None:
    ours: list[float] = []
    theirs: list[float] = []
    timed(t.ours_run("--rm", t.image, "true"))  # warm caches
    if t.podman:
        timed(t.podman_run("--rm", "--rootfs", t.image, "true"), t.podman_env)
    for _ in range(runs):
        ours.append(timed(t.ours_run("--rm", t.image, "true")))
        if t.podman:
            theirs.append(timed(t.podman_run("--rm", "--rootfs", t.image, "true"),
                                t.podman_env))
    m_ours = statistics.median(ours) * 1000
    print(f"run --rm IMAGE true      minidocker {m_ours:7.1f} ms (median of {runs})")
    if theirs:
        m_theirs = statistics.median(theirs) * 1000
        print(f"                         podman     {m_theirs:7.1f} ms")
        print(f"                         ratio      {m_ours / m_theirs:7.2f} (goal <= 0.33)")


def bench_against(t: Tools, runs: int, baseline: Path | None, trace: bool) -> None:
    """`run --rm --network none IMAGE true`: ours against another source tree's and/or
    ours with --trace, alternating in one loop."""
    from baseline import launcher
    variants: dict[str, list[str]] = {"minidocker": t.ours_run("--rm", t.image, "true")}
    if baseline is not None:
        other = launcher(t.ours[0], baseline, Path(t.ours[2]).parent)
        variants["baseline"] = [other, *t.ours[1:], "run", "--network", "none", "--rm",
                                t.image, "true"]
    trace_file = Path(t.ours[2]).parent / "trace.json"
    if trace:
        variants["traced"] = t.ours_run("--rm", "--trace", str(trace_file), t.image, "true")
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for cmd in variants.values():
        timed(cmd)  # warm caches
    for _ in range(runs):
        for name, cmd in variants.items():
            trace_file.unlink(missing_ok=True)  # one trace per run, as a user makes it
            samples[name].append(timed(cmd))
    med = {name: statistics.median(ts) * 1000 for name, ts in samples.items()}
    print(f"run --rm --network none  minidocker {med['minidocker']:7.1f} ms (median of {runs})")
    if "baseline" in med:
        print(f"                         baseline   {med['baseline']:7.1f} ms ({baseline}); "
              f"ratio {med['minidocker'] / med['baseline']:.3f}")
    if "traced" in med:
        events = trace_file.read_text().count("\n") - 1 if trace_file.exists() else 0
        print(f"                         --trace    {med['traced']:7.1f} ms: the trace costs "
              f"{med['traced'] - med['minidocker']:+.1f} ms ({events} events)")


def bench_run_bridge(t: Tools, runs: int) -> None:
    """`run --rm IMAGE true` on each side's default network: our `bridge` (veth, address,
    route, hosts file; teardown) against podman's default (CNI/netavark bridge)."""
    ours = [*t.ours, "run", "--rm", t.image, "true"]
    theirs = [*t.podman_cmd, "run", "--rm", "--rootfs", t.image, "true"]
    none = t.ours_run("--rm", t.image, "true")
    timed(ours)  # warm caches; makes the bridge and its rules once
    if t.podman:
        timed(theirs, t.podman_env)
    samples: dict[str, list[float]] = {"ours": [], "none": [], "podman": []}
    for _ in range(runs):
        samples["ours"].append(timed(ours))
        samples["none"].append(timed(none))
        if t.podman:
            samples["podman"].append(timed(theirs, t.podman_env))
    m_ours = statistics.median(samples["ours"]) * 1000
    m_none = statistics.median(samples["none"]) * 1000
    print(f"run --rm IMAGE true,     minidocker {m_ours:7.1f} ms (median of {runs}; "
          f"--network none {m_none:.1f} ms)")
    print("  default network")
    if samples["podman"]:
        m_theirs = statistics.median(samples["podman"]) * 1000
        print(f"                         podman     {m_theirs:7.1f} ms")
        print(f"                         ratio      {m_ours / m_theirs:7.2f} (goal <= 0.33)")


def remove_networks(root: str) -> None:
    """Our default bridge and nft table of the bench's root (podman keeps its own)."""
    code = ("import sys\nfrom minidocker import network\nfrom minidocker.network.store "
            "import Store\nfor net in Store(sys.argv[1]).networks().values():\n"
            "    network.remove_network(sys.argv[1], net.name, predefined_ok=True)\n")
    subprocess.run([sys.executable, "-c", code, root], check=False)


# What podman's CNI bridge network leaves on the host after its containers are gone: the
# bridge, the iptables-nft tables its firewall/portmap plugins made (their CNI-* chains
# emptied, not deleted) and its IPAM state.
PODMAN_BRIDGE = "cni-podman0"
PODMAN_TABLES = {"ip nat", "ip filter", "ip6 nat", "ip6 filter"}
PODMAN_STATE_DIRS = ["/var/lib/cni", "/var/lib/cni/networks/podman"]


def nft_tables() -> set[str]:
    """The host's nft tables as "family name"."""
    out = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    return {line.split(None, 1)[1] for line in out.splitlines() if line.startswith("table ")}


class HostState:
    """What of podman's leftovers the host had before the bench."""

    def __init__(self) -> None:
        self.bridge = os.path.exists(f"/sys/class/net/{PODMAN_BRIDGE}")
        self.tables = nft_tables()
        self.dirs = {d for d in PODMAN_STATE_DIRS if os.path.exists(d)}


def remove_podman_leftovers(before: HostState) -> None:
    """Remove what podman added to the host during the bench, and only that: the bridge and
    state directories if they were not there before, and the nft tables that appeared,
    if they hold no rule (a rule would be someone else's: left alone, and said)."""
    if not before.bridge and os.path.exists(f"/sys/class/net/{PODMAN_BRIDGE}"):
        subprocess.run(["ip", "link", "del", PODMAN_BRIDGE], stderr=subprocess.DEVNULL)
    for table in sorted((nft_tables() - before.tables) & PODMAN_TABLES):
        listing = subprocess.run(["nft", "-j", "list", "table", *table.split()],
                                 capture_output=True, text=True)
        try:
            objects = json.loads(listing.stdout)["nftables"]
        except (ValueError, KeyError):
            continue
        if not all(_cni_only(obj) for obj in objects):
            print(f"bench_engine: nft table {table} appeared during the bench and holds "
                  "more than CNI's chains: left alone")
            continue
        subprocess.run(["nft", "delete", "table", *table.split()], stderr=subprocess.DEVNULL)
    for path in PODMAN_STATE_DIRS:  # the outermost new one goes, with what is in it
        if path not in before.dirs and os.path.exists(path):
            shutil.rmtree(path, ignore_errors=True)
            break


def reset_podman(t: Tools, before: HostState) -> None:
    """Every container of the bench's podman removed, its storage reset, and what its
    bridge network left on the host removed."""
    for args in (["rm", "-a", "-f", "-t", "0"], ["system", "reset", "-f"]):
        subprocess.run([*t.podman_cmd, *args], env=t.podman_env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    remove_podman_leftovers(before)


def _cni_only(obj: dict[str, Any]) -> bool:
    """An object of `nft -j list table` that CNI's plugins leave: a CNI-* chain or a base
    chain (FORWARD, POSTROUTING...), a rule in a CNI-* chain or one that jumps to one."""
    if "chain" in obj:
        return bool(obj["chain"]["name"].startswith("CNI-") or "hook" in obj["chain"])
    if "rule" in obj:
        rule = obj["rule"]
        return bool(rule["chain"].startswith("CNI-") or any(
            str(expr.get(verb, {}).get("target", "")).startswith("CNI-")
            for expr in rule.get("expr", []) for verb in ("jump", "goto")))
    return True  # metainfo, the table itself


def bench_memory(t: Tools, count: int) -> None:
    if count <= 0:
        return
    for i in range(count):
        timed(t.ours_run("-d", "--name", f"mem{i}", t.image, "sleep", "3600"))
    time.sleep(1.0)
    monitors = monitor_pids(t.ours[2])
    ours_kib = sum(pss_kib(p) for p in monitors)
    print(f"memory, {count} run -d       minidocker {ours_kib / max(1, count) / 1024:6.2f} MB "
          f"PSS per container ({len(monitors)} monitors)")
    subprocess.run([*t.ours, "rm", "-f", *[f"mem{i}" for i in range(count)]],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not t.podman:
        return
    names = []
    for i in range(count):
        names.append(f"mem{i}")
        timed(t.podman_run("-d", "--name", f"mem{i}", "--rootfs", t.image, "sleep", "3600"),
              t.podman_env)
    time.sleep(1.0)
    conmons = pids_of(str(t.podman_root))
    conmons = [p for p in conmons if _comm(p) == "conmon"]
    kib = sum(pss_kib(p) for p in conmons)
    print(f"                         podman     {kib / max(1, count) / 1024:6.2f} MB "
          f"PSS per container ({len(conmons)} conmon)")
    subprocess.run([*t.podman_cmd, "rm", "-f", "-t", "0", *names], env=t.podman_env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def bench_ps(t: Tools, count: int) -> None:
    if count <= 0:
        return
    root = t.ours[2]
    env = {**os.environ, "MINIDOCKER_ROOT": root}
    code = ("import sys\nfrom minidocker.engine import lifecycle\n"
            f"for i in range({count}):\n"
            f"    lifecycle.create({root!r}, {{'Image': {t.image!r}, 'Name': f'ps{{i}}', "
            "'Cmd': ['true'], 'HostConfig': {}, 'Mounts': []})\n")
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    samples = [timed([*t.ours, "ps", "-a"]) for _ in range(7)]
    quiet = [timed([*t.ours, "ps", "-aq"]) for _ in range(7)]
    print(f"ps -a, {count} containers  minidocker {statistics.median(samples) * 1000:7.1f} ms "
          f"(ps -aq {statistics.median(quiet) * 1000:.1f} ms; goal < 100 ms)")
    ids = subprocess.run([*t.ours, "ps", "-aq"], capture_output=True, text=True).stdout.split()
    for i in range(0, len(ids), 200):
        subprocess.run([*t.ours, "rm", *ids[i:i + 200]], stdout=subprocess.DEVNULL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--containers", type=int, default=100)
    parser.add_argument("--ps", type=int, default=1000)
    parser.add_argument("--no-podman", action="store_true")
    parser.add_argument("--baseline", type=Path, metavar="SRC",
                        help="also time the minidocker of this source tree")
    parser.add_argument("--trace", action="store_true",
                        help="also time ours with --trace FILE, and print the difference")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_engine: run as root")
    podman = None if args.no_podman else ensure_podman()
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "src")],
                   stdout=subprocess.DEVNULL)  # what an install does: no compile per run
    if not podman and not args.no_podman:
        print("bench_engine: podman not available: minidocker figures only")
    before = HostState()
    with tempfile.TemporaryDirectory(prefix="bench-engine-") as tmp_name:
        tmp = Path(tmp_name)
        image = tmp / "busybox"
        subprocess.run([str(REPO / "scripts" / "build-busybox-rootfs"), str(image)],
                       check=True, stdout=subprocess.DEVNULL)
        tools = Tools(tmp, image, podman)
        try:
            if args.baseline or args.trace:
                bench_against(tools, args.runs, args.baseline, args.trace)
            bench_run(tools, args.runs)
            bench_run_bridge(tools, args.runs)
            bench_memory(tools, args.containers)
            bench_ps(tools, args.ps)
        finally:
            subprocess.run([*tools.ours, "container", "prune", "-f"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            remove_networks(tools.ours[2])
            if podman:
                reset_podman(tools, before)
    return 0


if __name__ == "__main__":
    sys.exit(main())
