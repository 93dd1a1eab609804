"""What the handler modules share: the engine context of a request, Docker's filters
parameter, and the connection's watch for a client that went away."""

from __future__ import annotations

import asyncio
import threading

from minidocker.api.http import HTTPError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from minidocker.api.http import Request
    from minidocker.api.server import API


def context(api: API, sink: Any = None) -> Any:
    """The engine service context for one call; warnings go to `sink` (or nowhere)."""
    if sink is None:
        return api.context
    return api.context.with_sink(sink)


def filters(request: Request, name: str = "filters") -> dict[str, list[str]]:
    """Docker's filters parameter: {"key": ["v1", "v2"]}, or the older form
    {"key": {"v1": true}}; anything else is a 400."""
    doc = request.json_arg(name)
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise HTTPError(400, f"invalid {name}: expected a JSON object")
    out: dict[str, list[str]] = {}
    for key, values in doc.items():
        if isinstance(values, dict):
            out[key] = [str(v) for v, on in values.items() if on]
        elif isinstance(values, list) and all(isinstance(v, str) for v in values):
            out[key] = list(values)
        else:
            raise HTTPError(400, f"invalid {name}: the values of {key!r} must be a list "
                                 "of strings")
    return out


def strslice(value: Any) -> list[str] | None:
    """Docker's strslice: a string is a list of one."""
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)


class Watch:
    """Set `stop` (a threading.Event the engine's blocking calls poll) when the client
    closes its connection while we wait on its behalf (wait, a followed log)."""

    def __init__(self, request: Request):
        self.request = request
        self.stop = threading.Event()
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> threading.Event:
        self.task = asyncio.create_task(self._watch())
        return self.stop

    async def _watch(self) -> None:
        conn = self.request.conn
        while not self.stop.is_set():
            if conn.reader.at_eof() or conn.writer.is_closing():
                self.stop.set()
                return
            await asyncio.sleep(0.5)

    async def __aexit__(self, *exc: object) -> None:
        self.stop.set()
        if self.task is not None:
            self.task.cancel()
