"""Name resolution on user networks through the generated hosts files."""

from __future__ import annotations

import os
from pathlib import Path

from minidocker import network
from tests.integration.network.conftest import FakeContainer, NetEnv


def _resolve_ping(c: FakeContainer, hosts: Path, name: str) -> bool:
    """Ping `name` inside the namespace with `hosts` bind-mounted as /etc/hosts."""
    script = (f"mount --bind {hosts} /etc/hosts || exit 2; for i in 1 2 3; do "
              f"busybox ping -c 1 -W 1 {name} && exit 0; done; exit 1")
    return c.exec("unshare", "-m", "sh", "-c", script, check=False).returncode == 0


def test_containers_resolve_each_other_by_name_and_alias(netenv: NetEnv, tmp_path: Path
                                                         ) -> None:
    network.create_network(netenv.root, "app", bridge=netenv.bridge_name("a"))
    web, client = netenv.container(), netenv.container()
    web_hosts, client_hosts = tmp_path / "web.hosts", tmp_path / "client.hosts"
    client_hosts.write_text("")
    inode = os.stat(client_hosts).st_ino
    ew = network.connect(netenv.root, "app", web.id, web.path, name="web", aliases=["www"],
                         hostname="webhost", hosts_path=str(web_hosts))
    ec = network.connect(netenv.root, "app", client.id, client.path, name="client",
                         hosts_path=str(client_hosts),
                         extra_hosts=[("db.test", "10.9.9.9"), ("gw", "host-gateway")])
    text = client_hosts.read_text()
    assert f"{ew.ip}\tweb www {web.id[:12]}" in text
    assert f"{ec.ip}\t{client.id[:12]} client" in text
    assert "10.9.9.9\tdb.test" in text
    assert f"{ec.gateway}\tgw" in text
    assert f"{ec.ip}\tclient" in web_hosts.read_text()  # the earlier one learnt the newcomer
    assert f"{ew.ip}\twebhost web www" in web_hosts.read_text()
    assert _resolve_ping(client, client_hosts, "web")
    assert _resolve_ping(client, client_hosts, "www")
    network.disconnect(netenv.root, "app", web.id)
    assert "web" not in client_hosts.read_text().replace("webhost", "")
    assert os.stat(client_hosts).st_ino == inode  # rewritten in place: bind mounts see it


def test_default_bridge_has_no_peer_names(netenv: NetEnv, tmp_path: Path) -> None:
    a, b = netenv.container(), netenv.container()
    ea = network.connect(netenv.root, "bridge", a.id, a.path, name="a",
                         hosts_path=str(tmp_path / "a"))
    eb = network.connect(netenv.root, "bridge", b.id, b.path, name="b",
                         hosts_path=str(tmp_path / "b"))
    assert f"{ea.ip}\t{a.id[:12]} a" in (tmp_path / "a").read_text()
    assert eb.ip not in (tmp_path / "a").read_text()
    assert ea.ip not in (tmp_path / "b").read_text()
