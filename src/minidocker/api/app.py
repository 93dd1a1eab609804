"""Requests to handlers: the route table, the /v1.NN prefix, and Docker's error bodies.

A handler is `async def handler(api, request) -> Reply | None`: a Reply is sent with its
length; None means the handler wrote its response itself (a stream, a hijack)."""

from __future__ import annotations

import re
import sys
import time
import traceback

from minidocker.api import versions
from minidocker.api.http import ClientGone, HTTPError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from typing import Any

    from minidocker.api.http import Connection, Request
    from minidocker.api.server import API

    Handler = Callable[[API, Request], Awaitable["Reply | None"]]

_VERSION_PREFIX = re.compile(r"/v([0-9]+\.[0-9]+)(/.*)$")


class Reply:
    """A whole response: a status and a body (JSON of `data`, or bytes as they are)."""

    def __init__(self, status: int = 200, data: Any = None, *, raw: bytes | None = None,
                 content_type: str = "application/json",
                 headers: list[tuple[str, str]] | None = None):
        self.status = status
        self.content_type = content_type
        self.headers = headers or []
        if raw is not None:
            self.body = raw
        elif data is None:
            self.body = b""
        else:
            from minidocker import jsonfast
            self.body = jsonfast.dumps(data).encode() + b"\n"


def no_content() -> Reply:
    return Reply(204)


class Router:
    """Method + path pattern -> handler. `{name}` is one path segment; `{name:path}` may
    hold slashes (image names: /images/library/busybox:latest/json)."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        regex = ""
        for part in re.split(r"(\{[a-z_]+(?::path)?\})", pattern):
            if part.startswith("{"):
                name, _, kind = part[1:-1].partition(":")
                regex += f"(?P<{name}>.+)" if kind == "path" else f"(?P<{name}>[^/]+)"
            else:
                regex += re.escape(part)
        self.routes.append((method, re.compile(regex + "$"), handler))

    def match(self, method: str, path: str) -> tuple[Handler, dict[str, str]]:
        allowed = False
        for route_method, regex, handler in self.routes:
            m = regex.match(path)
            if m is None:
                continue
            if route_method == method or (method == "HEAD" and route_method == "GET"):
                return handler, m.groupdict()
            allowed = True
        if allowed:
            raise HTTPError(405, f"method {method} not allowed for {path}")
        raise HTTPError(404, "page not found")


def status_of(exc: BaseException) -> int:
    """Docker's status for an engine error: the error's own when it carries one (the
    service layer's do), else by its kind; anything unexpected is a 500."""
    status = getattr(exc, "status", None)
    if isinstance(status, int) and 100 <= status < 600:
        return status
    from minidocker import errors
    if isinstance(exc, errors.NotFound):
        return 404
    if isinstance(exc, errors.Conflict):
        return 409
    if isinstance(exc, (errors.UsageError, errors.InvalidConfig)):
        return 400
    return 500


def message_of(exc: BaseException) -> str:
    from minidocker.errors import MinidockerError, describe
    if isinstance(exc, HTTPError):
        return exc.message
    if isinstance(exc, MinidockerError):
        return exc.message + (f" ({exc.hint})" if exc.hint else "")
    return describe(exc)


async def dispatch(api: API, router: Router, conn: Connection, request: Request) -> None:
    """Serve one request: its handler's reply, or Docker's error body for what failed."""
    try:
        path = request.path
        m = _VERSION_PREFIX.match(path)
        if m is not None:
            problem = versions.check(m.group(1))
            if problem is not None:
                raise HTTPError(400, problem)
            request.api_version = m.group(1)
            path = m.group(2)
        handler, params = router.match(request.method, path)
        request.params = params
        started = time.monotonic()
        reply = await handler(api, request)
        if api.debug:
            sys.stderr.write(f"minidocker-api: {request.method} {request.target} "
                             f"({(time.monotonic() - started) * 1000:.1f} ms)\n")
        if reply is not None:
            if not await request.discard():
                request.keep_alive = False
            await conn.send(request, reply.status, reply.body, reply.content_type,
                            reply.headers)
    except ClientGone:
        raise
    except Exception as e:  # noqa: BLE001 - every failure becomes Docker's error body
        await send_error(api, conn, request, e)


async def send_error(api: API, conn: Connection, request: Request | None,
                     exc: BaseException) -> None:
    status = exc.status if isinstance(exc, HTTPError) else status_of(exc)
    message = message_of(exc)
    if status >= 500 and not isinstance(exc, HTTPError):
        from minidocker.errors import MinidockerError
        if api.debug or not isinstance(exc, (MinidockerError, OSError)):
            traceback.print_exception(exc, file=sys.stderr)
    if api.debug or status >= 500:
        what = f"{request.method} {request.target}" if request is not None else "request"
        sys.stderr.write(f"minidocker-api: {what}: {status} {message}\n")
    if conn.hijacked:
        return  # the stream is raw bytes now: nothing more to say in HTTP
    if conn.sent_head:
        # a stream is under way: Docker's clients read an error as a last JSON line
        if conn.chunked:
            from minidocker import jsonfast
            line = {"errorDetail": {"message": message}, "error": message}
            try:
                await conn.write(jsonfast.dumps(line).encode() + b"\n")
                await conn.end_stream()
            except ClientGone:
                pass
        if request is not None:
            request.keep_alive = False
        return
    if request is not None and (isinstance(exc, HTTPError) and exc.status in (408, 413)
                                or not request.body_done):
        request.keep_alive = False  # what is left of its body cannot be trusted
    from minidocker import jsonfast
    body = b"" if status == 304 else jsonfast.dumps({"message": message}).encode() + b"\n"
    try:
        await conn.send(request, status, body)
    except ClientGone:
        pass
