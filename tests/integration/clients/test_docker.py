"""Docker 20.10 (dockerd, its containerd and containerd-shim-runc-v2) on each runtime:
`dockerd --add-runtime ours=PATH`, `docker run --runtime NAME`. Debian's client,
/usr/bin/docker. dockerd runs without iptables, forwarding or docker0 (see daemons.py)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.clients import scenarios
from tests.integration.clients.daemons import IMAGE, Dockerd


def test_run_rm_exit_codes(dockerd: Dockerd, runtime: str) -> None:
    scenarios.run_rm_exit_codes(dockerd, runtime)


def test_detached_exec(dockerd: Dockerd, runtime: str) -> None:
    scenarios.detached_exec(dockerd, runtime)


def test_interactive_tty(dockerd: Dockerd, runtime: str) -> None:
    scenarios.interactive_tty(dockerd, runtime)


def test_stop_falls_back_to_sigkill(dockerd: Dockerd, runtime: str) -> None:
    scenarios.stop_falls_back_to_sigkill(dockerd, runtime)


def test_kill_with_signal(dockerd: Dockerd, runtime: str) -> None:
    scenarios.kill_with_signal(dockerd, runtime)


def test_pause_unpause(dockerd: Dockerd, runtime: str) -> None:
    scenarios.pause_unpause(dockerd, runtime)


def test_memory_limit_oom(dockerd: Dockerd, runtime: str) -> None:
    scenarios.memory_limit_oom(dockerd, runtime)


def test_update_memory_and_cpu(dockerd: Dockerd, runtime: str) -> None:
    scenarios.update_resources(dockerd, runtime)


def test_stats(dockerd: Dockerd, runtime: str) -> None:
    scenarios.stats(dockerd, runtime)


def test_top(dockerd: Dockerd, runtime: str) -> None:
    scenarios.top(dockerd, runtime)


def test_read_only_rootfs(dockerd: Dockerd, runtime: str) -> None:
    scenarios.read_only_rootfs(dockerd, runtime)


def test_user(dockerd: Dockerd, runtime: str) -> None:
    scenarios.user(dockerd, runtime)


def test_cap_drop_all(dockerd: Dockerd, runtime: str) -> None:
    scenarios.cap_drop_all(dockerd, runtime)


def test_no_new_privileges(dockerd: Dockerd, runtime: str) -> None:
    scenarios.no_new_privileges(dockerd, runtime)


def test_pids_limit(dockerd: Dockerd, runtime: str) -> None:
    scenarios.pids_limit(dockerd, runtime)


def test_env_workdir_volume(dockerd: Dockerd, runtime: str, tmp_path: Path) -> None:
    scenarios.env_workdir_volume(dockerd, runtime, tmp_path)


@pytest.fixture(scope="module")
def bridge_network(dockerd: Dockerd) -> Iterator[str]:
    """A user-defined bridge network with its own bridge name and a random subnet; with
    --iptables=false dockerd publishes ports through docker-proxy alone."""
    net = "mdc" + uuid.uuid4().hex[:8]
    subnet = f"10.{random.randrange(224, 240)}.{random.randrange(256)}.0/24"
    dockerd.ok("network", "create", "--subnet", subnet,
               "-o", f"com.docker.network.bridge.name={net}", net)
    try:
        yield net
    finally:
        dockerd.run("network", "rm", net)


def test_published_port(dockerd: Dockerd, runtime: str, bridge_network: str) -> None:
    scenarios.published_port(dockerd, runtime, ["--network", bridge_network])


def test_shared_namespaces_of_a_container(dockerd: Dockerd, runtime: str) -> None:
    """Docker's pod: containers joining the network, IPC and PID namespaces of a first
    one (`container:NAME`, which reaches the runtime as namespace paths), talking over
    localhost."""
    holder = scenarios.start_sleeper(dockerd, runtime, "--network", "none", "--ipc", "shareable")
    try:
        shared = [f"--{ns}=container:{holder}" for ns in ("network", "ipc", "pid")]
        server = scenarios.name()
        dockerd.ok("run", "-d", "--name", server, *shared, IMAGE, "sh", "-c",
                   scenarios.HTTPD.format(text="shared-net", addr="127.0.0.1:8080"),
                   runtime=runtime)
        fetch = ("for i in $(seq 600); do wget -qO- http://127.0.0.1:8080/ && break; "
                 "sleep 0.1; done; ps -o comm | sort -u | tr '\\n' ' '")
        out = dockerd.ok("run", "--rm", *shared, IMAGE, "sh", "-c", fetch, runtime=runtime)
        lines = out.splitlines()
        assert lines[0] == "shared-net", out
        assert "httpd" in lines[1] and "sleep" in lines[1], out  # one PID namespace
    finally:
        scenarios.remove(dockerd, runtime, *[n for n in (locals().get("server"),) if n],
                         holder)
