"""The fault suite's machinery: a private engine root with an image, the facts about what
it left on the host, the invariants checked after every fault, and the figures.

A trial injects one fault (kill -9 of the CLI or of a monitor at a random moment, a full
disk, a damaged file, a caller with odd signal settings), then checks:

- status from facts: no container is shown running whose init is dead, none is shown
  exited or created while processes run in its cgroup, and `ps -a` and `inspect` work;
- everything removable: `rm -f` of every container, `network rm`, `volume rm`, `rmi` of
  what the trial made, each exiting 0;
- nothing left: no mount under the root, no cgroup of any container the root ever had,
  no process of the root (monitors, container processes), no veth of its networks, no
  nft rule or IPAM lease without an owner, no temp file, no dangling name or lease.

Trials are counted per category in FIGURES; conftest prints them at the end. The number
of trials per case is MINIDOCKER_FAULT_TRIALS (default 1: `make test`); bench/
bench_faults.py runs the suite with more. MINIDOCKER_FAULT_SEED makes a run repeatable.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.conftest import run_captured
from tests.integration.engine.conftest import Engine

TRIALS = max(1, int(os.environ.get("MINIDOCKER_FAULT_TRIALS") or 1))
SEED = int(os.environ.get("MINIDOCKER_FAULT_SEED") or random.SystemRandom().randrange(1 << 30))
RANDOM = random.Random(SEED)
IMAGE = "fault:latest"
RUNNING = ("running", "paused", "restarting")


class Figures:
    """Trials and passes per category, and the first failures' descriptions. A category
    added with failure=False is an observation (how often something happened), counted
    apart from the trials."""

    def __init__(self) -> None:
        self.counts: dict[str, list[int]] = {}
        self.observed: set[str] = set()
        self.failures: list[str] = []

    def add(self, category: str, passed: bool, detail: str = "", failure: bool = True) -> None:
        """One trial; `failure` False for an observation that fails no test."""
        trials = self.counts.setdefault(category, [0, 0])
        trials[0] += 1
        trials[1] += int(passed)
        if not failure:
            self.observed.add(category)
        elif not passed:
            self.failures.append(f"{category}: {detail}")

    def lines(self) -> list[str]:
        real = {k: v for k, v in self.counts.items() if k not in self.observed}
        total = [sum(c[0] for c in real.values()), sum(c[1] for c in real.values())]
        out = [f"fault suite (seed {SEED}, {TRIALS} trial(s) per case): "
               f"{total[0]} trials, {total[1]} passed"]
        out += [f"  {name:<36} {t:>5} trials {p:>5} passed"
                for name, (t, p) in sorted(real.items())]
        out += [f"  observed: {name:<26} {p:>5} of {t:>5}"
                for name, (t, p) in sorted(self.counts.items()) if name in self.observed]
        return out


FIGURES = Figures()


class FaultRoot(Engine):
    """A private root (own bridge, nft table, subnets) holding IMAGE, imported from the
    busybox rootfs; it remembers every container and network id it ever had, so that
    leftovers are found even after their records are gone."""

    def __init__(self, root: Path, rootfs: Path):
        super().__init__(root, rootfs)
        self.rootfs = rootfs
        self.seen_containers: set[str] = set()
        self.seen_networks: set[str] = set()
        self.reported: set[str] = set()  # leftovers a failed trial already counted
        self.ok("import", str(rootfs), IMAGE)
        self.base_images = set(self.ok("images", "-q", "--no-trunc").split())
        self.ok("network", "inspect", "bridge")  # the default network's record
        self.note()

    # ---- facts ----------------------------------------------------------------------

    def note(self) -> None:
        self.seen_containers.update(self.container_dirs())
        try:
            networks = json.loads((self.root / "network" / "networks.json").read_text())
        except (OSError, ValueError):
            networks = {}
        self.seen_networks.update(n["id"] for n in networks.values() if isinstance(n, dict))

    def processes(self) -> list[str]:
        """Processes of this root: monitors (the root in their argv) and anything whose
        root directory or cwd is inside it (container processes)."""
        mine = str(self.root)
        found = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or int(pid) == os.getpid():
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
                with open(f"/proc/{pid}/stat", "rb") as f:
                    state = f.read().rsplit(b")", 1)[1].split()[0]
            except OSError:
                continue
            if state in (b"Z", b"X"):
                continue
            where = ""
            for link in ("root", "cwd"):
                try:
                    where = os.readlink(f"/proc/{pid}/{link}")
                except OSError:
                    continue
                if where.startswith(mine + "/"):
                    break
            else:
                where = ""
            if where or any(mine.encode() in a for a in argv):
                found.append(f"process {pid} {b' '.join(argv)[:120].decode(errors='replace')}")
        return found

    def cgroups(self, cid: str) -> list[str]:
        paths = [f"/sys/fs/cgroup/{c}/minidocker/{cid}"
                 for c in os.listdir("/sys/fs/cgroup")] + [f"/sys/fs/cgroup/minidocker/{cid}"]
        return [p for p in paths if os.path.isdir(p)]

    def cgroup_procs(self, cid: str) -> set[int]:
        pids: set[int] = set()
        for path in self.cgroups(cid):
            try:
                pids.update(int(x) for x in Path(path, "cgroup.procs").read_text().split())
            except (OSError, ValueError):
                pass
        return pids

    def links(self) -> list[dict[str, Any]]:
        out = subprocess.run(["ip", "-j", "link", "show"], capture_output=True, text=True)
        return list(json.loads(out.stdout or "[]"))

    def temp_files(self) -> list[str]:
        found = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            rel = os.path.relpath(dirpath, self.root)
            if rel.startswith(("containers/", "volumes/")) and rel.count("/") >= 2 or \
                    rel.startswith("image/snapshots/"):
                dirnames[:] = []  # what a container, volume or layer holds is its own
                continue
            for name in dirnames + filenames:
                if ".tmp" in name or name.endswith(".partial") or \
                        name.startswith(("load-", "import-", "commit-", "blob-")):
                    found.append(f"temp file {os.path.join(rel, name)}")
        return found

    # ---- invariants -----------------------------------------------------------------

    def settle(self, timeout: float = 20.0) -> list[dict[str, Any]]:
        """inspect of every container once two readings 0.15 s apart agree (a killed
        command's monitor may still be finishing its work)."""
        deadline = time.monotonic() + timeout
        previous = None
        while True:
            ids = self.container_dirs()
            docs: list[dict[str, Any]] = []
            if ids:
                proc = self.run("inspect", *ids)
                assert "Traceback" not in proc.stderr, proc.stderr
                docs = json.loads(proc.stdout or "[]")
            reading = sorted((d["Id"], d["State"]["Status"], d["State"]["Pid"]) for d in docs)
            if reading == previous or time.monotonic() > deadline:
                return docs
            previous = reading
            time.sleep(0.15)

    def check_status(self) -> list[str]:
        """Status from facts, for every container of the root. A status and facts that
        disagree only for a moment (a monitor killed with its client, still undoing a
        start between the runtime's create and the record) are no fault: what still
        disagrees a second later is."""
        problems = []
        ps = self.run("ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Status}}")
        if ps.returncode != 0 or "Traceback" in ps.stderr:
            problems.append(f"ps -a failed: {ps.stderr.strip()}")
        wrong = self._disagreements()
        if wrong:
            time.sleep(1)
            again = self._disagreements()
            wrong = {cid: again[cid] for cid in again if cid in wrong}
        return problems + list(wrong.values())

    def _disagreements(self) -> dict[str, str]:
        found = {}
        for doc in self.settle():
            state = doc["State"]
            status, pid = state["Status"], int(state.get("Pid") or 0)
            procs = self.cgroup_procs(doc["Id"])
            short = doc["Id"][:12]
            if status in ("running", "paused") and not (pid and os.path.exists(f"/proc/{pid}")):
                found[doc["Id"]] = f"{short} shown {status} but its init {pid} is gone"
            if status in ("exited", "dead", "created") and procs:
                found[doc["Id"]] = f"{short} shown {status} while {sorted(procs)} run in it"
        return found

    def remove_everything(self, keep_networks: tuple[str, ...] = ("bridge",)) -> list[str]:
        """Remove every container, network, volume and image the trial made; each removal
        must work. Returns what failed."""
        self.note()
        problems = []
        for cid in self.container_dirs():
            proc = self.run("rm", "-f", cid, timeout=90)
            if proc.returncode != 0 or os.path.exists(self.root / "containers" / cid):
                problems.append(f"rm -f {cid[:12]}: {proc.returncode} {proc.stderr.strip()}")
        # what else there is, read from the records (quicker than three CLI listings)
        try:
            networks = json.loads((self.root / "network" / "networks.json").read_text())
        except (OSError, ValueError):
            networks = {}
        for name in networks:
            if name not in keep_networks:
                proc = self.run("network", "rm", name)
                if proc.returncode != 0:
                    problems.append(f"network rm {name}: {proc.stderr.strip()}")
        volumes = self.root / "volumes"
        for name in sorted(os.listdir(volumes)) if volumes.exists() else []:
            proc = self.run("volume", "rm", "-f", name)
            if proc.returncode != 0:
                problems.append(f"volume rm {name}: {proc.stderr.strip()}")
        from minidocker.image.store import ANNOTATION_CONFIG, Store

        store = Store(str(self.root))
        index = [e["digest"] for e in store.read_index()["manifests"]]
        images = {i.id for i in store.images()} | {
            (e.get("annotations") or {}).get(ANNOTATION_CONFIG) or e["digest"]
            for e, _ in store.corrupt}
        if len(index) > len(self.base_images) or images - self.base_images:
            for image in images - self.base_images:
                proc = self.run("rmi", "-f", image)
                if proc.returncode != 0:
                    problems.append(f"rmi -f {image[:19]}: {proc.stderr.strip()}")
        if self.build_dirs():  # what a killed build left: its work dir, views
            prune = self.run("builder", "prune", "-f")
            if prune.returncode != 0:
                problems.append(f"builder prune: {prune.stderr.strip()}")
        temps = self.temp_files()
        if images != self.base_images or temps:
            prune = self.run("image", "prune", "-f")  # gc: what dead writers left
            if prune.returncode != 0:
                problems.append(f"image prune: {prune.stderr.strip()}")
        if any(t.startswith("temp file network/") for t in temps):
            # a network command killed while it wrote a state file (no network to rm
            # when it was networks.json): the prune's sweep removes what dead pids left
            prune = self.run("network", "prune", "-f")
            if prune.returncode != 0:
                problems.append(f"network prune: {prune.stderr.strip()}")
        return problems

    def build_dirs(self) -> list[str]:
        """The work dirs of builds (`<root>/build/tmp/<pid>-<ns>`)."""
        try:
            return os.listdir(self.root / "build" / "tmp")
        except FileNotFoundError:
            return []

    def leftovers(self) -> list[str]:
        """What of the root is still on the host once everything was removed."""
        from minidocker.network.link import veth_name

        found = [f"mount {m}" for m in _mounts_under(self.root)]
        found += [f"record {c}" for c in self.container_dirs()]
        names = self.root / "containers" / ".names"
        if names.exists():
            found += [f"name {n}" for n in os.listdir(names)]
        for cid in self.seen_containers:
            found += [f"cgroup {p}" for p in self.cgroups(cid)]
        found += self.processes()
        veths = {veth_name(n, c) for n in self.seen_networks for c in self.seen_containers}
        found += [f"link {link['ifname']}" for link in self.links()
                  if link["ifname"] in veths or link["ifname"].startswith(self.net_tag)
                  and link["ifname"] != f"{self.net_tag}b0"]
        found += self._network_state()
        leases = self.root / "image" / "leases"
        if leases.exists():
            found += [f"image lease {n}" for n in os.listdir(leases)]
        found += self.temp_files()
        found += [f"build work dir {n}" for n in self.build_dirs()]
        return [f for f in found if f not in self.reported]

    def _network_state(self) -> list[str]:
        from minidocker.network.store import Store

        store = Store(str(self.root))
        found = [f"endpoint {cid[:12]}" for eps in store.endpoints().values() for cid in eps]
        networks = store.networks()
        subnets = {n.subnet for n in networks.values()}
        for subnet in store.ipam.subnets():
            if subnet not in subnets:
                found.append(f"subnet {subnet} without a network")
            found += [f"lease {ip} of {owner[:12]}"
                      for ip, owner in store.ipam.leases(subnet).items()]
        table = subprocess.run(["nft", "-j", "list", "table", "ip", self.net_tag],
                               capture_output=True, text=True)
        if table.returncode == 0:
            ids = {n.id[:12] for n in networks.values()}
            for item in json.loads(table.stdout)["nftables"]:
                comment = item.get("rule", {}).get("comment", "")
                if comment.startswith("md port") or comment.startswith("md net") and \
                        comment.split()[2] not in ids:
                    found.append(f"nft rule {comment!r}")
        return found

    def verify(self, category: str, detail: str, *, removable: bool = True,
               found: list[str] | None = None) -> list[str]:
        """The invariants after a fault; records the trial in FIGURES (failed if `found`
        holds what the trial's own checks saw); returns every problem."""
        try:
            problems = list(found or []) + self.check_status()
            if removable:
                problems += self.remove_everything()
                problems += self.leftovers()
        except Exception:  # noqa: BLE001 - a check that breaks is a failed trial
            problems = list(found or []) + [traceback.format_exc(limit=3)]
        FIGURES.add(category, not problems, f"{detail}: {problems}")
        if problems:
            self.force_clean()
            self.reported.update(self.leftovers())  # what even force could not remove
        return problems

    def force_clean(self) -> None:
        """After a failed trial: remove by force what the engine could not, so that the
        next trial starts clean (the failure is already recorded)."""
        for cid in self.seen_containers:  # container processes, thawed, then killed
            for path in self.cgroups(cid):
                if "/freezer/" in path:
                    try:
                        Path(path, "freezer.state").write_text("THAWED")
                    except OSError:
                        pass
            for pid in self.cgroup_procs(cid):
                try:
                    os.kill(pid, 9)
                except OSError:
                    pass
        for line in self.processes():
            try:
                os.kill(int(line.split()[1]), 9)
            except (OSError, ValueError):
                pass
        time.sleep(0.2)  # the killed leave their cgroups
        for m in reversed(_mounts_under(self.root)):
            subprocess.run(["umount", "-l", m], capture_output=True)
        for cid in self.container_dirs():
            shutil.rmtree(self.root / "containers" / cid, ignore_errors=True)
        names = self.root / "containers" / ".names"
        for n in os.listdir(names) if names.exists() else []:
            os.unlink(names / n)
        for cid in self.seen_containers:
            for path in self.cgroups(cid):
                for sub, _, _ in sorted(os.walk(path), reverse=True):
                    try:
                        os.rmdir(sub)
                    except OSError:
                        pass
        shutil.rmtree(self.root / "image" / "leases", ignore_errors=True)
        for name in self.build_dirs():
            shutil.rmtree(self.root / "build" / "tmp" / name, ignore_errors=True)
        from minidocker import network
        from minidocker.network.store import Store
        try:
            network.cleanup_stale(str(self.root), lambda cid: False)
            for net in Store(str(self.root)).networks().values():
                if net.name != "bridge":
                    network.remove_network(str(self.root), net.name)
        except Exception:  # noqa: BLE001 - best effort: the failure is recorded already
            pass


def _mounts_under(path: Path) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f.read().splitlines()
                if line.split()[4].startswith(str(path) + "/")]


@contextmanager
def fault_root(rootfs: Path, prefix: str = "md-faults-") -> Iterator[FaultRoot]:
    root = Path(tempfile.mkdtemp(prefix=prefix))
    env = None
    try:
        env = FaultRoot(root, rootfs)
        yield env
    finally:
        if env is not None:
            env.force_clean()
            env.cleanup()
        else:
            shutil.rmtree(root, ignore_errors=True)


def kill_at_random(cmd: list[str], longest: float, *, sig: int = 9,
                   env: dict[str, str] | None = None) -> tuple[float, int]:
    """Start `cmd` and send it `sig` after a random time in [0, longest]; returns (the
    delay, its exit status). Output goes to files: a container may keep a pipe open."""
    delay = RANDOM.uniform(0, longest)
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=err, env=env)
        time.sleep(delay)
        try:
            proc.send_signal(sig)
        except ProcessLookupError:
            pass
        code = proc.wait(timeout=120)
        err.seek(0)
        text = err.read().decode(errors="replace")
    assert "Traceback" not in text, text
    return delay, code


def timed(cmd: list[str]) -> float:
    """How long `cmd` takes when nothing interrupts it (the range of the kill delays)."""
    start = time.monotonic()
    run_captured(cmd, timeout=120)
    return time.monotonic() - start


Step = Callable[[FaultRoot], None]
