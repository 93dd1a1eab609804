"""minidocker's networks next to Docker's on one host: with dockerd running with its
iptables rules and the filter FORWARD policy DROP (as Docker leaves it when it enabled
forwarding itself), minidocker's containers still reach each other and, through NAT, an
outside host; Docker's containers too. dockerd's changes are undone after (see
DockerFirewallUndo); the DROP policy lasts only the test's few seconds."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.clients.daemons import IMAGE, Dockerd
from tests.integration.engine.conftest import Engine
from tests.integration.network.conftest import FakeContainer
from tests.integration.network.test_engine_networking import (  # noqa: F401 (fixtures)
    eng,
    fetch,
    ip_of,
    make_network,
    outside,
    serve,
)


def forward_chain() -> list[str]:
    return subprocess.run(["iptables", "-w", "-S", "FORWARD"], capture_output=True,
                          text=True, check=True).stdout.splitlines()


def ours_in_forward() -> list[str]:
    return [ln for ln in forward_chain() if '"minidocker ' in ln]


def test_networks_work_beside_docker_with_forward_policy_drop(
        eng: Engine, outside: Callable[[], tuple[FakeContainer, str]],  # noqa: F811
        image_archive: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    _ns, far_ip = outside()
    docker = Dockerd(tmp_path_factory.mktemp("dockerd-coex"), image_archive, iptables=True)
    policy = next(ln.split()[2] for ln in forward_chain() if ln.startswith("-P FORWARD"))
    try:
        assert any("DOCKER" in ln for ln in forward_chain())  # dockerd's rules are in
        subprocess.run(["iptables", "-w", "-P", "FORWARD", "DROP"], check=True)
        try:
            # minidocker: the default bridge and a user network, peers and outside
            serve(eng, "peer")
            peer_ip = ip_of(eng, "peer", "bridge")  # no names on the default bridge
            assert fetch(eng, "tcp", peer_ip, 8000).startswith("tcp peer from ")
            assert fetch(eng, "tcp", far_ip, 7000).startswith("tcp far from 198.18.")
            make_network(eng, "coex")
            serve(eng, "peer2", "--network", "coex")
            assert fetch(eng, "tcp", "peer2", 8000, "--network", "coex").startswith(
                "tcp peer2 from ")
            assert fetch(eng, "tcp", far_ip, 7000, "--network", "coex").startswith(
                "tcp far from 198.18.")
            # and Docker's default network alongside, to the same outside host
            out = docker.ok("run", "--rm", IMAGE, "sh", "-c", f"nc -w 5 {far_ip} 7000",
                            timeout=60)
            assert out.startswith("tcp far from 198.18."), out
        finally:
            subprocess.run(["iptables", "-w", "-P", "FORWARD", policy], check=True)
        # the accept rules go with their bridge
        coex_bridge = f"{eng.net_tag}coex"
        assert any(coex_bridge in ln for ln in ours_in_forward())
        eng.ok("rm", "-f", "peer2")
        eng.ok("network", "rm", "coex")
        assert not any(coex_bridge in ln for ln in ours_in_forward())
        eng.cleanup()  # the default bridge too, before dockerd's tables are undone
        # (only this root's bridges: a network another user of the host set up meanwhile
        # got its own rules, and they go with it)
        assert [ln for ln in ours_in_forward() if eng.net_tag in ln] == []
    finally:
        docker.close()
    assert not any("DOCKER" in ln for ln in forward_chain())
