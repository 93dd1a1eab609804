"""`service`: `minidocker system service` on a private --root and socket, with busybox:latest
in its store, and the real clients pointed at it (Debian's docker at /usr/bin/docker,
docker-compose, the Docker SDK). Stopped after each test; its containers, networks,
volumes, mounts and root are removed, also when the test fails."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, run_captured, tool
from tests.integration.engine.conftest import Engine
from tests.integration.image.conftest import registry  # noqa: F401 - the image tests' registry

DOCKER = "/usr/bin/docker"  # Debian's docker.io client; never /usr/local/bin/docker
COMPOSE = "/usr/bin/docker-compose"


class Service:
    """The API server of one test, and its clients."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.root = engine.root
        self.socket = engine.root / "api.sock"
        self.url = f"unix://{self.socket}"
        self.docker_config = engine.root / "docker-config"  # the client's, not ~/.docker
        self.docker_config.mkdir()
        self.log = open(engine.root / "service.log", "wb")  # noqa: SIM115
        self.proc: subprocess.Popen[bytes] | None = None
        self.extra_args: list[str] = []
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [tool("minidocker"), "--root", str(self.root), "system", "service", "--time", "0",
             *self.extra_args, self.url],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not self.answers():  # (a killed service's socket file may still be there)
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the service did not start: {self.log_text()}")
            time.sleep(0.02)

    def answers(self) -> bool:
        try:
            return self.raw(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n", timeout=5) \
                .startswith(b"HTTP/1.1 200")
        except OSError:
            return False

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_text(self) -> str:
        self.log.flush()
        return (self.root / "service.log").read_text(errors="replace")

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
        env.update(DOCKER_HOST=self.url, DOCKER_CONFIG=str(self.docker_config))
        return env

    def docker(self, *args: str, check: bool = False, timeout: float = 120,
               **kw: Any) -> subprocess.CompletedProcess[str]:
        kw.setdefault("env", self.env)
        return run_captured([DOCKER, *args], check=check, timeout=timeout, **kw)

    def ok(self, *args: str, **kw: Any) -> str:
        result = self.docker(*args, **kw)
        assert result.returncode == 0, \
            f"docker {' '.join(args)}: {result.returncode}: {result.stderr}\n{self.log_text()}"
        return result.stdout

    def client(self) -> Any:
        """The Docker SDK for Python, on our socket."""
        import docker
        return docker.DockerClient(base_url=self.url, timeout=120)

    def raw(self, data: bytes, timeout: float = 30) -> bytes:
        """Send `data` on a new connection; what the service answers until it closes."""
        import socket
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(timeout)
            sock.connect(str(self.socket))
            try:
                sock.sendall(data)
                sock.shutdown(socket.SHUT_WR)
            except BrokenPipeError:
                pass  # it answered (413) before reading all: the answer is there
            out = b""
            while chunk := sock.recv(65536):
                out += chunk
        return out


def _import_busybox(engine: Engine) -> None:
    engine.ok("import", "--change", 'CMD ["sh"]', engine.image, "busybox:latest")


@pytest.fixture
def service(busybox_rootfs: Path) -> Iterator[Service]:
    for program in (DOCKER,):
        if not os.access(program, os.X_OK):
            pytest.fail(f"{program} is not installed: run make setup-dev (docker.io)")
    root = Path(tempfile.mkdtemp(prefix="md-api-"))
    engine = Engine(root, busybox_rootfs)
    svc = None
    try:
        _import_busybox(engine)
        svc = Service(engine)
        yield svc
    finally:
        if svc is not None:
            svc.stop()
            svc.log.close()
        engine.cleanup()
        assert not root.exists() or not any(root.iterdir()), "the test left files behind"
        shutil.rmtree(root, ignore_errors=True)


def minidocker(service: Service, *args: str, check: bool = True
               ) -> subprocess.CompletedProcess[str]:
    """The CLI on the service's root: what one front end does, the other sees."""
    return run_captured([tool("minidocker"), "--root", str(service.root), *args],
                        check=check)


__all__ = ["REPO", "Service", "minidocker"]
