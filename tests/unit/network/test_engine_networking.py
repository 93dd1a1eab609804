"""The engine's view of networking without root: flag checks, the fallback setting, and
what inspect, ps and port show from a record's state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from minidocker.engine import networking
from minidocker.errors import NotFound, UsageError

BRIDGE_DOC = {"IPAddress": "10.1.0.2", "IPPrefixLen": 24, "Gateway": "10.1.0.1",
              "MacAddress": "02:42:0a:01:00:02", "EndpointID": "md1", "Aliases": None,
              "Ports": [{"HostIp": "0.0.0.0", "HostPort": 8080, "ContainerPort": 80,
                         "Proto": "tcp"},
                        {"HostIp": "127.0.0.1", "HostPort": 5353, "ContainerPort": 53,
                         "Proto": "udp"}]}
CONFIG: dict[str, Any] = {"HostConfig": {"NetworkMode": "bridge"},
                          "Config": {"ExposedPorts": {"80/tcp": {}, "443/tcp": {}}}}
RUNNING = {"Status": "running", "Pid": 42, "Networks": {"bridge": BRIDGE_DOC}}


def test_settings_doc_is_dockers_shape() -> None:
    doc = networking.settings_doc(CONFIG, RUNNING)
    assert doc["IPAddress"] == "10.1.0.2" and doc["Gateway"] == "10.1.0.1"
    assert doc["Ports"] == {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}],
                            "53/udp": [{"HostIp": "127.0.0.1", "HostPort": "5353"}],
                            "443/tcp": None}
    assert "Ports" not in doc["Networks"]["bridge"]
    assert doc["Networks"]["bridge"]["MacAddress"] == "02:42:0a:01:00:02"


def test_user_network_leaves_the_top_level_empty_and_stopped_shows_nothing() -> None:
    user = {"Status": "running", "Networks": {"app": BRIDGE_DOC}}
    assert networking.settings_doc(CONFIG, user)["IPAddress"] == ""
    assert networking.settings_doc(CONFIG, {**RUNNING, "Status": "exited"})["Ports"] == {}
    host = {"HostConfig": {"NetworkMode": "host"}, "Config": {}}
    assert networking.settings_doc(host, {"Status": "running"})["Networks"] == {"host": {}}


def test_ps_ports_and_networks_columns() -> None:
    assert networking.ports_text(CONFIG, RUNNING) == \
        "127.0.0.1:5353->53/udp, 0.0.0.0:8080->80/tcp, 443/tcp"
    assert networking.ports_text(CONFIG, {"Status": "exited"}) == ""
    config = {**CONFIG, "NetworkingConfig": {"EndpointsConfig": {"app": {}}}}
    assert networking.network_names(config, RUNNING) == "bridge,app"
    assert networking.network_names({**CONFIG, "NetworkFallback": "host"}, RUNNING) == "host"


def test_published_is_what_port_lists() -> None:
    assert networking.published(RUNNING) == [("0.0.0.0", 8080, 80, "tcp"),
                                             ("127.0.0.1", 5353, 53, "udp")]


def test_fallback_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(networking.FALLBACK_ENV, raising=False)
    assert networking.fallback_allowed(str(tmp_path))
    (tmp_path / "network").mkdir()
    (tmp_path / "network" / "config.json").write_text('{"fallback": false}')
    assert not networking.fallback_allowed(str(tmp_path))
    monkeypatch.setenv(networking.FALLBACK_ENV, "1")
    assert networking.fallback_allowed(str(tmp_path))
    monkeypatch.setenv(networking.FALLBACK_ENV, "0")
    assert not networking.fallback_allowed(str(tmp_path))


def test_check_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = str(tmp_path)
    host: dict[str, Any] = {"NetworkMode": "default", "PortBindings": ["8080:80"]}
    assert networking.check_options(root, host, {})["NetworkMode"] == "bridge"
    with pytest.raises(UsageError):
        networking.check_options(root, {"NetworkMode": "bridge", "PortBindings": ["x:80"]}, {})
    with pytest.raises(UsageError):  # aliases need a user network
        networking.check_options(root, {"NetworkMode": "bridge"}, {"Aliases": ["a"]})
    with pytest.raises(UsageError):
        networking.check_options(root, {"NetworkMode": "none", "PortBindings": ["80"]}, {})
    with pytest.raises(UsageError):
        networking.check_options(root, {"NetworkMode": "host"}, {"IPAMConfig": {}})
    host = {"NetworkMode": "host", "PortBindings": ["80"]}
    warnings: list[str] = []
    assert networking.check_options(root, host, {}, warnings.append)["PortBindings"] == []
    assert "discarded" in warnings[0]
    assert capsys.readouterr().err == ""  # the engine prints nothing: the caller's sink
    with pytest.raises(NotFound):
        networking.check_options(root, {"NetworkMode": "nosuchnet"}, {})
    with pytest.raises(UsageError):
        networking.check_options(root, {"NetworkMode": "bridge", "ExtraHosts": ["nohost"]}, {})
