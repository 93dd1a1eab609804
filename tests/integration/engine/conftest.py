"""The `engine` fixture: `minidocker` with a private --root, and a cleanup that removes
every container it made (processes, mounts, cgroups, records) even when a test fails."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_captured, tool
from tests.integration.network.private import private_network, remove_networks


class Engine:
    def __init__(self, root: Path, image: Path):
        self.root = root
        self.image = str(image)
        self.binary = tool("minidocker")
        self.net_tag = private_network(root)  # own bridge, nft table and subnets

    def cmd(self, *args: str) -> list[str]:
        return [self.binary, "--root", str(self.root), *args]

    def run(self, *args: str, check: bool = False, timeout: float = 60,
            **kw: Any) -> subprocess.CompletedProcess[str]:
        return run_captured(self.cmd(*args), check=check, timeout=timeout, **kw)

    def ok(self, *args: str, **kw: Any) -> str:
        return self.run(*args, check=True, **kw).stdout

    def inspect(self, ref: str) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(self.ok("inspect", ref))[0]
        return doc

    def status(self, ref: str) -> str:
        return str(self.inspect(ref)["State"]["Status"])

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        raise AssertionError("condition not reached in time")

    def container_dirs(self) -> list[str]:
        try:
            return [n for n in os.listdir(self.root / "containers") if len(n) == 64]
        except FileNotFoundError:
            return []

    def cleanup(self) -> None:
        for cid in self.container_dirs():
            self.run("rm", "-f", cid, timeout=60)
        # anything a failed test left half-made: mounts under our root, runtime state
        for cid in self.container_dirs():
            target = self.root / "containers" / cid / "rootfs"
            subprocess.run(["umount", "-l", str(target)], capture_output=True)
        runtime_root = self.root / "runtime"
        if runtime_root.exists():
            for cid in os.listdir(runtime_root):
                if cid.startswith("."):  # the runtime's caches, not containers
                    continue
                subprocess.run([tool("minidocker-runtime"), "--root", str(runtime_root),
                                "delete", "--force", cid], capture_output=True)
        for name in os.listdir(self.root) if self.root.exists() else []:
            if name.startswith("runtime-"):
                binary = name.removeprefix("runtime-")
                if shutil.which(binary) is None:  # a test's wrapper around ours
                    binary = tool("minidocker-runtime")
                for cid in os.listdir(self.root / name):
                    if cid.startswith("."):  # a cache (.seccomp-cache), not a container
                        continue
                    subprocess.run([binary, "--root", str(self.root / name), "delete",
                                    "--force", cid], capture_output=True)
        with open("/proc/self/mountinfo") as f:
            for line in f.read().splitlines():
                mountpoint = line.split()[4]
                if mountpoint.startswith(str(self.root) + "/"):
                    subprocess.run(["umount", "-l", mountpoint], capture_output=True)
        remove_networks(self.root)
        shutil.rmtree(self.root, ignore_errors=True)


def mounts_under(path: Path) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f.read().splitlines()
                if line.split()[4].startswith(str(path) + "/")]


@pytest.fixture
def engine(busybox_rootfs: Path) -> Iterator[Engine]:
    root = Path(tempfile.mkdtemp(prefix="md-engine-"))
    eng = Engine(root, busybox_rootfs)
    try:
        yield eng
    finally:
        eng.cleanup()
