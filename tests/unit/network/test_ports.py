"""Docker's -p syntax and the choice of host ports."""

from __future__ import annotations

import socket

import pytest

from minidocker.errors import UsageError
from minidocker.network.model import PortConflict, PortMapping
from minidocker.network.ports import PortSpec, parse_port_spec, resolve_ports


@pytest.mark.parametrize("text, expected", [
    ("80", [PortSpec("0.0.0.0", None, 80, "tcp")]),
    ("8080:80", [PortSpec("0.0.0.0", (8080, 8080), 80, "tcp")]),
    ("8080:80/udp", [PortSpec("0.0.0.0", (8080, 8080), 80, "udp")]),
    ("127.0.0.1:8080:80", [PortSpec("127.0.0.1", (8080, 8080), 80, "tcp")]),
    ("127.0.0.1::80/UDP", [PortSpec("127.0.0.1", None, 80, "udp")]),
    ("8000-8001:80-81", [PortSpec("0.0.0.0", (8000, 8000), 80, "tcp"),
                         PortSpec("0.0.0.0", (8001, 8001), 81, "tcp")]),
    ("8000-8010:80", [PortSpec("0.0.0.0", (8000, 8010), 80, "tcp")]),
    ("80-81", [PortSpec("0.0.0.0", None, 80, "tcp"), PortSpec("0.0.0.0", None, 81, "tcp")]),
])
def test_parse_valid_specs(text: str, expected: list[PortSpec]) -> None:
    assert parse_port_spec(text) == expected


@pytest.mark.parametrize("text", [
    "", "80/sctp", "0", "65536", "a:80", "8080:", "1.2.3:80:80", "x.y.z.w:1:2",
    "8000-8002:80-81", "90-80", "[::1]:80:80", "1:2:3:4",
])
def test_parse_rejects_bad_specs_in_one_line(text: str) -> None:
    with pytest.raises(UsageError) as err:
        parse_port_spec(text)
    assert "\n" not in str(err.value)


def test_random_port_is_free_and_not_already_published() -> None:
    [m] = resolve_ports([PortSpec("127.0.0.1", None, 80)], [])
    assert m.container_port == 80 and 1024 < m.host_port <= 65535
    with socket.socket() as s:
        s.bind(("127.0.0.1", m.host_port))  # nobody holds it


def test_explicit_port_clashing_with_published_one_is_refused() -> None:
    published = [PortMapping("0.0.0.0", 18080, 80, "tcp")]
    with pytest.raises(PortConflict):
        resolve_ports([PortSpec("127.0.0.1", (18080, 18080), 80)], published)
    # another protocol on the same number is fine
    [m] = resolve_ports([PortSpec("127.0.0.1", (18080, 18080), 80, "udp")], published)
    assert m.host_port == 18080


def test_port_held_by_a_host_listener_is_refused() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(PortConflict, match=str(port)):
            resolve_ports([PortSpec("127.0.0.1", (port, port), 80)], [])


def test_host_range_takes_first_free_port() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        published = [PortMapping("127.0.0.1", port + 1, 81, "tcp")]
        if port + 2 > 65535:
            pytest.skip("port at the end of the range")
        [m] = resolve_ports([PortSpec("127.0.0.1", (port, port + 2), 80)], published)
        assert m.host_port == port + 2


def test_same_request_twice_in_one_call_conflicts() -> None:
    spec = PortSpec("127.0.0.1", (18081, 18081), 80)
    with pytest.raises(PortConflict):
        resolve_ports([spec, spec], [])


def test_non_local_host_ip_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="not an address of this host"):
        resolve_ports([PortSpec("198.51.100.7", (18082, 18082), 80)], [])
