"""Docker's JSON message stream (pull, push, load, build): one JSON object per line,
{"status": ...}, {"id", "status", "progressDetail", "progress"}, {"stream": ...},
{"aux": ...}, and an error as the last line {"errorDetail": {"message"}, "error"}.

A JSONStream is the engine's progress sink for one request. The engine calls it from
a worker thread; each message goes out on the event loop, and the engine waits for it
(a client that reads slowly slows the pull, one that leaves ends it). The response's
head goes out with the first message, so an error before any progress (no such image)
is still a plain status code and error body."""

from __future__ import annotations

import asyncio
import time

from minidocker.engine.service import Sink

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from minidocker.api.http import Request

PROGRESS_INTERVAL = 0.1  # seconds between two progress lines of one item (Docker: 100 ms)


def bar(current: int, total: int, width: int = 50) -> str:
    """Docker's text progress bar: `[=====>      ]  1.2MB/3.4MB`."""
    from minidocker.units import human_size
    if total <= 0:
        return human_size(current) if current else ""
    filled = min(width, width * current // total)
    arrow = ">" if filled < width else ""
    shown = "=" * max(0, filled - len(arrow)) + arrow
    return f"[{shown:<{width}}] {human_size(current):>8}/{human_size(total)}"


class JSONStream(Sink):
    live = True

    def __init__(self, request: Request, loop: asyncio.AbstractEventLoop):
        self.request = request
        self.loop = loop
        self.last: dict[str, tuple[str, float]] = {}  # id -> (status, when) last sent
        self.statuses: list[str] = []

    def said(self, fragment: str) -> bool:
        """Whether a status line with `fragment` went out."""
        return any(fragment in s for s in self.statuses)

    @property
    def started(self) -> bool:
        return self.request.conn.sent_head

    def send(self, doc: dict[str, Any]) -> None:
        from minidocker import jsonfast
        line = jsonfast.dumps(doc).encode() + b"\n"
        future = asyncio.run_coroutine_threadsafe(self._write(line), self.loop)
        try:
            future.result()
        except Exception as e:  # the client went away: the engine's work stops
            raise BrokenPipeError(32, f"the API client went away: {e}")

    async def _write(self, line: bytes) -> None:
        conn = self.request.conn
        if not conn.sent_head:
            await conn.start_stream(self.request, 200, "application/json")
        await conn.write(line)

    # ---- the Sink interface -------------------------------------------------------------

    def warning(self, message: str) -> None:
        self.send({"status": f"WARNING: {message}"})

    def status(self, text: str) -> None:
        self.statuses.append(text)
        self.send({"status": text})

    def progress(self, id: str, status: str, current: int = 0, total: int = 0) -> None:
        now = time.monotonic()
        last = self.last.get(id)
        if last is not None and last[0] == status and now - last[1] < PROGRESS_INTERVAL \
                and (not total or current < total):
            return  # Docker's pace: at most one line per item and interval
        self.last[id] = (status, now)
        doc: dict[str, Any] = {"status": status, "progressDetail": {}, "id": id}
        if current or total:
            doc["progressDetail"] = {"current": current, **({"total": total} if total else {})}
            doc["progress"] = bar(current, total)
        self.send(doc)

    def stream(self, text: str) -> None:
        self.send({"stream": text})

    def aux(self, doc: dict[str, Any]) -> None:
        self.send({"aux": doc})

    def error(self, message: str) -> None:
        self.send({"errorDetail": {"message": message}, "error": message})
