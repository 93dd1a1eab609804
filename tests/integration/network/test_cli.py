"""`minidocker network create|ls|inspect|rm|prune` end to end."""

from __future__ import annotations

import json
import os
import subprocess

from tests.conftest import error_lines, tool
from tests.integration.network.conftest import NetEnv


def md(netenv: NetEnv, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool("minidocker"), "network", *args], capture_output=True,
                          text=True, input=stdin, timeout=30,
                          env={**os.environ, "MINIDOCKER_ROOT": netenv.root})


def test_create_ls_inspect_rm(netenv: NetEnv) -> None:
    bridge = netenv.bridge_name("c")
    created = md(netenv, "create", "--subnet", "10.198.3.0/24", "--gateway", "10.198.3.254",
                 "--internal", "--label", "env=test",
                 "-o", f"com.docker.network.bridge.name={bridge}", "backend")
    assert created.returncode == 0, created.stderr
    net_id = created.stdout.strip()
    assert len(net_id) == 64
    assert bridge in netenv.links()

    ls = md(netenv, "ls")
    assert ls.stdout.splitlines()[0].split() == ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"]
    assert [line.split()[1] for line in ls.stdout.splitlines()[1:]] == ["backend", "bridge"]
    assert net_id[:12] in md(netenv, "ls", "-q").stdout.split()

    [doc] = json.loads(md(netenv, "inspect", "backend").stdout)
    assert doc["Id"] == net_id and doc["Internal"] is True
    assert doc["IPAM"]["Config"] == [{"Subnet": "10.198.3.0/24", "Gateway": "10.198.3.254"}]
    assert doc["Labels"] == {"env": "test"}
    assert doc["Options"]["com.docker.network.bridge.name"] == bridge

    dup = md(netenv, "create", "backend")
    assert dup.returncode == 1
    assert dup.stderr == "minidocker: error: network with name backend already exists\n"

    rm = md(netenv, "rm", net_id[:12])
    assert rm.returncode == 0 and rm.stdout.strip() == net_id[:12]
    assert bridge not in netenv.links()
    assert not netenv.table_exists()


def test_errors_are_one_line(netenv: NetEnv) -> None:
    for args in (["inspect", "nope"], ["rm", "nope"], ["rm", "bridge"],
                 ["create", "--subnet", "10.1.2.3/24", "x"], ["create", "-d", "overlay", "x"],
                 ["create", "--subnet", "192.0.2.0/26", "x"]):
        proc = md(netenv, *args)
        assert proc.returncode != 0
        assert len(error_lines(proc.stderr)) == 1, proc.stderr
        assert proc.stderr.startswith("minidocker: error: ")


def test_prune_removes_unused_user_networks(netenv: NetEnv) -> None:
    for suffix in ("p", "q"):
        assert md(netenv, "create", "-o", "com.docker.network.bridge.name="
                  + netenv.bridge_name(suffix), f"net{suffix}").returncode == 0
    assert md(netenv, "prune", stdin="n\n").returncode == 0
    assert "netp" in md(netenv, "ls").stdout
    pruned = md(netenv, "prune", "-f")
    assert pruned.stdout.splitlines() == ["Deleted Networks:", "netp", "netq"]
    assert [line.split()[1] for line in md(netenv, "ls").stdout.splitlines()[1:]] == ["bridge"]
