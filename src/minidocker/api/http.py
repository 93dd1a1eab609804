"""HTTP/1.1 on asyncio streams, the part of it that Docker's clients use: requests read
with limits and stall timeouts (a Content-Length or chunked body), responses with a length
or chunked, and the connection handed over raw to attach and exec (hijacking, with or
without `Upgrade: tcp`). docs/api.md says why this is ours and not a library's."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import parse_qs, unquote

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MAX_HEAD = 64 * 1024          # request line + headers (Go's server allows 1 MiB; no client
MAX_HEADERS = 100             # of Docker's sends more than a few hundred bytes)
MAX_JSON_BODY = 16 * 1024 * 1024  # a create or update document; tarballs are streamed
STALL_TIMEOUT = 60.0          # seconds without a byte in the middle of a request
IDLE_TIMEOUT = 300.0          # a kept-alive connection with no new request
WRITE_TIMEOUT = 300.0         # a client that reads nothing of what we send

SERVER = "minidocker"
REASONS = {
    100: "Continue", 101: "UPGRADED", 200: "OK", 201: "Created", 204: "No Content",
    304: "Not Modified", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
    404: "Not Found", 405: "Method Not Allowed", 406: "Not Acceptable",
    408: "Request Timeout", 409: "Conflict", 411: "Length Required",
    413: "Request Entity Too Large", 415: "Unsupported Media Type",
    431: "Request Header Fields Too Large", 500: "Internal Server Error",
    501: "Not Implemented", 503: "Service Unavailable",
}
_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz"
                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


class HTTPError(Exception):
    """A request that cannot be served as asked: its status and a one-line message,
    which the server sends as Docker's error body ({"message": ...})."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class ClientGone(Exception):
    """The client closed the connection, or stopped reading what we send."""


async def _timed(awaitable: Any, timeout: float, what: str) -> Any:
    try:
        return await asyncio.wait_for(awaitable, timeout)
    except TimeoutError:
        raise HTTPError(408, f"timed out after {timeout:g}s {what}")


def bool_value(text: str | None) -> bool:
    """Docker's query booleans: anything but '', '0', 'no', 'false', 'none' is true."""
    return text is not None and text.strip().lower() not in ("", "0", "no", "false", "none")


class Request:
    """One request: its line and headers parsed; the body is read on demand."""

    def __init__(self, conn: Connection, method: str, target: str, version: str,
                 headers: dict[str, str]):
        self.conn = conn
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        raw_path, _, raw_query = target.partition("?")
        self.path = unquote(raw_path)
        try:
            self.query = parse_qs(raw_query, keep_blank_values=True, strict_parsing=False)
        except ValueError as e:
            raise HTTPError(400, f"malformed query string: {e}")
        self.api_version = ""        # set by the router from the /v1.NN prefix
        self.params: dict[str, str] = {}  # path parameters, set by the router
        connection = headers.get("connection", "").lower()
        self.keep_alive = ("close" not in connection if version == "HTTP/1.1"
                           else "keep-alive" in connection)
        self.upgrade_tcp = "upgrade" in connection and \
            headers.get("upgrade", "").lower() == "tcp"
        encoding = headers.get("transfer-encoding", "").lower()
        self._chunked = False
        self._left: int | None = 0  # body bytes left (None: until the last chunk)
        if encoding:
            if encoding != "chunked":
                raise HTTPError(501, f"unsupported transfer encoding {encoding!r}")
            if "content-length" in headers:
                raise HTTPError(400, "both Content-Length and Transfer-Encoding")
            self._chunked = True
            self._left = None
        elif "content-length" in headers:
            text = headers["content-length"]
            if not text.isdigit():
                raise HTTPError(400, f"bad Content-Length {text!r}")
            self._left = int(text)
        self._chunk_left = 0
        self._expect_continue = headers.get("expect", "").lower() == "100-continue"

    # ---- query --------------------------------------------------------------------------

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def flag(self, name: str, default: bool = False) -> bool:
        values = self.query.get(name)
        return bool_value(values[-1]) if values else default

    def int_arg(self, name: str, default: int | None = None) -> int | None:
        text = self.arg(name)
        if text is None or text == "":
            return default
        try:
            return int(text)
        except ValueError:
            raise HTTPError(400, f"invalid value for {name}: {text!r} is not an integer")

    def json_arg(self, name: str) -> Any:
        text = self.arg(name)
        if not text:
            return None
        from minidocker import jsonfast
        try:
            return jsonfast.loads(text)
        except ValueError as e:
            raise HTTPError(400, f"invalid JSON in {name}: {e}")

    # ---- body ---------------------------------------------------------------------------

    @property
    def has_body(self) -> bool:
        return self._chunked or bool(self._left)

    @property
    def body_done(self) -> bool:
        return self._left == 0

    async def read(self, size: int = 65536) -> bytes:
        """The next piece of the body (at most `size` bytes); b"" at its end. A client
        that sends nothing for STALL_TIMEOUT seconds gets 408."""
        if self._left == 0:
            return b""
        if self._expect_continue:
            self._expect_continue = False
            self.conn.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        reader = self.conn.reader
        if self._chunked:
            if self._chunk_left == 0:
                line = await self._line("reading a chunk size")
                size_text = line.split(b";", 1)[0].strip()
                try:
                    self._chunk_left = int(size_text, 16)
                except ValueError:
                    raise HTTPError(400, "malformed chunked body")
                if self._chunk_left < 0 or len(size_text) > 16:
                    raise HTTPError(400, "malformed chunked body")
                if self._chunk_left == 0:
                    while (await self._line("reading the trailer")).strip():
                        pass  # trailer fields: none of Docker's clients sends any
                    self._left = 0
                    return b""
            data = await _timed(reader.read(min(size, self._chunk_left)), STALL_TIMEOUT,
                                "in the middle of the request body")
            if not data:
                raise HTTPError(400, "the client closed the connection mid-body")
            self._chunk_left -= len(data)
            if self._chunk_left == 0 and await self._line("ending a chunk") != b"\r\n":
                raise HTTPError(400, "malformed chunked body")
            return data
        assert self._left is not None
        data = await _timed(reader.read(min(size, self._left)), STALL_TIMEOUT,
                            "in the middle of the request body")
        if not data:
            raise HTTPError(400, "the client closed the connection mid-body")
        self._left -= len(data)
        return data

    async def _line(self, what: str) -> bytes:
        try:
            line: bytes = await _timed(self.conn.reader.readuntil(b"\n"), STALL_TIMEOUT, what)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            raise HTTPError(400, "malformed chunked body")
        return line

    async def body(self, limit: int = MAX_JSON_BODY) -> bytes:
        if self._left is not None and self._left > limit:
            raise HTTPError(413, f"request body of {self._left} bytes is larger than the "
                            f"limit of {limit} bytes")
        parts: list[bytes] = []
        total = 0
        while True:
            data = await self.read()
            if not data:
                return b"".join(parts)
            total += len(data)
            if total > limit:
                raise HTTPError(413, f"request body larger than the limit of {limit} bytes")
            parts.append(data)

    async def json(self, limit: int = MAX_JSON_BODY, default: Any = None) -> Any:
        """The body as JSON (`default` when there is none). Bad JSON is a 400."""
        data = await self.body(limit)
        if not data.strip():
            return default
        from minidocker import jsonfast
        try:
            return jsonfast.loads(data)
        except (ValueError, UnicodeDecodeError) as e:
            raise HTTPError(400, f"invalid JSON body: {e}")

    async def discard(self, limit: int = 1 << 20) -> bool:
        """Read what is left of the body (at most `limit` bytes): True when the connection
        can go on to the next request."""
        total = 0
        try:
            while total <= limit:
                data = await self.read()
                if not data:
                    return True
                total += len(data)
        except HTTPError:
            pass
        return False


class Connection:
    """One client connection: reads requests and writes their responses, in turn."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader = reader
        self.writer = writer
        self.requests = 0
        self.sent_head = False     # the current response's status line is out
        self.chunked = False       # the current response is a chunked stream
        self.hijacked = False
        self.extra_headers: list[tuple[str, str]] = []  # on every response (Api-Version)

    async def next_request(self) -> Request | None:
        """The next request, or None when the client closed (or idled out) between two."""
        timeout = IDLE_TIMEOUT if self.requests else STALL_TIMEOUT
        try:
            head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), timeout)
        except TimeoutError:
            if self.requests:
                return None  # an idle kept-alive connection: just close it
            raise HTTPError(408, "timed out reading the request head")
        except asyncio.IncompleteReadError as e:
            if not e.partial.strip():
                return None
            raise HTTPError(400, "the client closed the connection mid-request")
        except asyncio.LimitOverrunError:
            raise HTTPError(431, f"request head larger than {MAX_HEAD} bytes")
        self.requests += 1
        self.sent_head = self.chunked = False
        return self._parse_head(head)

    def _parse_head(self, head: bytes) -> Request:
        try:
            text = head.decode("latin-1")
        except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes any byte
            raise HTTPError(400, "malformed request head")
        lines = text.split("\r\n")
        while lines and lines[0] == "":  # RFC 9112: ignore empty lines before the request
            lines.pop(0)
        parts = lines[0].split(" ") if lines else []
        if len(parts) != 3 or not parts[0] or not set(parts[0]) <= _TOKEN:
            raise HTTPError(400, "malformed request line")
        method, target, version = parts
        if version not in ("HTTP/1.1", "HTTP/1.0"):
            raise HTTPError(400, f"unsupported protocol version {version!r}")
        if not target.startswith("/"):
            raise HTTPError(400, f"unsupported request target {target!r}")
        headers: dict[str, str] = {}
        count = 0
        for line in lines[1:]:
            if not line:
                continue
            count += 1
            if count > MAX_HEADERS:
                raise HTTPError(431, f"more than {MAX_HEADERS} header fields")
            name, sep, value = line.partition(":")
            if not sep or not name or not set(name) <= _TOKEN:
                raise HTTPError(400, f"malformed header line {line[:40]!r}")
            name = name.lower()
            value = value.strip(" \t")
            if name in headers:
                if name in ("content-length", "host"):
                    raise HTTPError(400, f"duplicate {name} header")
                headers[name] += ", " + value
            else:
                headers[name] = value
        return Request(self, method, target, version, headers)

    # ---- responses ----------------------------------------------------------------------

    def _head(self, status: int, headers: list[tuple[str, str]]) -> bytes:
        lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Unknown')}",
                 f"Date: {time.strftime('%a, %d %b %Y %H:%M:%S GMT', time.gmtime())}",
                 f"Server: {SERVER}"]
        lines += [f"{k}: {v}" for k, v in self.extra_headers + headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def _drain(self) -> None:
        try:
            await asyncio.wait_for(self.writer.drain(), WRITE_TIMEOUT)
        except (TimeoutError, ConnectionError) as e:
            raise ClientGone(str(e) or "the client stopped reading")

    async def send(self, request: Request | None, status: int, body: bytes = b"",
                   content_type: str | None = "application/json",
                   headers: list[tuple[str, str]] | None = None) -> None:
        """A whole response with its length (no body for HEAD, 204 and 304)."""
        hdrs = list(headers or [])
        if status not in (204, 304):
            if content_type and body:
                hdrs.append(("Content-Type", content_type))
            hdrs.append(("Content-Length", str(len(body))))
        if request is None or not request.keep_alive:
            hdrs.append(("Connection", "close"))
        self.sent_head = True
        data = self._head(status, hdrs)
        if status not in (204, 304) and (request is None or request.method != "HEAD"):
            data += body
        self.writer.write(data)
        await self._drain()

    async def start_stream(self, request: Request, status: int = 200,
                           content_type: str = "application/json",
                           headers: list[tuple[str, str]] | None = None) -> None:
        """The head of a chunked response; then write() pieces and end_stream()."""
        hdrs = [("Content-Type", content_type), ("Transfer-Encoding", "chunked")]
        hdrs += headers or []
        if not request.keep_alive:
            hdrs.append(("Connection", "close"))
        self.sent_head = self.chunked = True
        self.writer.write(self._head(status, hdrs))
        await self._drain()

    async def write(self, data: bytes) -> None:
        if not data:
            return
        if self.chunked:
            self.writer.write(b"%x\r\n%s\r\n" % (len(data), data))
        else:
            self.writer.write(data)
        await self._drain()

    async def end_stream(self) -> None:
        if self.chunked:
            self.chunked = False
            self.writer.write(b"0\r\n\r\n")
            await self._drain()

    async def hijack(self, request: Request, content_type: str) -> None:
        """Take the connection over for a raw stream (attach, exec start): 101 to a
        client that asked for `Upgrade: tcp`, else 200 with no length, as dockerd does.
        Nothing after this is HTTP; the connection closes when the stream ends."""
        if request.upgrade_tcp:
            hdrs = [("Content-Type", content_type), ("Connection", "Upgrade"),
                    ("Upgrade", "tcp")]
            status = 101
        else:
            hdrs = [("Content-Type", content_type)]
            status = 200
        self.sent_head = self.hijacked = True
        self.writer.write(self._head(status, hdrs))
        await self._drain()

    def close_write(self) -> None:
        """Half-close: the client reads to the end of what we sent."""
        try:
            if self.writer.can_write_eof():
                self.writer.write_eof()
        except (OSError, RuntimeError):
            pass
