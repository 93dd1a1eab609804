"""Fixtures of the client tests: the image archive every client loads, one daemon per
test module on private directories, and a check that the host is as it was after it.

Each scenario runs once per runtime of MDCLIENTS_RUNTIMES (default "runc,ours"): runc
shows the test is right, ours that the runtime is. bench/bench_clients.py sets it to
"runc,crun,ours" to print the matrix."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.clients.daemons import (
    Containerd,
    Dockerd,
    Podman,
    write_image_archive,
)

RUNTIME_NAMES = [n for n in os.environ.get("MDCLIENTS_RUNTIMES", "runc,ours").split(",") if n]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "runtime" in metafunc.fixturenames:
        metafunc.parametrize("runtime", RUNTIME_NAMES)


def host_footprint() -> dict[str, str]:
    """What a client daemon could change on the host outside its private directories
    and that no other test here touches: forwarding and bridge-netfilter sysctls, the
    filter FORWARD policy and Docker's chains, docker0, Docker's trust key and run
    directories, containerd's shim sockets and ctr's fifos."""
    out: dict[str, str] = {}
    for path in ("/proc/sys/net/ipv4/ip_forward",
                 "/proc/sys/net/bridge/bridge-nf-call-iptables",
                 "/proc/sys/net/bridge/bridge-nf-call-ip6tables"):
        try:
            out[path] = Path(path).read_text().strip()
        except OSError:
            out[path] = "-"
    for tool in ("iptables-save", "ip6tables-save"):
        res = subprocess.run([tool], capture_output=True, text=True, check=False)
        # (not CNI's chains: podman's default network, which these tests never use but
        # other users of this host may, changes them at any time)
        lines = [ln.split(" [")[0] for ln in res.stdout.splitlines()
                 if ln.startswith(":FORWARD") or "DOCKER" in ln]
        out[tool] = "\n".join(lines)
    out["docker0"] = str(Path("/sys/class/net/docker0").exists())
    for path in ("/etc/docker/key.json", "/run/docker", "/run/containerd/s",
                 "/run/containerd/fifo"):
        out[path] = str(os.path.lexists(path))
    return out


def assert_footprint(before: dict[str, str]) -> None:
    after = host_footprint()
    changed = {k: (before[k][:300], after[k][:300]) for k in before if before[k] != after[k]}
    assert not changed, f"the host was left changed: {changed}"


@pytest.fixture(scope="session")
def image_archive(busybox_rootfs: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_image_archive(busybox_rootfs,
                               tmp_path_factory.mktemp("clients") / "images.tar")


def _need(*tools: str) -> None:
    missing = [t for t in tools if not shutil.which(t)]
    if missing:
        pytest.fail(f"not installed: {', '.join(missing)} (run scripts/setup --dev)")


@pytest.fixture(scope="module")
def podman(image_archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Podman]:
    _need("podman", "conmon")
    before = host_footprint()
    client = Podman(tmp_path_factory.mktemp("podman"), image_archive)
    try:
        yield client
    finally:
        client.close()
    assert_footprint(before)


@pytest.fixture(scope="module")
def containerd(image_archive: Path,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Containerd]:
    _need("containerd", "ctr", "containerd-shim-runc-v2")
    before = host_footprint()
    daemon = Containerd(tmp_path_factory.mktemp("ctrd"), image_archive,
                        handlers=tuple(RUNTIME_NAMES))
    try:
        yield daemon
    finally:
        daemon.close()
    assert_footprint(before)


@pytest.fixture(scope="module")
def dockerd(image_archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dockerd]:
    _need("dockerd", "containerd", Dockerd.CLIENT)
    before = host_footprint()
    daemon = Dockerd(tmp_path_factory.mktemp("dockerd"), image_archive,
                     runtimes=tuple(RUNTIME_NAMES))
    try:
        yield daemon
    finally:
        daemon.close()
    assert_footprint(before)
