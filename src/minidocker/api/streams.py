"""Docker's stream framing, and the bridges between the server's event loop and the
engine's blocking calls that read or write a stream (tarballs, logs).

Without a terminal, attach, exec and logs carry stdout and stderr multiplexed: each piece
behind an 8-byte header, [stream, 0, 0, 0, size as 4 bytes big-endian], stream 1 for
stdout and 2 for stderr. With a terminal the bytes go raw."""

from __future__ import annotations

import asyncio

TYPE_CHECKING = False
if TYPE_CHECKING:
    from minidocker.api.http import Connection, Request

STDIN, STDOUT, STDERR = 0, 1, 2
RAW_STREAM = "application/vnd.docker.raw-stream"
MULTIPLEXED_STREAM = "application/vnd.docker.multiplexed-stream"  # API 1.42 and later
MAX_FRAME = 1 << 20  # Docker's clients take any size; ours are cut to keep frames small


def frame(stream: int, data: bytes) -> bytes:
    """One multiplexed frame (no size limit: the caller cuts long data with frames())."""
    return bytes((stream, 0, 0, 0)) + len(data).to_bytes(4, "big") + data


def frames(stream: int, data: bytes) -> bytes:
    if len(data) <= MAX_FRAME:
        return frame(stream, data)
    return b"".join(frame(stream, data[i:i + MAX_FRAME])
                    for i in range(0, len(data), MAX_FRAME))


def stream_type(api_version: str, tty: bool) -> str:
    """The Content-Type of an attach, exec or logs stream: 1.42 names the multiplexed one."""
    from minidocker.api.versions import at_least
    if not tty and at_least(api_version, "1.42"):
        return MULTIPLEXED_STREAM
    return RAW_STREAM


class Demuxer:
    """Splits a multiplexed byte stream back into (stream, data) pieces (for tests and
    for clients of ours; the server only writes frames)."""

    def __init__(self) -> None:
        self.buf = b""

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self.buf += data
        out = []
        while len(self.buf) >= 8:
            size = int.from_bytes(self.buf[4:8], "big")
            if len(self.buf) < 8 + size:
                break
            out.append((self.buf[0], self.buf[8:8 + size]))
            self.buf = self.buf[8 + size:]
        return out


class BodyReader:
    """A blocking file object over a request body, for an engine call that runs in a
    worker thread and reads a tar stream (load, archive upload): each read() asks the
    event loop for the next piece, with the request's stall timeout."""

    def __init__(self, request: Request, loop: asyncio.AbstractEventLoop):
        self.request = request
        self.loop = loop
        self.buf = b""
        self.eof = False

    def _fill(self, size: int) -> None:
        future = asyncio.run_coroutine_threadsafe(self.request.read(max(size, 65536)),
                                                  self.loop)
        data = future.result()
        if not data:
            self.eof = True
        self.buf += data

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            while not self.eof:
                self._fill(1 << 20)
            data, self.buf = self.buf, b""
            return data
        while len(self.buf) < size and not self.eof:
            self._fill(size - len(self.buf))
        data, self.buf = self.buf[:size], self.buf[size:]
        return data

    def readable(self) -> bool:
        return True


class BodyWriter:
    """A blocking file object whose writes go out as the response body (chunked), for an
    engine call in a worker thread that writes a stream (export, image save). A client
    that goes away makes write() raise BrokenPipeError, which ends the engine's work."""

    def __init__(self, conn: Connection, loop: asyncio.AbstractEventLoop):
        self.conn = conn
        self.loop = loop
        self.written = 0

    def write(self, data: bytes) -> int:
        if not data:
            return 0
        future = asyncio.run_coroutine_threadsafe(self.conn.write(bytes(data)), self.loop)
        try:
            future.result()
        except Exception as e:  # ClientGone and the like
            raise BrokenPipeError(32, f"the API client went away: {e}")
        self.written += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def writable(self) -> bool:
        return True
