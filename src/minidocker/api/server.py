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
        self.context: Any = None  # the engine service layer's context for `root`
        self.active = 0            # open connections
        self.last_active = time.monotonic()
        self.pending_attach: dict[str, list[Any]] = {}

    async def call(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        """Run a blocking engine call in a worker thread."""
        loop = asyncio.get_running_loop()
        if kw:
            import functools
            return await loop.run_in_executor(self.executor, functools.partial(fn, *args, **kw))
        return await loop.run_in_executor(self.executor, fn, *args)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.active += 1
        conn = Connection(reader, writer)
        conn.extra_headers = [("Api-Version", versions.API_VERSION),
                              ("Docker-Experimental", "false"), ("Ostype", "linux")]
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
