"""/containers/{id}/exec and /exec/{id}: create, start (hijacked, or detached), resize,
inspect (minidocker.engine.service.execs)."""

from __future__ import annotations

from minidocker.api import schema
from minidocker.api.app import Reply
from minidocker.api.handlers.common import strslice

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from minidocker.api.http import Request
    from minidocker.api.server import API


def _service() -> Any:
    from minidocker.engine.service import execs
    return execs


async def create(api: API, request: Request) -> Reply:
    from minidocker.api.http import HTTPError
    body = schema.body(await request.json(), schema.EXEC, "exec config")
    body["Cmd"] = strslice(body.get("Cmd")) or []
    if not body["Cmd"]:
        raise HTTPError(400, "No exec command specified")
    result = await api.call(_service().create, api.context, request.params["id"], body)
    return Reply(201, {"Id": result["Id"]})


async def start(api: API, request: Request) -> Reply | None:
    from minidocker.api.attach import serve_exec
    from minidocker.api.streams import stream_type
    body = schema.body(await request.json(), schema.EXEC_START, "exec start body")
    exec_id = request.params["id"]
    service = _service()
    doc = await api.call(service.inspect, api.context, exec_id)
    if body.get("Detach"):
        await api.call(service.start, api.context, exec_id, detach=True)
        return Reply(200)
    size = body.get("ConsoleSize")
    tty_size = (int(size[0]), int(size[1])) if size and len(size) == 2 and all(size) else None
    stream = await api.call(service.start, api.context, exec_id, tty_size=tty_size)
    tty = bool(doc["ProcessConfig"]["tty"])
    await request.conn.hijack(request, stream_type(request.api_version, tty))
    api.execs[exec_id] = stream
    try:
        await serve_exec(api, request.conn, stream, stdin=bool(doc.get("OpenStdin")))
    finally:
        api.execs.pop(exec_id, None)
    return None


async def resize(api: API, request: Request) -> Reply:
    rows, cols = request.int_arg("h", 0) or 0, request.int_arg("w", 0) or 0
    exec_id = request.params["id"]
    stream = api.execs.get(exec_id)
    if stream is None:
        await api.call(_service().inspect, api.context, exec_id)  # 404 for no such exec
        from minidocker.errors import Conflict
        raise Conflict(f"exec {exec_id[:12]} is not running with a terminal here")
    await api.call(stream.resize, rows, cols)
    return Reply(200)


async def inspect(api: API, request: Request) -> Reply:
    return Reply(200, await api.call(_service().inspect, api.context, request.params["id"]))


ROUTES = [
    ("POST", "/containers/{id}/exec", create),
    ("POST", "/exec/{id}/start", start),
    ("POST", "/exec/{id}/resize", resize),
    ("GET", "/exec/{id}/json", inspect),
]
