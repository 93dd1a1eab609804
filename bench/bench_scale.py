"""How the engine's costs grow with the number of containers on one machine, side by side
with podman (Debian's package), as root, on each side's default (bridge) network.

For N = 10, 100, 1000 running containers (`run -d IMAGE sleep`, started in parallel
batches of 50), at each N:
  - memory per container: PSS (/proc/<pid>/smaps_rollup) of every process that stays with
    the containers outside them (ours: the monitors, or the supervisor; podman: conmon),
    processes serving all of them divided among the N;
  - `ps -a` (median of 5);
  - `run -d` of the next container, and its `rm -f` (median of 5 pairs).
Then, with the largest N still running, records are added up to --records (default
10,000: the running ones and exited ones) and `ps`, `ps -q`, `ps -a`, `ps -aq`,
`inspect NAME` and `inspect ID-PREFIX` are timed (medians of 7; with --listing-only the
containers are started up to the largest N and only this listing is measured). The
exited records are made by the service layer's create and then written `exited` as the
engine writes them (starting 9,000 containers would take most of an hour here). Last,
`rm -f` of everything in batches of 50 in parallel, and a check that nothing is left:
processes, mounts, cgroups, veths, nft rules, leases.

podman is measured at each N up to --podman-max (its records: --podman-records, default
none: `podman create` takes ~100 ms each here). The table goes to stdout and the plot to
--plot (a PNG, matplotlib from the dev extras). The load average is printed with the
figures: the machine may be shared.

usage: python bench/bench_scale.py [--ns 10,100,1000] [--records N] [--no-podman]
                                   [--podman-max N] [--podman-records N] [--plot FILE]
                                   [--listing-only] [--settle SECONDS]
e.g. the listing of 10,000 records, 300 running:
    python bench/bench_scale.py --ns 300 --records 10000 --no-podman --listing-only \
        --settle 240
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engine import (  # noqa: E402
    BIN,
    REPO,
    HostState,
    Tools,
    ensure_podman,
    pss_kib,
    remove_networks,
    reset_podman,
    timed,
)

BATCH = 50
REPEATS = 5


def load() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def run(cmd: list[str], env: dict[str, str] | None = None) -> float:
    """Run a command; its wall-clock time. RuntimeError when it fails."""
    try:
        return timed(cmd, env)
    except SystemExit as e:  # bench_engine's way of failing: here the caller decides
        raise RuntimeError(str(e.code)) from None


def parallel(cmds: list[list[str]], env: dict[str, str] | None = None) -> list[float]:
    """Each command run, BATCH at a time in parallel."""
    with ThreadPoolExecutor(BATCH) as pool:
        return list(pool.map(lambda c: run(c, env), cmds))


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


# ---- what stays with the containers ------------------------------------------------------


def _host_pidns() -> str:
    return os.readlink("/proc/self/ns/pid")


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


def processes_of(marker: str) -> dict[int, str]:
    """pid -> comm of every process in the host's PID namespace that names `marker` (our
    root, podman's root) in its command line, and of their descendants outside any
    container: what stays with the containers outside them."""
    host = _host_pidns()
    parent: dict[int, int] = {}
    found: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            if os.readlink(f"/proc/{pid}/ns/pid") != host:
                continue  # inside a container
        except OSError:
            continue
        stat = _read(f"/proc/{pid}/stat")
        if not stat:
            continue
        fields = stat[stat.rindex(b")") + 2:].split()
        parent[pid] = int(fields[1])
        if marker.encode() in _read(f"/proc/{pid}/cmdline"):
            found[pid] = _read(f"/proc/{pid}/comm").decode().strip()
    changed = True
    while changed:
        changed = False
        for pid, ppid in parent.items():
            if ppid in found and pid not in found:
                found[pid] = _read(f"/proc/{pid}/comm").decode().strip()
                changed = True
    return found


def memory(marker: str, count: int) -> tuple[float, str]:
    """(MB of PSS per container, what the processes are)."""
    procs = processes_of(marker)
    kib = sum(pss_kib(pid) for pid in procs)
    kinds: dict[str, int] = {}
    for comm in procs.values():
        kinds[comm] = kinds.get(comm, 0) + 1
    what = ", ".join(f"{n} {c}" for c, n in sorted(kinds.items()))
    return kib / 1024 / max(1, count), what


# ---- one side --------------------------------------------------------------------------


class Side:
    """One engine's commands, on the default network."""

    name = ""

    def __init__(self, tools: Tools):
        self.t = tools
        self.running: list[str] = []
        self.records = 0
        self.serial = 0

    def cmd(self, *args: str) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str] | None:
        return None

    def marker(self) -> str:
        raise NotImplementedError

    def run_d(self, name: str) -> list[str]:
        raise NotImplementedError

    def rm_f(self, *names: str) -> list[str]:
        return self.cmd("rm", "-f", *names)

    def next_name(self) -> str:
        self.serial += 1
        return f"s{self.serial}"

    def grow(self, n: int) -> None:
        names = [self.next_name() for _ in range(n - len(self.running))]
        parallel([self.run_d(name) for name in names], self.env())
        self.running += names

    def measure(self, n: int) -> dict[str, Any]:
        self.grow(n)
        time.sleep(1.0)  # let the last monitors settle before their memory is read
        mb, what = memory(self.marker(), n)
        ps = [run(self.cmd("ps", "-a"), self.env()) for _ in range(REPEATS)]
        runs, rms = [], []
        for _ in range(REPEATS):
            name = self.next_name()
            runs.append(run(self.run_d(name), self.env()))
            rms.append(run(self.rm_f(name), self.env()))
        return {"n": n, "mem": mb, "procs": what, "ps": median_ms(ps),
                "run": median_ms(runs), "rm": median_ms(rms), "load": load()}

    def add_records(self, total: int) -> None:
        raise NotImplementedError

    def listing(self, settle: float = 0) -> dict[str, float]:
        """ps, ps -q, ps -a, ps -aq, inspect of a name and of an id prefix: medians of 7
        (ms), the load average beside them; first, up to `settle` seconds for the load
        that making the records raised to come down (a 1-minute average under 1.5)."""
        deadline = time.monotonic() + settle
        while time.monotonic() < deadline and float(load().split()[0]) >= 1.5:
            time.sleep(5)
        ids = subprocess.run(self.cmd("ps", "-aq"), capture_output=True, text=True,
                             env=self.env()).stdout.split()
        timings: dict[str, float] = {}
        timings["load before"] = load()  # type: ignore[assignment]
        for label, args in (("ps", ["ps"]), ("ps -q", ["ps", "-q"]), ("ps -a", ["ps", "-a"]),
                            ("ps -aq", ["ps", "-aq"]),
                            ("inspect NAME", ["inspect", f"rec{len(ids) // 3}"]),
                            ("inspect ID", ["inspect", ids[len(ids) // 2][:12]])):
            timings[label] = median_ms([run(self.cmd(*args), self.env()) for _ in range(7)])
        timings["records"] = len(ids)
        timings["load after"] = load()  # type: ignore[assignment]
        return timings

    def bench(self, ns: list[int], most: int, records: int,
              results: dict[str, list[dict[str, Any]]],
              listings: dict[str, dict[str, float]], listing_only: bool = False,
              settle: float = 0) -> None:
        """Measure at each N (up to `most`), then list `records`, then remove it all."""
        results[self.name] = []
        for n in ns:
            if n > most:
                break
            if listing_only:
                self.grow(n)
                continue
            r = self.measure(n)
            results[self.name].append(r)
            print(f"{self.name} N={n}: {r}", flush=True)
        if records:
            self.add_records(records)
            listings[self.name] = self.listing(settle)
            print(f"{self.name} listing: {listings[self.name]}", flush=True)
        took = self.remove_all()
        print(f"{self.name}: rm -f of everything took {took:.1f} s; left behind: "
              f"{', '.join(self.leftovers()) or 'nothing'}", flush=True)

    def leftovers(self) -> list[str]:
        return []

    def remove_all(self) -> float:
        """rm -f of every container, BATCH in parallel; the time it took."""
        out = subprocess.run(self.cmd("ps", "-aq"), capture_output=True, text=True,
                             env=self.env()).stdout.split()
        t0 = time.perf_counter()
        chunks = [out[i:i + 20] for i in range(0, len(out), 20)]
        errors = []

        def remove(cmd: list[str]) -> None:
            try:
                run(cmd, self.env())
            except RuntimeError as e:  # reported; the caller's cleanup goes on
                errors.append(str(e))
        with ThreadPoolExecutor(BATCH) as pool:
            list(pool.map(remove, [self.rm_f(*chunk) for chunk in chunks]))
        self.running = []
        for error in errors[:3]:
            print(f"bench_scale: {self.name}: {error}", flush=True)
        return time.perf_counter() - t0


class Ours(Side):
    name = "minidocker"

    def cmd(self, *args: str) -> list[str]:
        return [*self.t.ours, *args]

    def marker(self) -> str:
        return self.t.ours[2]

    def run_d(self, name: str) -> list[str]:
        return self.cmd("run", "-d", "--name", name, self.t.image, "sleep", "36000")

    def add_records(self, total: int) -> None:
        """Records up to `total`: created by the service layer, then made `exited` as the
        monitor writes it (see the module's docstring)."""
        have = len(subprocess.run(self.cmd("ps", "-aq"), capture_output=True,
                                  text=True).stdout.split())
        code = f"""
import sys, time
sys.path.insert(0, {str(REPO / 'src')!r})
from minidocker.engine.service import Context, containers
from minidocker.engine.records import Record, now
ctx = Context({self.t.ours[2]!r})
for i in range({total - have}):
    cid = containers.create(ctx, {{"Image": {self.t.image!r}, "Cmd": ["true"],
                                   "HostConfig": {{"NetworkMode": "none"}}}},
                            name=f"rec{{i}}")["Id"]
    Record(ctx.root, cid).update(Status="exited", ExitCode=i % 3, StartedAt=now(),
                                 FinishedAt=now())
"""
        self.records = total
        subprocess.run([sys.executable, "-c", code], check=True)

    def leftovers(self) -> list[str]:
        """What a removed container could leave, found on the host."""
        root = self.t.ours[2]
        left = []
        procs = processes_of(root)
        if procs:
            left.append(f"{len(procs)} processes ({', '.join(sorted(set(procs.values())))})")
        mounts = [line for line in _read("/proc/self/mountinfo").decode().splitlines()
                  if root in line]
        if mounts:
            left.append(f"{len(mounts)} mounts")
        cgroups = 0
        for base in Path("/sys/fs/cgroup").glob("*/minidocker"):
            cgroups += sum(1 for p in base.iterdir() if p.is_dir() and len(p.name) == 64
                           and (Path(root) / "containers" / p.name).exists())
        if cgroups:
            left.append(f"{cgroups} cgroups")
        net = Path(root) / "network"
        ipam = json.loads((net / "ipam.json").read_text()) if (net / "ipam.json").exists() \
            else {}
        leases = sum(len(s.get("leases", {})) for s in ipam.get("subnets", {}).values())
        if leases:
            left.append(f"{leases} leases")
        eps = json.loads((net / "endpoints.json").read_text()) \
            if (net / "endpoints.json").exists() else {}
        if any(eps.values()):
            left.append(f"{sum(len(e) for e in eps.values())} endpoints")
        nets = json.loads((net / "networks.json").read_text()) \
            if (net / "networks.json").exists() else {}
        for n in nets.values():
            bridge = n.get("bridge", "")
            brif = Path(f"/sys/class/net/{bridge}/brif")
            if brif.exists() and any(brif.iterdir()):
                left.append(f"{len(list(brif.iterdir()))} veths on {bridge}")
        records = list((Path(root) / "containers").glob("*/config.json"))
        if records:
            left.append(f"{len(records)} records")
        return left


class Podman(Side):
    name = "podman"

    def cmd(self, *args: str) -> list[str]:
        return [*self.t.podman_cmd, *args]

    def env(self) -> dict[str, str] | None:
        return self.t.podman_env

    def marker(self) -> str:
        return str(self.t.podman_root)

    def run_d(self, name: str) -> list[str]:
        return self.cmd("run", "-d", "--name", name, "--rootfs", self.t.image, "sleep", "36000")

    def rm_f(self, *names: str) -> list[str]:
        return self.cmd("rm", "-f", "-t", "0", *names)

    def add_records(self, total: int) -> None:
        have = len(subprocess.run(self.cmd("ps", "-aq"), capture_output=True, text=True,
                                  env=self.env()).stdout.split())
        parallel([self.cmd("create", "--name", f"rec{i}", "--rootfs", self.t.image, "true")
                  for i in range(total - have)], self.env())

# ---- report --------------------------------------------------------------------------------


def table(results: dict[str, list[dict[str, Any]]]) -> str:
    lines = ["| N | engine | memory per container (MB PSS) | ps -a (ms) | run -d next (ms) "
             "| rm -f (ms) | load | processes |", "|-|-|-|-|-|-|-|-|"]
    ns = sorted({r["n"] for rows in results.values() for r in rows})
    for n in ns:
        for side, rows in results.items():
            for r in rows:
                if r["n"] == n:
                    lines.append(f"| {n} | {side} | {r['mem']:.2f} | {r['ps']:.0f} | "
                                 f"{r['run']:.0f} | {r['rm']:.0f} | {r['load']} | "
                                 f"{r['procs']} |")
    return "\n".join(lines)


def plot(results: dict[str, list[dict[str, Any]]], listings: dict[str, dict[str, float]],
         path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 4, figsize=(18, 4.5))
    for ax, key, title in zip(axes, ("mem", "ps", "run", "rm"),
                              ("memory per container (MB PSS)", "ps -a (ms)",
                               "run -d of the next container (ms)", "rm -f (ms)"), strict=True):
        for side, rows in results.items():
            if rows:
                ax.plot([r["n"] for r in rows], [r[key] for r in rows], marker="o",
                        label=side)
        for side, timings in listings.items():
            if key == "ps" and timings:
                ax.plot([timings["records"]], [timings["ps -a"]], marker="*", markersize=12,
                        linestyle="none", label=f"{side}, {timings['records']:.0f} records")
        if key == "mem":
            ax.axhline(0.34, color="gray", linestyle="--", linewidth=0.8,
                       label="conmon 0.34 MB (goal)")
        if key == "ps":
            ax.axhline(100, color="gray", linestyle="--", linewidth=0.8, label="goal 100 ms")
        ax.set_xscale("log")
        ax.set_ylim(bottom=0)
        ax.set_xlabel("running containers (*: records)")
        ax.set_title(title)
        ax.grid(True, which="both", linewidth=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"bench_scale.py (load average at the end: {load()})")
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ns", default="10,100,1000")
    parser.add_argument("--records", type=int, default=10000)
    parser.add_argument("--no-podman", action="store_true")
    parser.add_argument("--podman-max", type=int, default=1000)
    parser.add_argument("--podman-records", type=int, default=0)
    parser.add_argument("--plot", type=Path, default=Path("bench-scale.png"))
    parser.add_argument("--listing-only", action="store_true",
                        help="start the largest N, then only list --records")
    parser.add_argument("--settle", type=float, default=0,
                        help="before the listing, wait up to this many seconds for the "
                        "1-minute load average to fall under 1.5")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_scale: run as root")
    ns = sorted(int(x) for x in args.ns.split(","))
    podman = None if args.no_podman else ensure_podman()
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "src")],
                   stdout=subprocess.DEVNULL)
    print(f"bench_scale: {BIN / 'minidocker'}; load average {load()}", flush=True)
    before = HostState()
    results: dict[str, list[dict[str, Any]]] = {}
    listings: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp_name:
        tmp = Path(tmp_name)
        image = tmp / "busybox"
        subprocess.run([str(REPO / "scripts" / "build-busybox-rootfs"), str(image)],
                       check=True, stdout=subprocess.DEVNULL)
        tools = Tools(tmp, image, podman)
        ours = Ours(tools)
        try:
            ours.bench(ns, ns[-1], args.records, results, listings, args.listing_only,
                       args.settle)
        finally:
            if ours.running or ours.records:
                try:
                    ours.remove_all()
                except RuntimeError as e:
                    print(f"bench_scale: {e}")
            remove_networks(tools.ours[2])
        if podman:
            theirs = Podman(tools)
            try:
                theirs.bench(ns, args.podman_max, args.podman_records, results, listings,
                             args.listing_only, args.settle)
            finally:
                reset_podman(tools, before)
    print()
    if not args.listing_only:
        print(table(results))
    for name, timings in listings.items():
        print(f"\n{name}, {timings['records']:.0f} records ({ns[-1]} running): " +
              ", ".join(f"{k} {v:.0f} ms" for k, v in timings.items()
                        if k not in ("records", "load before", "load after")) +
              f" (load average {timings['load before']} before, {timings['load after']} "
              "after)")
    if args.listing_only:
        return 0
    plot(results, listings, args.plot)
    print(f"\nplot: {args.plot}; load average {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
