"""Debian's docker-compose 1.29 on minidocker's API: a three-service project (a web
server with a published port, a client that reaches it by service name, a named
volume, environment, depends_on, a healthcheck), brought up, used and taken down."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path

from tests.conftest import run_captured
from tests.integration.api.conftest import COMPOSE, Service
from tests.integration.image.conftest import free_port

PROJECT = """\
version: "3.7"
services:
  web:
    image: busybox
    command: ["sh", "-c", "echo \\"hello $$GREETING\\" > /www/index.html; httpd -f -p 80 -h /www"]
    environment:
      GREETING: compose
    ports:
      - "127.0.0.1:{port}:80"
    volumes:
      - site:/www
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1/"]
      interval: 1s
      timeout: 3s
      retries: 10
  client:
    image: busybox
    command: ["sh", "-c", "while true; do wget -q -O - http://web/ > /tmp/last 2>&1; sleep 1; done"]
    depends_on:
      - web
  store:
    image: busybox
    command: ["sleep", "3600"]
    volumes:
      - site:/site:ro
volumes:
  site:
networks:
  default:
    name: {network}
"""


def compose(service: Service, project: Path, *args: str, check: bool = True,
            timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = service.env
    env.update(COMPOSE_PROJECT_NAME="mdapi", COMPOSE_HTTP_TIMEOUT="120")
    result = run_captured([COMPOSE, "-f", str(project / "docker-compose.yml"), *args],
                          timeout=timeout, env=env, cwd=project)
    if check:
        assert result.returncode == 0, f"{args}: {result.stdout}{result.stderr}\n" \
            f"{service.log_text()}"
    return result


def test_compose_three_services(service: Service, tmp_path: Path) -> None:
    assert os.access(COMPOSE, os.X_OK), "docker-compose is not installed: make setup-dev"
    port = free_port()
    network = f"{service.engine.net_tag}c"
    (tmp_path / "docker-compose.yml").write_text(PROJECT.format(port=port, network=network))
    compose(service, tmp_path, "up", "-d")
    ps = compose(service, tmp_path, "ps").stdout
    for name in ("mdapi_web_1", "mdapi_client_1", "mdapi_store_1"):
        assert name in ps and "Up" in ps.split(name, 1)[1].splitlines()[0], ps
    deadline = time.monotonic() + 60
    while True:
        health = service.ok("inspect", "-f", "{{.State.Health.Status}}", "mdapi_web_1").strip()
        if health == "healthy" or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert health == "healthy"
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as reply:
        assert reply.read() == b"hello compose\n"
    deadline = time.monotonic() + 30
    seen = ""
    while time.monotonic() < deadline:
        seen = compose(service, tmp_path, "exec", "-T", "client", "cat", "/tmp/last",
                       check=False).stdout
        if seen == "hello compose\n":
            break
        time.sleep(0.5)
    assert seen == "hello compose\n"  # the client reached `web` by its service name
    assert compose(service, tmp_path, "exec", "-T", "store", "cat",
                   "/site/index.html").stdout == "hello compose\n"
    logs = compose(service, tmp_path, "logs", "--no-color", "web").stdout
    assert "mdapi_web_1" in logs
    compose(service, tmp_path, "restart", "client")
    assert service.ok("inspect", "-f", "{{.State.Status}} {{.RestartCount}}",
                      "mdapi_client_1").startswith("running")
    compose(service, tmp_path, "down", "-v")
    assert service.ok("ps", "-aq") == ""
    assert "mdapi_site" not in service.ok("volume", "ls", "-q")
    assert network not in service.ok("network", "ls", "--format", "{{.Name}}")
    labels = service.ok("ps", "-a", "--format", "{{json .Labels}}")
    assert labels == ""
    assert json.loads(service.ok("network", "ls", "--format", "{{json .Name}}")
                      .splitlines()[0])
