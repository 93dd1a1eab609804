"""The service's process: an asyncio loop that accepts connections on every listener and
serves each connection's requests in turn. Engine calls block (files, locks, forks), so
they run in a pool of worker threads; one slow request never holds up another."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time

from minidocker.api import app, versions
from minidocker.api.http import MAX_HEAD, ClientGone, Connection, HTTPError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from concurrent.futures import ThreadPoolExecutor
    from typing import Any

    from minidocker.api.listeners import Listener

class PendingAttach:
    """A client attached to a container that has not started yet."""

    def __init__(self, stdin: bool, loop: asyncio.AbstractEventLoop):
        self.stdin = stdin
        self.starting = False  # a start through us is under way: it brings the stream
        self.future: asyncio.Future[Any] = loop.create_future()


WORKERS = 256  # engine calls at once: a `wait` or a followed stream may hold one for long


class API:
    """What every handler reaches: the root, the engine's service context, the worker
    threads, and state shared between requests (attach clients waiting for a start)."""

    def __init__(self, root: str, debug: bool = False):
        self.root = root
        self.debug = debug
        self.loop: asyncio.AbstractEventLoop | None = None
        self.executor: ThreadPoolExecutor | None = None
        self.router = app.Router()
        from minidocker.engine.service import Context
        # monitors are started by a clean exec, never a fork of this threaded process
        self.context = Context(root, spawn="exec")
        self.active = 0            # open connections
        self.last_active = time.monotonic()
        self.pending: dict[str, list[PendingAttach]] = {}  # id -> attaches before start
        self.streams: dict[str, list[Any]] = {}            # id -> attach streams served
        self.execs: dict[str, Any] = {}                     # exec id -> its stream
        self.spare: Any = None  # a monitor spawned ahead of the next start (spare_monitor)
        self.spare_pending = False

    async def call(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        """Run a blocking engine call in a worker thread."""
        loop = asyncio.get_running_loop()
        if kw:
            import functools
            return await loop.run_in_executor(self.executor, functools.partial(fn, *args, **kw))
        return await loop.run_in_executor(self.executor, fn, *args)

    # ---- attach before start ----------------------------------------------------------

    def attaching(self, ref: str) -> list[PendingAttach]:
        return [p for p in self.pending.get(ref, []) if not p.future.done()]

    def hand_over(self, cid: str, stream: Any) -> None:
        """The stream of a start with attach: to the first client waiting; the others
        attach to the running container now."""
        waiting = self.attaching(cid)
        if not waiting:
            stream.close()
            return
        waiting[0].future.set_result(stream)  # the others attach now that it runs

    def starting(self, cid: str, on: bool) -> None:
        for p in self.attaching(cid):
            p.starting = on

    def expect_start(self, cid: str, stdin: bool) -> PendingAttach:
        """Note a client attached before the start, before it is answered: its client
        (`docker run`) sends the start as soon as it has the answer, and a start that
        found no one waiting would run the container unattached (its output lost)."""
        pending = PendingAttach(stdin, asyncio.get_running_loop())
        self.pending.setdefault(cid, []).append(pending)
        return pending

    def forget(self, cid: str, pending: PendingAttach) -> None:
        waiting = self.pending.get(cid, [])
        if pending in waiting:
            waiting.remove(pending)
        if not waiting:
            self.pending.pop(cid, None)

    async def wait_for_start(self, cid: str, pending: PendingAttach, request: Any) -> Any:
        """Wait (the client's connection open) until the container starts: the stream a
        start through us hands over, or, started elsewhere (the CLI, a restart policy),
        one attached then. None if the client leaves or the container is removed.
        `pending` is expect_start()'s, forgotten here whatever happens."""
        from minidocker.engine.service import containers
        from minidocker.errors import MinidockerError
        stdin = pending.stdin
        conn = request.conn
        try:
            while True:
                try:
                    return await asyncio.wait_for(asyncio.shield(pending.future), 0.25)
                except TimeoutError:
                    pass
                # (not reader.at_eof(): a client without stdin half-closes at once)
                if conn.writer.is_closing():
                    return None
                if pending.starting:
                    continue
                try:
                    doc = await self.call(containers.inspect, self.context, cid)
                except MinidockerError:
                    return None
                if doc["State"]["Status"] in ("running", "paused") and not pending.starting \
                        and not pending.future.done():
                    try:
                        return await self.call(containers.attach, self.context, cid,
                                               stdin=stdin)
                    except MinidockerError:
                        continue  # it ended meanwhile: wait for the next start
        finally:
            self.forget(cid, pending)
            if pending.future.done() and not pending.future.cancelled() and \
                    conn.writer.is_closing():
                pending.future.result().close()

    # ---- a spare monitor for the next start ----------------------------------------

    def take_spare(self) -> Any:
        """The monitor spawned ahead of time (engine.start.spawn_spare), if it is still
        there; a new one is spawned for the start after this one."""
        import select
        spare, self.spare = self.spare, None
        if spare is not None and select.select([spare.sock], [], [], 0)[0]:
            spare.close()  # it went away (it never writes: readable means closed)
            spare = None
        self.refill_spare()
        return spare

    def refill_spare(self) -> None:
        if self.spare is not None or self.spare_pending or self.loop is None:
            return
        from minidocker.engine.start import spawn_spare
        self.spare_pending = True

        def made(future: Any) -> None:
            self.spare_pending = False
            spare = None if future.cancelled() or future.exception() else future.result()
            if self.spare is None:
                self.spare = spare
            elif spare is not None:
                spare.close()

        self.loop.run_in_executor(self.executor, spawn_spare).add_done_callback(made)

    def drop_spare(self) -> None:
        if self.spare is not None:
            self.spare.close()  # it sees EOF and exits
            self.spare = None

    async def resize(self, ref: str, rows: int, cols: int) -> None:
        """A container's terminal size: through a stream we serve, else a new one."""
        from minidocker.engine.service import containers
        doc = await self.call(containers.inspect, self.context, ref)
        streams = self.streams.get(doc["Id"])
        if streams:
            await self.call(streams[0].resize, rows, cols)
            return
        await self.call(containers.resize, self.context, doc["Id"], rows, cols)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.active += 1
        conn = Connection(reader, writer)
        conn.extra_headers = [("Api-Version", versions.API_VERSION),
                              ("Docker-Experimental", "false"), ("Ostype", "linux")]
        request = None
        try:
            while True:
                try:
                    request = await conn.next_request()
                except HTTPError as e:
                    await app.send_error(self, conn, None, e)
                    break
                if request is None:
                    break
                await app.dispatch(self, self.router, conn, request)
                if conn.hijacked or not request.keep_alive:
                    break
            if request is not None and not conn.hijacked and not request.body_done:
                await _linger(conn)
        except (ClientGone, ConnectionError, asyncio.IncompleteReadError):
            pass
        except Exception as e:  # noqa: BLE001 - a bug in one connection ends only that one
            import traceback
            traceback.print_exception(e, file=sys.stderr)
        finally:
            self.active -= 1
            self.last_active = time.monotonic()
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass


async def _linger(conn: Connection, seconds: float = 5.0, most: int = 64 << 20) -> None:
    """We answered (413, 408) before reading the whole body: read and drop what the
    client still sends for a while, so that it reads our answer instead of a reset."""
    conn.close_write()
    deadline = time.monotonic() + seconds
    total = 0
    while total < most:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        try:
            data = await asyncio.wait_for(conn.reader.read(1 << 16), left)
        except (TimeoutError, ConnectionError, OSError):
            return
        if not data:
            return
        total += len(data)


async def serve(api: API, listeners: list[Listener], idle_time: float) -> None:
    """Serve until SIGTERM/SIGINT, or until `idle_time` seconds pass with no connection
    (0: never), as `podman system service --time` does."""
    from concurrent.futures import ThreadPoolExecutor
    loop = asyncio.get_running_loop()
    api.loop = loop
    api.executor = ThreadPoolExecutor(WORKERS, thread_name_prefix="engine")
    loop.set_default_executor(api.executor)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    servers = []
    for listener in listeners:
        servers.append(await asyncio.start_server(api.handle, sock=listener.sock,
                                                  limit=MAX_HEAD, ssl=listener.tls))
    if api.debug:
        for listener in listeners:
            sys.stderr.write(f"minidocker-api: listening on {listener.uri}\n")
    api.last_active = time.monotonic()
    api.refill_spare()
    try:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), 1.0)
            except TimeoutError:
                pass
            if idle_time > 0 and api.active == 0 and \
                    time.monotonic() - api.last_active >= idle_time:
                break
    finally:
        api.drop_spare()
        for server in servers:
            server.close()
        for listener in listeners:
            listener.close()
        api.executor.shutdown(wait=False, cancel_futures=True)


def run(root: str, uri: str | None, idle_time: float, tls: tuple[str, str, str] | None,
        debug: bool = False) -> int:
    """The service's main: listen, serve, clean up. Containers outlive it."""
    from minidocker.api import routes
    from minidocker.api.listeners import open_listeners
    from minidocker.engine import records
    records.READ_CACHE = {}  # a long-running reader of records: parse what changed only
    listeners = open_listeners(uri, tls)
    api = API(root, debug)
    routes.install(api)
    try:
        asyncio.run(serve(api, listeners, idle_time))
    finally:
        for listener in listeners:
            listener.close()
    # worker threads still blocked in an engine call (a followed log) are not waited for
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
