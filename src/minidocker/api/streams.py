"""Docker's stream framing, and the bridges between the server's event loop and the
engine's blocking calls that read or write a stream (tarballs, logs).

Without a terminal, attach, exec and logs carry stdout and stderr multiplexed: each piece
behind an 8-byte header, [stream, 0, 0, 0, size as 4 bytes big-endian], stream 1 for
stdout and 2 for stderr. With a terminal the bytes go raw."""

from __future__ import annotations

import asyncio

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

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
        self.error: BaseException | None = None  # why the body could not be read

    def _fill(self, size: int) -> None:
        future = asyncio.run_coroutine_threadsafe(self.request.read(max(size, 65536)),
                                                  self.loop)
        try:
            data = future.result()
        except BaseException as e:
            self.error = e  # the engine wraps what it sees; the handler answers this
            raise
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


class Pump:
    """Bytes made by an engine iteration in a worker thread (log entries, events), sent
    by the event loop: whatever piled up while the last write went out goes in the next
    one (few writes for a long log, no delay for a followed one). The thread waits when
    more than `high` bytes wait to go (a slow client slows the reader, never the engine's
    other work), and stops when told the client left."""

    def __init__(self, loop: asyncio.AbstractEventLoop, high: int = 1 << 20):
        import threading
        self.loop = loop
        self.high = high
        self.lock = threading.Lock()
        self.room = threading.Event()
        self.room.set()
        self.parts: list[bytes] = []
        self.size = 0
        self.done = False
        self.error: BaseException | None = None
        self.stopped = threading.Event()
        self.wake = asyncio.Event()

    # in the worker thread

    def put(self, data: bytes) -> bool:
        """Queue `data`; False when the client left (stop producing)."""
        while not self.room.wait(0.5):
            if self.stopped.is_set():
                return False
        if self.stopped.is_set():
            return False
        with self.lock:
            first = not self.parts
            self.parts.append(data)
            self.size += len(data)
            if self.size > self.high:
                self.room.clear()
        if first:
            self.loop.call_soon_threadsafe(self.wake.set)
        return True

    def finish(self, error: BaseException | None = None) -> None:
        with self.lock:
            self.done = True
            self.error = error
        self.loop.call_soon_threadsafe(self.wake.set)

    # on the event loop

    async def drain(self, write: Any) -> None:
        """Send everything until the producer finishes; re-raise its error."""
        try:
            while True:
                await self.wake.wait()
                self.wake.clear()
                with self.lock:
                    data = b"".join(self.parts)
                    self.parts = []
                    self.size = 0
                    self.room.set()
                    done, error = self.done, self.error
                if data:
                    await write(data)
                if done:
                    if error is not None:
                        raise error
                    return
        finally:
            self.stopped.set()
            self.room.set()
