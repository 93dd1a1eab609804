"""The HTTP layer of the API server, spoken to in raw bytes over a unix socket: what
Docker's clients send, and what a broken or hostile client sends."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from minidocker.api import http
from minidocker.api.app import Reply
from minidocker.api.handlers import system
from minidocker.api.server import API
from minidocker.errors import Conflict, NotFound


async def _echo(api: API, request: http.Request) -> Reply:
    body = await request.json(limit=1024)
    return Reply(200, {"got": body, "version": request.api_version})


async def _raw_echo(api: API, request: http.Request) -> Reply:
    data = await request.body(limit=1 << 20)
    return Reply(200, raw=data, content_type="application/octet-stream")


async def _fail(api: API, request: http.Request) -> Reply:
    kind = request.params["kind"]
    raise {"notfound": NotFound("no such container: x"), "conflict": Conflict("busy"),
           "bug": ZeroDivisionError("division by zero")}[kind]


async def _hijack(api: API, request: http.Request) -> None:
    conn = request.conn
    await conn.hijack(request, "application/vnd.docker.raw-stream")
    data = await conn.reader.read(100)
    conn.writer.write(b"echo:" + data)
    await conn.writer.drain()
    conn.close_write()


def _api() -> API:
    api = API("/nonexistent", debug=False)
    for method, pattern, handler in system.ROUTES:
        api.router.add(method, pattern, handler)
    api.router.add("POST", "/echo", _echo)
    api.router.add("POST", "/raw", _raw_echo)
    api.router.add("GET", "/fail/{kind}", _fail)
    api.router.add("POST", "/hijack", _hijack)
    return api


def serve(scenario: Callable[[str], Awaitable[Any]]) -> Any:
    """Run `scenario(socket path)` against a server on a private unix socket."""
    async def main() -> Any:
        api = _api()
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "api.sock")
            server = await asyncio.start_unix_server(api.handle, path, limit=http.MAX_HEAD)
            try:
                return await asyncio.wait_for(scenario(path), 30)
            finally:
                server.close()
    return asyncio.run(main())


async def exchange(path: str, data: bytes, *, close: bool = False) -> bytes:
    """Send `data` on a new connection and read until the server closes it."""
    reader, writer = await asyncio.open_unix_connection(path)
    writer.write(data)
    if close:
        writer.write_eof()
    out = await reader.read(-1)
    writer.close()
    return out


def parse(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, body


def request(method: str, target: str, body: bytes = b"", headers: str = "",
            close: bool = True) -> bytes:
    conn = "Connection: close\r\n" if close else ""
    length = f"Content-Length: {len(body)}\r\n" if body else ""
    return (f"{method} {target} HTTP/1.1\r\nHost: docker\r\n{conn}{length}{headers}\r\n"
            .encode() + body)


def test_ping_and_head_say_the_api_version() -> None:
    async def scenario(path: str) -> None:
        status, headers, body = parse(await exchange(path, request("GET", "/_ping")))
        assert (status, body) == (200, b"OK")
        assert headers["api-version"] == "1.41"
        assert headers["ostype"] == "linux"
        status, headers, body = parse(await exchange(path, request("HEAD", "/v1.24/_ping")))
        assert (status, body, headers["content-length"]) == (200, b"", "2")
    serve(scenario)


@pytest.mark.parametrize("version,status,words", [
    ("1.41", 200, ""), ("1.12", 200, ""),
    ("1.42", 400, "client version 1.42 is too new. Maximum supported API version is 1.41"),
    ("1.11", 400, "client version 1.11 is too old. Minimum supported API version is 1.12"),
])
def test_version_prefix(version: str, status: int, words: str) -> None:
    async def scenario(path: str) -> None:
        got, _, body = parse(await exchange(path, request("POST", f"/v{version}/echo",
                                                          b'{"a": 1}')))
        assert got == status
        if words:
            assert words in body.decode()
        else:
            assert b'"version":"%s"' % version.encode() in body
    serve(scenario)


def test_version_document() -> None:
    async def scenario(path: str) -> None:
        import json
        status, _, body = parse(await exchange(path, request("GET", "/version")))
        doc = json.loads(body)
        assert status == 200
        assert (doc["ApiVersion"], doc["MinAPIVersion"], doc["Os"]) == ("1.41", "1.12", "linux")
    serve(scenario)


def test_errors_have_dockers_statuses_and_body() -> None:
    async def scenario(path: str) -> None:
        for target, status, message in [("/fail/notfound", 404, "no such container: x"),
                                        ("/fail/conflict", 409, "busy"),
                                        ("/fail/bug", 500, "division by zero"),
                                        ("/nowhere", 404, "page not found")]:
            got, headers, body = parse(await exchange(path, request("GET", target)))
            assert got == status
            assert headers["content-type"] == "application/json"
            assert body == b'{"message":"%s"}\n' % message.encode()
        got, _, body = parse(await exchange(path, request("DELETE", "/echo")))
        assert got == 405
    serve(scenario)


def test_keep_alive_serves_requests_in_turn() -> None:
    async def scenario(path: str) -> None:
        data = (request("POST", "/echo", b'{"n":1}', close=False) +
                request("POST", "/echo", b'{"n":2}', close=False) +
                request("GET", "/_ping"))
        raw = await exchange(path, data)
        assert raw.count(b"HTTP/1.1 200 OK") == 3
        assert b'{"got":{"n":1}' in raw and b'{"got":{"n":2}' in raw
    serve(scenario)


def test_chunked_body() -> None:
    async def scenario(path: str) -> None:
        chunked = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n"
        raw = await exchange(path, request("POST", "/raw", headers="Transfer-Encoding: "
                                           "chunked\r\n") + chunked)
        assert parse(raw)[::2] == (200, b"hello world")
    serve(scenario)


@pytest.mark.parametrize("data,status", [
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET /_ping HTTP/2.0\r\n\r\n", 400),
    (b"GET /_ping HTTP/1.1\r\nno colon here\r\n\r\n", 400),
    (b"GET /_ping HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
    (b"POST /raw HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
    (b"POST /raw HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n", 400),
    (b"POST /raw HTTP/1.1\r\nContent-Length: -5\r\n\r\n", 400),
    (b"POST /echo HTTP/1.1\r\nContent-Length: 7\r\n\r\n{broken", 400),
    (b"GET /_ping HTTP/1.1\r\n" + b"X-Big: " + b"a" * (http.MAX_HEAD + 10) + b"\r\n\r\n", 431),
    (b"GET /_ping HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(200)) + b"\r\n",
     431),
])
def test_malformed_requests_get_a_status_and_the_service_stays_up(data: bytes,
                                                                 status: int) -> None:
    async def scenario(path: str) -> None:
        raw = await exchange(path, data, close=True)
        got, headers, body = parse(raw)
        assert got == status, raw
        assert body.startswith(b'{"message":"') and body.count(b"\n") == 1
        got, _, body = parse(await exchange(path, request("GET", "/_ping")))
        assert (got, body) == (200, b"OK")
    serve(scenario)


def test_body_over_the_limit_is_413() -> None:
    async def scenario(path: str) -> None:
        big = b'{"a": "' + b"x" * 2000 + b'"}'
        got, _, body = parse(await exchange(path, request("POST", "/echo", big)))
        assert got == 413
        assert b"larger than the limit of 1024 bytes" in body
        chunked = b"".join(b"100\r\n" + b"y" * 256 + b"\r\n" for _ in range(8)) + b"0\r\n\r\n"
        got, _, _ = parse(await exchange(path, request(
            "POST", "/echo", headers="Transfer-Encoding: chunked\r\n") + chunked))
        assert got == 413
    serve(scenario)


def test_a_client_that_stalls_gets_408_and_others_are_served(monkeypatch:
                                                             pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http, "STALL_TIMEOUT", 0.5)

    async def scenario(path: str) -> None:
        # stalls mid-head, then mid-body; meanwhile another client is served at once
        r1, w1 = await asyncio.open_unix_connection(path)
        w1.write(b"GET /_ping HTTP/1.1\r\nHost: x\r\n")
        r2, w2 = await asyncio.open_unix_connection(path)
        w2.write(b"POST /echo HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"a\":")
        got, _, body = parse(await exchange(path, request("GET", "/_ping")))
        assert (got, body) == (200, b"OK")
        for reader in (r1, r2):
            got, _, body = parse(await asyncio.wait_for(reader.read(-1), 10))
            assert got == 408
            assert b"timed out" in body
        w1.close()
        w2.close()
    serve(scenario)


def test_hijack_with_and_without_upgrade() -> None:
    async def scenario(path: str) -> None:
        upgrade = "Connection: Upgrade\r\nUpgrade: tcp\r\n"
        for headers, status in ((upgrade, 101), ("", 200)):
            reader, writer = await asyncio.open_unix_connection(path)
            writer.write(request("POST", "/hijack", headers=headers, close=False) + b"ping")
            raw = await asyncio.wait_for(reader.read(-1), 10)  # half-closed by the server
            got, hdrs, rest = parse(raw)
            assert got == status
            assert hdrs["content-type"] == "application/vnd.docker.raw-stream"
            assert "content-length" not in hdrs and "transfer-encoding" not in hdrs
            assert rest == b"echo:ping"
            if status == 101:
                assert hdrs["upgrade"] == "tcp"
            writer.close()
    serve(scenario)


def test_expect_continue() -> None:
    async def scenario(path: str) -> None:
        reader, writer = await asyncio.open_unix_connection(path)
        writer.write(request("POST", "/raw", headers="Expect: 100-continue\r\n"
                             "Content-Length: 3\r\n"))
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        writer.write(b"abc")
        assert parse(await reader.read(-1))[::2] == (200, b"abc")
        writer.close()
    serve(scenario)


@pytest.mark.parametrize("text,value", [("1", True), ("true", True), ("True", True),
                                        ("0", False), ("false", False), ("", False),
                                        ("no", False), (None, False)])
def test_bool_values(text: str | None, value: bool) -> None:
    assert http.bool_value(text) is value
