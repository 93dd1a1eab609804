"""The service on TCP (loopback, and TLS with client certificates), and many clients at
once: followers and attached clients that never end do not hold up anyone else."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

from tests.conftest import tool
from tests.integration.api.conftest import DOCKER, Service
from tests.integration.image.conftest import free_port


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certs(d: Path) -> None:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, as Docker's
    "Protect the Docker daemon socket" guide makes them."""
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=ca",
            "-keyout", "ca-key.pem", "-out", "ca.pem", cwd=d)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
            "/CN=stranger", "-keyout", "stranger-key.pem", "-out", "stranger.pem", cwd=d)
    for name, ext in (("server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth"),
                      ("client", "extendedKeyUsage=clientAuth")):
        (d / f"{name}.ext").write_text(ext + "\n")
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
                "-keyout", f"{name}-key.pem", "-out", f"{name}.csr", cwd=d)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem",
                "-CAcreateserial", "-days", "1", "-extfile", f"{name}.ext",
                "-out", f"{name}.pem", cwd=d)


def second_service(service: Service, *args: str) -> subprocess.Popen[bytes]:
    log = (service.root / "second.log").open("wb")
    return subprocess.Popen([tool("minidocker"), "--root", str(service.root), "system",
                             "service", "--time", "0", *args], stdin=subprocess.DEVNULL,
                            stdout=log, stderr=subprocess.STDOUT)


def until_ok(cmd: list[str], env: dict[str, str], proc: subprocess.Popen[bytes]
             ) -> subprocess.CompletedProcess[str]:
    deadline = time.monotonic() + 30
    while True:
        result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
        if result.returncode == 0 or proc.poll() is not None or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def test_tcp_on_loopback_and_with_tls(service: Service, tmp_path: Path) -> None:
    env = {k: v for k, v in service.env.items() if k != "DOCKER_HOST"}
    port = free_port()
    proc = second_service(service, f"tcp://127.0.0.1:{port}")
    try:
        result = until_ok([DOCKER, "-H", f"tcp://127.0.0.1:{port}", "version", "-f",
                           "{{.Server.APIVersion}}"], env, proc)
        assert result.stdout == "1.41\n", result.stderr
    finally:
        stop(proc)
    refused = subprocess.run([tool("minidocker"), "--root", str(service.root), "system",
                              "service", "tcp://0.0.0.0:2375"], capture_output=True, text=True,
                             timeout=60)
    assert refused.returncode == 125 and "root on this host" in refused.stderr
    make_certs(tmp_path)
    port = free_port()
    proc = second_service(service, "--tlscert", str(tmp_path / "server.pem"), "--tlskey",
                          str(tmp_path / "server-key.pem"), "--tlscacert",
                          str(tmp_path / "ca.pem"), f"tcp://127.0.0.1:{port}")
    try:
        tls = [DOCKER, "-H", f"tcp://127.0.0.1:{port}", "--tlsverify", "--tlscacert",
               str(tmp_path / "ca.pem")]
        result = until_ok([*tls, "--tlscert", str(tmp_path / "client.pem"), "--tlskey",
                           str(tmp_path / "client-key.pem"), "ps", "-q"], env, proc)
        assert result.returncode == 0, result.stderr
        # a client certificate that CA did not sign, and none at all: refused
        stranger = subprocess.run([*tls, "--tlscert", str(tmp_path / "stranger.pem"),
                                   "--tlskey", str(tmp_path / "stranger-key.pem"), "ps"],
                                  env=env, capture_output=True, text=True, timeout=60)
        assert stranger.returncode != 0
        anonymous = subprocess.run([DOCKER, "-H", f"tcp://127.0.0.1:{port}", "--tls",
                                    "--tlscacert", str(tmp_path / "ca.pem"), "ps"], env=env,
                                   capture_output=True, text=True, timeout=60)
        assert anonymous.returncode != 0
        assert proc.poll() is None  # the service stays up
    finally:
        stop(proc)


def test_followers_and_attached_clients_hold_up_no_one(service: Service) -> None:
    service.ok("run", "-d", "--name", "quiet", "busybox", "sleep", "600")
    followers = [subprocess.Popen([DOCKER, *args], env=service.env, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for args in (["logs", "-f", "quiet"], ["attach", "--no-stdin", "quiet"],
                              ["events"], ["stats", "quiet"], ["wait", "quiet"])]
    try:
        results: dict[int, str] = {}

        def run(n: int) -> None:
            results[n] = service.docker("run", "--rm", "busybox", "echo", str(n)).stdout

        threads = [threading.Thread(target=run, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert results == {n: f"{n}\n" for n in range(6)}
        assert service.ok("ps", "--format", "{{.Names}}") == "quiet\n"
        assert all(f.poll() is None for f in followers)  # still following
    finally:
        for f in followers:
            f.kill()
            f.wait()
    time.sleep(0.5)
    assert service.ok("inspect", "-f", "{{.State.Status}}", "quiet") == "running\n"


def test_a_start_sent_the_moment_attach_is_answered_streams_everything(service: Service
                                                                        ) -> None:
    """`docker run` sends its start as soon as the attach is answered: the service counts
    that client as waiting before it answers, or the container could run unattached and
    its output be lost."""
    import json
    import socket

    def request(sock: socket.socket, method: str, path: str, body: bytes = b"",
                upgrade: bool = False) -> None:
        extra = b"Connection: Upgrade\r\nUpgrade: tcp\r\n" if upgrade else b""
        sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: docker\r\n".encode() + extra +
                     f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                     .encode() + body)

    def head(sock: socket.socket) -> bytes:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(1)
            assert chunk, data
            data += chunk
        return data

    for n in range(20):
        with socket.socket(socket.AF_UNIX) as api:
            api.settimeout(60)
            api.connect(str(service.socket))
            body = json.dumps({"Image": "busybox", "Cmd": ["echo", f"out{n}"],
                               "AttachStdout": True}).encode()
            request(api, "POST", "/v1.41/containers/create", body)
            answer = head(api)
            length = int(answer.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            got = b""
            while len(got) < length:
                got += api.recv(length - len(got))
            cid = json.loads(got)["Id"]
            with socket.socket(socket.AF_UNIX) as attach, \
                    socket.socket(socket.AF_UNIX) as start:
                for sock in (attach, start):
                    sock.settimeout(60)
                    sock.connect(str(service.socket))
                request(attach, "POST", f"/v1.41/containers/{cid}/attach?stream=1&stdout=1",
                        upgrade=True)
                assert head(attach).startswith(b"HTTP/1.1 101")
                request(start, "POST", f"/v1.41/containers/{cid}/start")  # at once
                out = b""
                while chunk := attach.recv(65536):
                    out += chunk
                assert f"out{n}".encode() in out, (n, out)
        service.ok("rm", "-f", cid)
