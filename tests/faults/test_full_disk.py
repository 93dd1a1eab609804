"""A full disk: the root is a small tmpfs, filled up to a few KB. Every command that needs
space fails with one line and leaves nothing behind; what needs none (rm, rmi, network
rm, prune) works all the same."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.harness import FIGURES, FaultRoot, fault_root
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
