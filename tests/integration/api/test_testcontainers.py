"""testcontainers-python (its reaper, Ryuk, disabled) on minidocker's API: start a
container, wait for a log line, read it, remove it."""

from __future__ import annotations

import os

import pytest

from tests.integration.api.conftest import Service


def test_testcontainers_waits_for_a_log_line(service: Service,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in service.env.items():
        if key.startswith("DOCKER_"):
            monkeypatch.setenv(key, value)
    monkeypatch.setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.waiting_utils import wait_for_logs

    container = DockerContainer("busybox").with_command(
        ["sh", "-c", "echo warming up; sleep 1; echo service ready; sleep 60"])
    with container:
        wait_for_logs(container, "service ready", timeout=30)
        out, _ = container.get_logs()
        assert out == b"warming up\nservice ready\n"
        code, output = container.exec(["echo", "inside"])
        assert (code, output) == (0, b"inside\n")
        cid = container.get_wrapped_container().id
    assert service.ok("ps", "-aq", "--no-trunc").strip() != cid
    assert os.environ["TESTCONTAINERS_RYUK_DISABLED"] == "true"
