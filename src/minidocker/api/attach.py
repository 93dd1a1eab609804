"""Attach and exec streams on a hijacked connection: the engine's stream objects
(minidocker.engine.service.streams) read on the event loop, written to the client in
Docker's framing (8-byte headers without a terminal, raw bytes with one); the client's
bytes go to the container's stdin, and its half-close closes that stdin when the
container asked for it (StdinOnce) or for an exec. Whatever the client does, the
container goes on: a client that leaves only ends its own stream."""

from __future__ import annotations

import asyncio
import os

from minidocker.api.http import ClientGone
from minidocker.api.streams import STDERR, STDOUT, frames

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from minidocker.api.http import Connection
    from minidocker.api.server import API


async def readable(fd: int) -> None:
    """Wait until `fd` has something to read (or its end)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[None] = loop.create_future()

    def ready() -> None:
        if not future.done():
            future.set_result(None)

    loop.add_reader(fd, ready)
    try:
        await future
    finally:
        loop.remove_reader(fd)


class Output:
    """Writes a stream's pieces to the client: framed or raw, only the streams asked for."""

    def __init__(self, conn: Connection, tty: bool, stdout: bool = True, stderr: bool = True):
        self.conn = conn
        self.tty = tty
        self.wanted = {STDOUT: stdout, STDERR: stderr}

    async def send(self, kind: int, data: bytes) -> None:
        if not data or not self.wanted.get(kind, False):
            return
        await self.conn.write(data if self.tty else frames(kind, data))


async def _client_input(api: API, conn: Connection, write: Any, close_stdin: Any,
                        close_on_eof: bool) -> None:
    """The client's bytes to the container's stdin, until the client half-closes."""
    while True:
        try:
            data = await conn.reader.read(65536)
        except (ConnectionError, OSError):
            data = b""
        if not data:
            break
        await api.call(write, data)
    if close_on_eof:
        await api.call(close_stdin)


async def _run(api: API, conn: Connection, output: Any, input_task: Any,
               before_end: Any = None) -> bool:
    """Serve until the output ends (the container or process is done: True) or the
    client leaves (False); then (after `before_end()`, when the output ended) half-close
    the connection for the client to read the end."""
    out_task = asyncio.ensure_future(output)
    tasks = {out_task}
    if input_task is not None:
        tasks.add(asyncio.ensure_future(input_task))
    try:
        while out_task in tasks:
            done, tasks = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not out_task and not task.cancelled():
                    task.exception()  # input that failed (its container gone): the
                    # output says how it ends
        out_task.result()
        if before_end is not None:
            await before_end()
        return True
    except (ClientGone, ConnectionError):
        return False
    finally:
        for task in tasks:
            task.cancel()
        try:
            await conn.writer.drain()
        except (ConnectionError, OSError):
            pass
        conn.close_write()


async def serve_attach(api: API, conn: Connection, stream: Any, *, stdout: bool = True,
                       stderr: bool = True, stdin: bool = False, stdin_once: bool = False,
                       replay: list[tuple[int, bytes]] | None = None) -> int | None:
    """Bridge an AttachStream and the client; the container's exit code when it ended
    (None when the client left first or the monitor went away)."""
    out = Output(conn, stream.tty, stdout, stderr)
    sock = stream.sock
    fd = sock.fileno()

    async def output() -> None:
        for kind, data in replay or []:
            await out.send(kind, data)
        while stream.exit_code is None:
            await readable(fd)
            try:
                data = sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                return
            for kind, piece in stream.feed(data):
                await out.send(kind, piece)

    reader = _client_input(api, conn, stream.write, stream.close_stdin, stdin_once) \
        if stdin and stream.stdin else None
    try:
        await _run(api, conn, output(), reader)
    finally:
        stream.close()  # detach: the container goes on
    return stream.exit_code


async def serve_exec(api: API, conn: Connection, stream: Any, *, stdin: bool) -> int:
    """Bridge an ExecStream and the client until the process's output ends; its exit
    code (recorded for GET /exec/{id}/json before the connection closes)."""
    out = Output(conn, stream.tty)
    fds = {fd: (STDERR if fd == stream.stderr_fd else STDOUT)
           for fd in (stream.stdout_fd, stream.stderr_fd) if fd >= 0}
    for fd in fds:
        os.set_blocking(fd, False)

    async def one(fd: int, kind: int) -> None:
        while True:
            await readable(fd)
            try:
                data = os.read(fd, 65536)
            except BlockingIOError:
                continue
            except OSError:  # EIO: a pty whose last writer is gone
                data = b""
            if not data:
                return
            await out.send(kind, data)

    async def output() -> None:
        await asyncio.gather(*(one(fd, kind) for fd, kind in fds.items()))

    def write(data: bytes) -> None:
        """In a worker thread: the pty master is non-blocking for the loop's reads."""
        import select
        fd = stream.stdout_fd if stream.tty else stream.stdin_fd
        while data and fd >= 0:
            try:
                data = data[os.write(fd, data):]
            except BlockingIOError:
                select.select([], [fd], [], 1.0)
            except OSError:
                return

    code = -1

    async def ended() -> None:
        """The exit code is recorded before the client reads the end (and asks for it)."""
        nonlocal code
        code = int(await api.call(stream.wait))

    reader = _client_input(api, conn, write, stream.close_stdin, True) if stdin else None
    try:
        finished = await _run(api, conn, output(), reader, ended)
    finally:
        stream.close()
    if not finished:  # the client left: the process goes on; its code is still recorded
        asyncio.get_running_loop().run_in_executor(api.executor, stream.wait)
    return code
