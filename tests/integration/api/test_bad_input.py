"""Bad input through the API: each gets Docker's status and a one-line JSON message, the
service stays up, and nothing is left behind."""

from __future__ import annotations

import json
import os
import socket
import time

import pytest

from tests.integration.api.conftest import Service


def parse(raw: bytes) -> tuple[int, str]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    text = body.decode(errors="replace")
    if b"transfer-encoding: chunked" in head.lower():
        text = "".join(text.split("\r\n")[1::2])
    return status, text


def call(service: Service, method: str, path: str, body: bytes | str = b"",
         headers: str = "") -> tuple[int, str]:
    data = body.encode() if isinstance(body, str) else body
    raw = service.raw(f"{method} {path} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n"
                      f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
                      f"{headers}\r\n".encode() + data)
    return parse(raw)


def one_line_message(text: str) -> str:
    assert text.endswith("\n") and text.count("\n") == 1, text
    doc = json.loads(text)
    assert list(doc) == ["message"]
    return str(doc["message"])


def assert_nothing_made(service: Service) -> None:
    assert service.ok("ps", "-aq") == ""
    assert not [n for n in os.listdir(service.root / "containers") if not n.startswith(".")] \
        if (service.root / "containers").exists() else True


@pytest.mark.parametrize("body,words", [
    ("{not json", "invalid JSON"),
    ('{"Image": 5}', "Image"),
    ('["a", "list"]', "object"),
    ('{"Image": "busybox", "Env": "A=1"}', "Env"),
    ('{"Image": "busybox", "HostConfig": {"Memory": "lots"}}', "Memory"),
    ('{"Image": "busybox", "HostConfig": {"PortBindings": {"80/tcp": "x"}}}', "PortBindings"),
    ('{"Image": "busybox", "HostConfig": {"RestartPolicy": {"Name": "sometimes"}}}',
     "restart policy"),
    ('{"Image": "busybox", "HostConfig": {"NetworkMode": "no-such-net"}}', "no-such-net"),
])
def test_create_refuses_bad_bodies(service: Service, body: str, words: str) -> None:
    status, text = call(service, "POST", "/v1.41/containers/create", body)
    assert status in (400, 404), text
    assert words.lower() in one_line_message(text).lower()
    assert_nothing_made(service)


@pytest.mark.parametrize("method,path,status,words", [
    ("GET", "/containers/nosuch/json", 404, "No such container: nosuch"),
    ("POST", "/containers/nosuch/start", 404, "No such container: nosuch"),
    ("DELETE", "/containers/nosuch", 404, "No such container: nosuch"),
    ("GET", "/images/nosuch:1/json", 404, "No such image: nosuch:1"),
    ("DELETE", "/images/nosuch:1", 404, "No such image: nosuch:1"),
    ("GET", "/networks/nosuch", 404, "nosuch"),
    ("DELETE", "/networks/nosuch", 404, "nosuch"),
    ("GET", "/volumes/nosuch", 404, "nosuch"),
    ("GET", "/exec/nosuch/json", 404, "nosuch"),
    ("POST", "/containers/create?name=bad/name", 400, "name"),
    ("GET", "/containers/json?filters=notjson", 400, "filters"),
    ("GET", "/containers/json?limit=many", 400, "limit"),
    ("POST", "/containers/nosuch/kill?signal=SIGNOPE", 400, "SIGNOPE"),  # as dockerd
])
def test_unknown_names_and_bad_parameters(service: Service, method: str, path: str,
                                          status: int, words: str) -> None:
    body = '{"Image": "busybox"}' if path.startswith("/containers/create") else ""
    got, text = call(service, method, path, body)
    assert got == status, text
    assert words.lower() in one_line_message(text).lower()
    assert_nothing_made(service)


def test_conflicts_and_not_modified(service: Service) -> None:
    service.ok("run", "-d", "--name", "busy", "busybox", "sleep", "60")
    status, text = call(service, "DELETE", "/containers/busy")
    assert status == 409 and "running" in one_line_message(text)
    status, text = call(service, "POST", "/containers/create?name=busy",
                        '{"Image": "busybox"}')
    assert status == 409 and "busy" in one_line_message(text)
    status, text = call(service, "POST", "/containers/busy/start")
    assert (status, text) == (304, "")
    status, text = call(service, "POST", "/containers/busy/kill?signal=SIGNOPE")
    assert status == 400, text
    service.ok("stop", "-t", "1", "busy")
    status, text = call(service, "POST", "/containers/busy/stop")
    assert (status, text) == (304, "")


def test_a_body_over_the_limit(service: Service) -> None:
    big = b'{"Image": "busybox", "Env": ["A=' + b"x" * (17 << 20) + b'"]}'
    status, text = call(service, "POST", "/containers/create", big)
    assert status == 413 and "limit" in one_line_message(text)
    assert_nothing_made(service)
    assert service.ok("version", "-f", "{{.Server.APIVersion}}") == "1.41\n"


def stall(service: Service, head: bytes, first: bytes) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX)
    sock.settimeout(60)
    sock.connect(str(service.socket))
    sock.sendall(head + first)
    return sock


def read_all(sock: socket.socket) -> bytes:
    out = b""
    while chunk := sock.recv(65536):
        out += chunk
    sock.close()
    return out


def test_stalled_clients_time_out_and_others_are_served(service: Service) -> None:
    service.stop()
    service.extra_args = ["--stall-timeout", "2"]
    service.start()
    service.ok("run", "-d", "--name", "box", "busybox", "sleep", "60")
    mid_request = stall(service, b"POST /containers/create HTTP/1.1\r\nHost: x\r\n", b"")
    mid_body = stall(service, b"POST /containers/create HTTP/1.1\r\nContent-Length: 100\r\n"
                     b"Content-Type: application/json\r\n\r\n", b'{"Image": ')
    mid_upload = stall(service, b"PUT /containers/box/archive?path=/tmp HTTP/1.1\r\n"
                       b"Content-Type: application/x-tar\r\nContent-Length: 1048576\r\n\r\n",
                       b"\0" * 10240)
    mid_load = stall(service, b"POST /images/load HTTP/1.1\r\nContent-Type: application/x-tar"
                     b"\r\nTransfer-Encoding: chunked\r\n\r\n", b"2800\r\n" + b"\0" * 10240)
    started = time.monotonic()
    assert service.ok("ps", "-q") != ""  # served meanwhile
    for sock in (mid_request, mid_body, mid_upload, mid_load):
        status, text = parse(read_all(sock))
        assert status == 408, text
        assert "timed out" in one_line_message(text)
    assert time.monotonic() - started < 50
    assert service.ok("images", "-q") .count("\n") == 1  # nothing loaded
    assert service.ok("exec", "box", "ls", "/tmp") == ""
    assert service.alive()
