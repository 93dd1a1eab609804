"""Generated /etc/hosts and /etc/resolv.conf."""

from __future__ import annotations

from pathlib import Path

import pytest

from minidocker.errors import UsageError
from minidocker.network.dns import hosts_file, parse_add_host, resolv_conf


def test_hosts_has_localhost_own_names_extra_hosts_and_peers() -> None:
    text = hosts_file([("10.1.0.2", ["web", "web", "alias1"])],
                      extra_hosts=[("db.example", "10.9.9.9")],
                      peers=[("10.1.0.3", ["api", "api-alias", "0123456789ab"])])
    lines = text.splitlines()
    assert lines[0] == "127.0.0.1\tlocalhost"
    assert "::1\tlocalhost ip6-localhost ip6-loopback" in lines
    assert "10.9.9.9\tdb.example" in lines
    assert "10.1.0.2\tweb alias1" in lines
    assert lines[-1] == "10.1.0.3\tapi api-alias 0123456789ab"


@pytest.mark.parametrize("text, expected", [
    ("db:10.0.0.5", ("db", "10.0.0.5")),
    ("db=10.0.0.5", ("db", "10.0.0.5")),
    ("gw:host-gateway", ("gw", "172.30.0.1")),
    ("v6=::1", ("v6", "::1")),
])
def test_add_host(text: str, expected: tuple[str, str]) -> None:
    assert parse_add_host(text, gateway="172.30.0.1") == expected


@pytest.mark.parametrize("text", ["db", "db:", ":1.2.3.4", "db:notanip"])
def test_add_host_rejects(text: str) -> None:
    with pytest.raises(UsageError):
        parse_add_host(text)


def test_resolv_conf_drops_loopback_resolvers(tmp_path: Path) -> None:
    host = tmp_path / "resolv.conf"
    host.write_text("# comment\nnameserver 127.0.0.53\nnameserver 10.255.255.53\n"
                    "nameserver ::1\nsearch example.org corp\noptions edns0 trust-ad\n")
    assert resolv_conf(host_path=str(host)) == (
        "nameserver 10.255.255.53\nsearch example.org corp\noptions edns0 trust-ad\n")


def test_resolv_conf_only_loopback_falls_back_to_public(tmp_path: Path) -> None:
    host = tmp_path / "resolv.conf"
    host.write_text("nameserver 127.0.0.53\n")
    assert resolv_conf(host_path=str(host)).startswith("nameserver 8.8.8.8\n")


def test_resolv_conf_dns_override(tmp_path: Path) -> None:
    host = tmp_path / "resolv.conf"
    host.write_text("nameserver 10.255.255.53\nsearch a\n")
    text = resolv_conf(["10.7.0.1"], ["b.example"], ["ndots:2"], host_path=str(host))
    assert text == "nameserver 10.7.0.1\nsearch b.example\noptions ndots:2\n"
    with pytest.raises(UsageError):
        resolv_conf(["dns.example"], host_path=str(host))
