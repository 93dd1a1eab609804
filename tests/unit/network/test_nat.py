"""The nft batches we write: only our table, one batch per change, exact deletions."""

from __future__ import annotations

import json
from typing import Any

import pytest

from minidocker.network.model import Network, PortMapping
from minidocker.network.nat import Firewall, net_tag, port_tag

NET = Network(name="app", id="ab" * 32, subnet="10.9.0.0/24", gateway="10.9.0.1", bridge="br-x")


class Recorder(Firewall):
    """A Firewall whose nft only records scripts and answers listings from `rules`."""

    def __init__(self, rules: list[dict[str, Any]] | None = None):
        super().__init__("mdtest")
        self.scripts: list[str] = []
        self.listing = rules or []

    def _nft(self, args: list[str], stdin: str | None = None) -> str:
        if "list" in args:
            return json.dumps({"nftables": [{"rule": r} for r in self.listing]})
        assert args == ["-f", "-"]
        self.scripts.append(stdin or "")
        return ""


def _statements(script: str) -> list[str]:
    return [line for line in script.splitlines() if line]


def test_setup_network_touches_only_our_table_in_one_batch(
        monkeypatch: pytest.MonkeyPatch) -> None:
    sysctls: list[tuple[str, str]] = []
    monkeypatch.setattr("minidocker.network.nat._sysctl", lambda p, v: sysctls.append((p, v)))
    fw = Recorder()
    fw.setup_network(NET)
    [script] = fw.scripts
    assert sysctls == [("/proc/sys/net/ipv4/ip_forward", "1")]
    for line in _statements(script):
        assert " ip mdtest " in f"{line} ", line
        assert not line.startswith(("flush", "delete"))
    assert "add rule ip mdtest pre fib daddr type local jump ports" in script
    assert "add rule ip mdtest out fib daddr type local jump ports" in script


def test_base_jumps_are_not_duplicated() -> None:
    existing = [{"chain": "pre", "handle": 3}, {"chain": "out", "handle": 4}]
    assert not any("jump" in line for line in Firewall("t")._base(existing))


def test_internal_network_gets_drops_and_no_masquerade(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("minidocker.network.nat._sysctl", lambda path, value: None)
    fw = Recorder()
    internal = Network(**{**NET.to_dict(), "internal": True})
    fw.setup_network(internal)
    script = fw.scripts[0]
    assert "masquerade" not in script
    assert 'isolate iifname "br-x" oifname != "br-x" drop' in script
    assert 'isolate oifname "br-x" iifname != "br-x" drop' in script


def test_network_rules_replace_earlier_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("minidocker.network.nat._sysctl", lambda path, value: None)
    fw = Recorder([{"chain": "post", "handle": 7, "comment": net_tag(NET)},
                   {"chain": "post", "handle": 8, "comment": "md net 000000000000"}])
    fw.setup_network(NET)
    script = fw.scripts[0]
    assert "delete rule ip mdtest post handle 7" in script
    assert "handle 8" not in script
    assert 'ip saddr 10.9.0.0/24 oifname != "br-x" masquerade' in script


def test_ports_added_and_removed_by_container() -> None:
    fw = Recorder()
    fw.add_ports(NET.id, "c1", "10.9.0.2", [PortMapping("0.0.0.0", 8080, 80, "tcp"),
                                            PortMapping("127.0.0.1", 5353, 53, "udp")])
    tag = json.dumps(port_tag(NET.id, "c1"))
    assert _statements(fw.scripts[0]) == [
        f"add rule ip mdtest ports tcp dport 8080 dnat to 10.9.0.2:80 comment {tag}",
        f"add rule ip mdtest ports ip daddr 127.0.0.1 udp dport 5353 dnat to 10.9.0.2:53 "
        f"comment {tag}"]
    fw = Recorder([{"chain": "ports", "handle": 11, "comment": port_tag(NET.id, "c1")},
                   {"chain": "ports", "handle": 12, "comment": port_tag(NET.id, "c10")}])
    fw.remove_ports(NET.id, "c1")
    assert _statements(fw.scripts[0]) == ["delete rule ip mdtest ports handle 11"]


def test_teardown_of_last_network_deletes_our_table() -> None:
    fw = Recorder([{"chain": "pre", "handle": 1}, {"chain": "out", "handle": 2},
                   {"chain": "post", "handle": 3, "comment": net_tag(NET)}])
    fw.teardown_network(NET)
    assert fw.scripts == ["delete table ip mdtest\n"]
    other = Network(**{**NET.to_dict(), "id": "cd" * 32, "bridge": "br-y"})
    fw = Recorder([{"chain": "post", "handle": 3, "comment": net_tag(NET)},
                   {"chain": "post", "handle": 4, "comment": net_tag(other)}])
    fw.teardown_network(NET)
    assert _statements(fw.scripts[0]) == ["delete rule ip mdtest post handle 3",
                                          'add element ip mdtest bridges { "br-x" }',
                                          'delete element ip mdtest bridges { "br-x" }']
