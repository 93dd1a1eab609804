"""A full disk: the root is a small tmpfs, filled up to a few KB (or MB). import, load,
pull, commit, build, create, run, network and volume create, and a container whose log
fills the disk. Every command that needs
space fails with one line and leaves nothing behind; what needs none (rm, rmi, network
rm, prune) works all the same."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.harness import FIGURES, IMAGE, FaultRoot, fault_root
from tests.integration.image.conftest import Registry, registry  # noqa: F401 - a fixture

SIZE_MB = 48


class FullDisk:
    """A FaultRoot on its own tmpfs, and a filler file that takes what is free."""

    def __init__(self, env: FaultRoot):
        self.env = env
        self.filler = env.root / "filler"

    def free(self) -> int:
        st = os.statvfs(self.env.root)
        return st.f_bavail * st.f_frsize

    def fill(self, leave: int = 64 << 10) -> None:
        """Take all but `leave` bytes (tmpfs gives out pages: the rest of a page too)."""
        with open(self.filler, "ab") as f:
            while self.free() > leave:
                try:
                    f.write(b"\0" * min(1 << 20, self.free() - leave))
                    f.flush()
                except OSError:
                    break

    def release(self) -> None:
        self.filler.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def disk(busybox_rootfs: Path) -> Iterator[FullDisk]:
    mountpoint = Path(tempfile.mkdtemp(prefix="md-faults-disk-"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE_MB}m,mode=0711", "tmpfs",
                    str(mountpoint)], check=True)
    try:
        with fault_root(busybox_rootfs, prefix=f"{mountpoint}/root-") as env:
            yield FullDisk(env)
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True)
        os.rmdir(mountpoint)


def one_line_error(proc: subprocess.CompletedProcess[str]) -> list[str]:
    """Problems with how a command failed for lack of space (none: it failed well)."""
    problems = []
    if proc.returncode == 0:
        problems.append(f"{proc.args[3:]} succeeded on a full disk")
    elif not proc.stderr.startswith("minidocker: error: ") or "Traceback" in proc.stderr:
        problems.append(f"{proc.args[3:]}: not one line: {proc.stderr!r}")
    elif "no space" not in proc.stderr.lower():
        problems.append(f"{proc.args[3:]}: does not say the disk is full: {proc.stderr!r}")
    return problems


def big_rootfs(base: Path, size: int) -> Path:
    """A directory holding `size` bytes of incompressible data (outside the tmpfs)."""
    path = base / f"big-{size}"
    if not path.exists():
        path.mkdir()
        with open(path / "data", "wb") as f:
            f.write(os.urandom(size))
    return path


def trial(disk: FullDisk, name: str, problems: list[str]) -> list[str]:
    """The disk is still full: everything must be removable; then space comes back and
    nothing may be left."""
    env = disk.env
    problems = problems + env.check_status() + env.remove_everything()
    disk.release()
    problems += env.leftovers()
    FIGURES.add("full disk", not problems, f"{name}: {problems}")
    if problems:
        env.force_clean()
        env.reported.update(env.leftovers())
    return problems


def test_import_and_load_on_a_full_disk(disk: FullDisk, tmp_path: Path) -> None:
    env = disk.env
    problems: list[str] = []
    source = big_rootfs(tmp_path, 12 << 20)
    archive = tmp_path / "big.tar"
    env.ok("import", str(source), "big:1")
    env.ok("save", "-o", str(archive), "big:1")
    env.ok("rmi", "big:1")
    env.ok("image", "prune", "-f")
    for leave in (64 << 10, 4 << 20):  # nothing free, and room for part of it
        disk.fill(leave)
        problems += trial(disk, f"import, {leave} free",
                          one_line_error(env.run("import", str(source), "big:2")))
        disk.fill(leave)
        problems += trial(disk, f"load, {leave} free",
                          one_line_error(env.run("load", "-i", str(archive))))
    assert not problems, problems


def test_pull_on_a_full_disk(disk: FullDisk, registry: Registry, tmp_path: Path) -> None:  # noqa: F811
    env = disk.env
    name = f"{registry.addr}/faults/big:1"
    env.ok("import", str(big_rootfs(tmp_path, 12 << 20)), name)
    env.ok("push", name)
    env.ok("rmi", name)
    env.ok("image", "prune", "-f")
    problems: list[str] = []
    for leave in (64 << 10, 4 << 20):
        disk.fill(leave)
        problems += trial(disk, f"pull, {leave} free", one_line_error(env.run("pull", name)))
    assert not problems, problems
def test_commit_on_a_full_disk(disk: FullDisk) -> None:
    env = disk.env
    problems: list[str] = []
    env.ok("run", "-d", "--name", "c", "--network", "none", IMAGE, "sh", "-c",
           "head -c 8000000 /dev/urandom > /big; sleep 600")
    env.wait_for(lambda: env.run("exec", "c", "test", "-s", "/big").returncode == 0)
    disk.fill()
    problems += trial(disk, "commit", one_line_error(env.run("commit", "c", "big:3")))
    assert not problems, problems


def test_build_on_a_full_disk(disk: FullDisk, tmp_path: Path) -> None:
    """A RUN step that fills the disk and a COPY that does not fit: the build fails with
    one line (the step's own failure, or the disk's), leaves no work dir, RUN container,
    half-made layer or image."""
    env = disk.env
    context = big_rootfs(tmp_path, 12 << 20)
    (context / "Dockerfile.run").write_text(
        f"FROM {IMAGE}\nRUN head -c 8000000 /dev/urandom > /big\n")
    (context / "Dockerfile.copy").write_text(f"FROM {IMAGE}\nCOPY data /big\n")
    problems: list[str] = []
    for leave in (64 << 10, 4 << 20):
        for step in ("run", "copy"):
            disk.fill(leave)
            proc = env.run("build", "--no-cache", "-q", "-f", str(context / f"Dockerfile.{step}"),
                           "-t", "big:4", str(context), timeout=120)
            found = []
            lines = proc.stderr.strip().splitlines()
            if proc.returncode == 0:
                found.append(f"build ({step}) succeeded on a full disk")
            elif "Traceback" in proc.stderr or not lines or \
                    not lines[-1].startswith("minidocker: error: "):
                found.append(f"build ({step}): not one line: {proc.stderr[-400:]!r}")
            elif "no space" not in proc.stderr.lower() and (
                    step == "copy" or "did not complete successfully" not in lines[-1]):
                found.append(f"build ({step}): does not say why: {proc.stderr[-400:]!r}")
            problems += trial(disk, f"build ({step}), {leave} free", found)
    assert not problems, problems


def test_create_and_run_on_a_full_disk(disk: FullDisk) -> None:
    env = disk.env
    problems: list[str] = []
    for args in (["create", "--name", "c", IMAGE, "true"],
                 ["run", "--rm", "--network", "none", IMAGE, "true"],
                 ["run", "-d", "--name", "c", IMAGE, "sleep", "600"],
                 ["network", "create", "full"],
                 ["volume", "create", "full"]):
        disk.fill(0)
        proc = env.run(*args)
        # a command that needs almost no space may still succeed: then it must be whole
        problems += trial(disk, " ".join(args[:2]),
                          one_line_error(proc) if proc.returncode else [])
    assert not problems, problems


CHATTY = "i=0; while :; do i=$((i+1)); echo line $i; done"


def test_a_chatty_container_fills_the_disk_and_keeps_running(disk: FullDisk) -> None:
    """As Docker's json-file logger: output that does not fit is dropped, the container
    keeps running (its output drained), no log line is cut in half, logging resumes when
    space comes back; stop, kill and rm need no free space."""
    env = disk.env
    problems: list[str] = []
    for action in (["stop", "-t", "1"], ["kill"], ["rm", "-f"]):
        disk.fill(1 << 20)
        cid = env.ok("run", "-d", "--network", "none", IMAGE, "sh", "-c", CHATTY).strip()
        log = env.root / "containers" / cid / f"{cid}-json.log"
        env.wait_for(lambda: disk.free() < 64 << 10, timeout=60)  # the log filled it up
        state = json.loads((env.root / "containers" / cid / "state.json").read_text())
        time.sleep(1)  # writing on while the disk is full
        found = []
        if env.status(cid) != "running" or not os.path.exists(f"/proc/{state['MonitorPid']}"):
            found.append(f"{action[0]}: container or monitor gone on a full disk")
        counter = _counter(state["Pid"])
        time.sleep(0.5)
        if _counter(state["Pid"]) <= counter:  # its pipe is drained: it goes on
            found.append(f"{action[0]}: the container is blocked on its output")
        # the monitor's entry being written (and cut back when it does not fit) may be
        # seen at the end: no line before it may be cut
        lines = log.read_bytes().splitlines()[:-1]
        if not all(line.startswith(b"{") and line.endswith(b"}") for line in lines):
            found.append(f"{action[0]}: half a line in the log")
        last = _last_line(log)
        disk.release()
        env.wait_for(lambda log=log, last=last: _last_line(log) > last + 1000, timeout=30)
        disk.fill(0)
        proc = env.run(*action, cid)
        if proc.returncode != 0:
            found.append(f"{action[0]} on a full disk: {proc.stderr.strip()}")
        elif action[0] != "rm":
            env.wait_for(lambda cid=cid: env.status(cid) == "exited", timeout=30)
            if not all(line.startswith(b"{") and line.endswith(b"}")
                       for line in log.read_bytes().splitlines()):  # settled: all whole
                found.append(f"{action[0]}: half a line in the log after it")
        leftovers = [p.name for p in (env.root / "containers" / cid).glob("*.tmp*")] \
            if (env.root / "containers" / cid).exists() else []
        if leftovers:
            found.append(f"{action[0]}: temp files {leftovers}")
        problems += trial(disk, f"chatty container, then {action[0]}", found)
    assert not problems, problems


def _counter(pid: int) -> int:
    """CPU ticks the container's process has used (it runs: they grow)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return -1
    return int(fields[11]) + int(fields[12])


def _last_line(log: Path) -> int:
    """The number the container wrote in the last whole line of its log (the one being
    written may be cut, for a moment, when the disk is full)."""
    for line in reversed(log.read_bytes().splitlines()):
        if line.endswith(b"}"):
            return int(json.loads(line)["log"].split()[1])
    return 0
