"""/containers: create, start, stop, ..., attach, logs, stats, archive; each one service
call (minidocker.engine.service.containers) in a worker thread, rendered as Docker does."""

from __future__ import annotations

import asyncio

from minidocker.api import schema
from minidocker.api.app import Reply, no_content
from minidocker.api.handlers.common import Watch, context, filters, strslice
from minidocker.api.http import HTTPError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from minidocker.api.http import Request
    from minidocker.api.server import API


def _service() -> Any:
    from minidocker.engine.service import containers
    return containers


def _timeout(request: Request) -> int | None:
    return request.int_arg("t", request.int_arg("timeout"))


def _normalize(body: dict[str, Any]) -> dict[str, Any]:
    """Docker's strslice fields as lists; an empty Entrypoint list resets the image's."""
    for key in ("Cmd", "Entrypoint"):
        if key in body:
            body[key] = strslice(body[key])
    host = body.get("HostConfig")
    if isinstance(host, dict):
        for key in ("CapAdd", "CapDrop"):
            if key in host:
                host[key] = strslice(host[key]) or []
    check = body.get("Healthcheck")
    if isinstance(check, dict) and isinstance(check.get("Test"), str):
        check["Test"] = ["CMD-SHELL", check["Test"]]
    return body


# ---- create, start, stop ... ------------------------------------------------------------


async def create(api: API, request: Request) -> Reply:
    from minidocker.engine.service import Collect
    body = _normalize(schema.body(await request.json(), schema.CREATE, "create body"))
    warnings = schema.unused(body)
    sink = Collect()
    result = await api.call(_service().create, context(api, sink), body,
                            name=request.arg("name") or None)
    return Reply(201, {"Id": result["Id"], "Warnings": warnings + list(result["Warnings"])})


async def start(api: API, request: Request) -> Reply:
    ref = request.params["id"]
    if api.pending:
        cid = (await api.call(_service().inspect, api.context, ref))["Id"]
        waiting = api.attaching(cid)
        if waiting:
            # `docker run` attached first: start with the stream connected before the
            # container runs, and hand it to the client waiting for it
            api.starting(cid, True)
            try:
                stream = await api.call(_service().start, api.context, cid, attach=True,
                                        interactive=any(w.stdin for w in waiting),
                                        monitor=api.take_spare())
            finally:
                api.starting(cid, False)
            if stream is not None:
                api.hand_over(cid, stream)
            return no_content()
    await api.call(_service().start, api.context, ref, monitor=api.take_spare())
    return no_content()


async def stop(api: API, request: Request) -> Reply:
    await api.call(_service().stop, api.context, request.params["id"],
                   timeout=_timeout(request), signal=request.arg("signal") or None)
    return no_content()


async def restart(api: API, request: Request) -> Reply:
    await api.call(_service().restart, api.context, request.params["id"],
                   timeout=_timeout(request))
    return no_content()


async def kill(api: API, request: Request) -> Reply:
    await api.call(_service().kill, api.context, request.params["id"],
                   signal=request.arg("signal") or "SIGKILL")
    return no_content()


async def pause(api: API, request: Request) -> Reply:
    await api.call(_service().pause, api.context, request.params["id"])
    return no_content()


async def unpause(api: API, request: Request) -> Reply:
    await api.call(_service().unpause, api.context, request.params["id"])
    return no_content()


async def remove(api: API, request: Request) -> Reply:
    await api.call(_service().remove, api.context, request.params["id"],
                   force=request.flag("force"), volumes=request.flag("v"))
    return no_content()


async def rename(api: API, request: Request) -> Reply:
    name = request.arg("name")
    if not name:
        raise HTTPError(400, "rename needs a name (the name parameter)")
    await api.call(_service().rename, api.context, request.params["id"], name)
    return no_content()


async def update(api: API, request: Request) -> Reply:
    body = schema.body(await request.json(), schema.UPDATE, "update body")
    result = await api.call(_service().update, api.context, request.params["id"], body)
    return Reply(200, {"Warnings": list(result["Warnings"]) or None})


async def wait(api: API, request: Request) -> None:
    """The head goes out at once, the body when the container is done: Docker's clients
    send start only after the wait's head arrived (`docker run`)."""
    from minidocker import jsonfast
    condition = request.arg("condition") or "not-running"
    if condition not in ("not-running", "next-exit", "removed"):
        raise HTTPError(400, f"invalid condition {condition!r}: not-running, next-exit or "
                             "removed")
    ref = (await api.call(_service().inspect, api.context, request.params["id"]))["Id"]
    await request.conn.start_stream(request, 200, "application/json")
    async with Watch(request) as gone:
        try:
            result = await api.call(_service().wait, api.context, ref, condition=condition,
                                    stop=gone)
        except Exception as e:  # noqa: BLE001 - the head is out: the error is in the body
            from minidocker.api.app import message_of
            result = {"StatusCode": -1, "Error": {"Message": message_of(e)}}
        left = gone.is_set()
    if left:  # the client left
        request.keep_alive = False
        return
    await request.conn.write(jsonfast.dumps(result).encode() + b"\n")
    await request.conn.end_stream()


# ---- inspect, list ----------------------------------------------------------------------


async def inspect(api: API, request: Request) -> Reply:
    doc = await api.call(_service().inspect, api.context, request.params["id"],
                         size=request.flag("size"))
    return Reply(200, doc)


async def list_containers(api: API, request: Request) -> Reply:
    limit = request.int_arg("limit", 0) or 0
    if request.flag("latest"):
        limit = 1
    rows = await api.call(_service().ls, api.context, all=request.flag("all"),
                          limit=max(limit, request.int_arg("last", 0) or 0),
                          filters=filters(request), size=request.flag("size"))
    return Reply(200, rows)


async def prune(api: API, request: Request) -> Reply:
    report = await api.call(_service().prune, api.context, filters=filters(request))
    return Reply(200, {"ContainersDeleted": report.get("ContainersDeleted") or None,
                       "SpaceReclaimed": int(report.get("SpaceReclaimed") or 0)})


async def top(api: API, request: Request) -> Reply:
    import shlex
    args = request.arg("ps_args")
    doc = await api.call(_service().top, api.context, request.params["id"],
                         shlex.split(args) if args else None)
    return Reply(200, doc)


async def changes(api: API, request: Request) -> Reply:
    return Reply(200, await api.call(_service().diff, api.context, request.params["id"])
                 or None)


# ---- logs, stats ------------------------------------------------------------------------


def _since(text: str | None) -> float:
    if not text:
        return 0.0
    from minidocker.engine.logs import parse_since
    try:
        return float(parse_since(text))
    except Exception:
        raise HTTPError(400, f"invalid time value {text!r}")


async def logs(api: API, request: Request) -> None:
    from minidocker.api.streams import STDERR, STDOUT, frames, stream_type
    stdout, stderr = request.flag("stdout"), request.flag("stderr")
    if not stdout and not stderr:
        raise HTTPError(400, "Bad parameters: you must choose at least one stream")
    tail_text = request.arg("tail") or "all"
    if tail_text == "all":
        tail = None
    elif tail_text.lstrip("-").isdigit():
        tail = int(tail_text)
    else:
        raise HTTPError(400, f"invalid tail {tail_text!r}: a number or all")
    since = _since(request.arg("since"))
    until_text = request.arg("until")
    until = _since(until_text) if until_text else None
    doc = await api.call(_service().inspect, api.context, request.params["id"])
    tty = bool((doc.get("Config") or {}).get("Tty"))
    timestamps = request.flag("timestamps")

    def render(entry: dict[str, Any]) -> bytes:
        data = entry["log"].encode(errors="surrogateescape")
        if timestamps:
            data = entry["time"].encode() + b" " + data
        return data if tty else frames(STDERR if entry.get("stream") == "stderr"
                                       else STDOUT, data)

    async with Watch(request) as gone:
        entries = await api.call(_service().logs, api.context, doc["Id"],
                                 follow=request.flag("follow"), tail=tail, since=since,
                                 until=until, stdout=stdout, stderr=stderr, stop=gone)
        await request.conn.start_stream(request, 200, stream_type(request.api_version, tty))
        await _pump(api, request, entries, render)
    await request.conn.end_stream()


async def _pump(api: API, request: Request, items: Any, render: Any) -> None:
    """Send what the engine's iterator `items` yields (rendered to bytes), as it comes."""
    from minidocker.api.streams import Pump
    loop = asyncio.get_running_loop()
    pump = Pump(loop)

    def produce() -> None:
        try:
            for item in items:
                if not pump.put(render(item)):
                    break
            pump.finish()
        except BaseException as e:  # noqa: BLE001 - re-raised on the loop
            pump.finish(e)
        finally:
            _close(items)

    loop.run_in_executor(api.executor, produce)
    await pump.drain(request.conn.write)


def _close(items: Any) -> None:
    close = getattr(items, "close", None)
    if close is not None:
        close()


async def stats(api: API, request: Request) -> Reply | None:
    from minidocker import jsonfast
    service = _service()
    ref = request.params["id"]
    if not request.flag("stream", True) or request.flag("one-shot"):
        return Reply(200, await api.call(service.stats, api.context, ref))
    async with Watch(request) as gone:
        first = await api.call(service.stats, api.context, ref)
        samples = await api.call(service.stats_stream, api.context, ref, stop=gone)
        await request.conn.start_stream(request, 200, "application/json")
        await request.conn.write(jsonfast.dumps(first).encode() + b"\n")
        await _pump(api, request, samples, lambda s: jsonfast.dumps(s).encode() + b"\n")
    await request.conn.end_stream()
    return None


async def resize(api: API, request: Request) -> Reply:
    rows, cols = request.int_arg("h", 0) or 0, request.int_arg("w", 0) or 0
    await api.resize(request.params["id"], rows, cols)
    return Reply(200)


# ---- attach -----------------------------------------------------------------------------


async def attach(api: API, request: Request) -> None:
    from minidocker.api.attach import serve_attach
    from minidocker.api.streams import stream_type
    service = _service()
    doc = await api.call(service.inspect, api.context, request.params["id"])
    cid = doc["Id"]
    config = doc.get("Config") or {}
    tty = bool(config.get("Tty"))
    stdin = request.flag("stdin") and bool(config.get("OpenStdin"))
    stdout, stderr = request.flag("stdout"), request.flag("stderr")
    replay: list[tuple[int, bytes]] = []
    if request.flag("logs"):
        replay = await api.call(_replay, api, cid, stdout, stderr)
    conn = request.conn
    running = doc["State"]["Status"] in ("running", "paused")
    if running and not request.flag("stream"):
        await conn.hijack(request, stream_type(request.api_version, tty))
        from minidocker.api.attach import Output
        out = Output(conn, tty, stdout, stderr)
        for kind, data in replay:
            await out.send(kind, data)
        conn.close_write()
        return
    if running:
        stream = await api.call(service.attach, api.context, cid, stdin=stdin)
        await conn.hijack(request, stream_type(request.api_version, tty))
    else:
        # not started yet (`docker run`, `docker start -a`): answer now, stream from the
        # start on (the start request hands us the stream, connected before it runs)
        pending = api.expect_start(cid, stdin)  # before the answer: the start follows it
        try:
            await conn.hijack(request, stream_type(request.api_version, tty))
        except BaseException:
            api.forget(cid, pending)
            raise
        stream = await api.wait_for_start(cid, pending, request)
        if stream is None:
            conn.close_write()
            return
    api.streams.setdefault(cid, []).append(stream)
    try:
        await serve_attach(api, conn, stream, stdout=stdout, stderr=stderr, stdin=stdin,
                           stdin_once=bool(config.get("StdinOnce")), replay=replay)
    finally:
        api.streams[cid].remove(stream)
        if not api.streams[cid]:
            del api.streams[cid]


def _replay(api: API, cid: str, stdout: bool, stderr: bool) -> list[tuple[int, bytes]]:
    from minidocker.api.streams import STDERR, STDOUT
    entries = _service().logs(api.context, cid, stdout=stdout, stderr=stderr)
    try:
        return [(STDERR if e.get("stream") == "stderr" else STDOUT, e["log"].encode())
                for e in entries]
    finally:
        _close(entries)


# ---- the filesystem: export, archive ----------------------------------------------------


async def export(api: API, request: Request) -> None:
    from minidocker.api.streams import BodyWriter
    service = _service()
    await api.call(service.inspect, api.context, request.params["id"])  # 404 before 200
    conn = request.conn
    await conn.start_stream(request, 200, "application/x-tar")
    writer = BodyWriter(conn, asyncio.get_running_loop())
    await api.call(service.export, api.context, request.params["id"], writer)
    await conn.end_stream()


def _stat_header(stat: dict[str, Any]) -> tuple[str, str]:
    import base64

    from minidocker import jsonfast
    return ("X-Docker-Container-Path-Stat",
            base64.b64encode(jsonfast.dumps(stat).encode()).decode())


async def archive_head(api: API, request: Request) -> Reply:
    path = request.arg("path")
    if not path:
        raise HTTPError(400, "the path parameter is required")
    stat = await api.call(_service().stat_path, api.context, request.params["id"], path)
    return Reply(200, headers=[_stat_header(stat)])


async def archive_get(api: API, request: Request) -> Reply | None:
    from minidocker.api.streams import BodyWriter
    path = request.arg("path")
    if not path:
        raise HTTPError(400, "the path parameter is required")
    service = _service()
    ref = request.params["id"]
    stat = await api.call(service.stat_path, api.context, ref, path)
    if request.method == "HEAD":
        return Reply(200, headers=[_stat_header(stat)])
    conn = request.conn
    await conn.start_stream(request, 200, "application/x-tar", [_stat_header(stat)])
    writer = BodyWriter(conn, asyncio.get_running_loop())
    await api.call(service.get_archive, api.context, ref, path, writer)
    await conn.end_stream()
    return None


async def archive_put(api: API, request: Request) -> Reply:
    from minidocker.api.streams import BodyReader
    path = request.arg("path")
    if not path:
        raise HTTPError(400, "the path parameter is required")
    source = BodyReader(request, asyncio.get_running_loop())
    try:
        await api.call(_service().put_archive, api.context, request.params["id"], path,
                       source, archive=request.flag("copyUIDGID"))
    except Exception:
        if source.error is not None:  # the client's fault (stalled, cut): its status
            raise source.error
        raise
    return Reply(200)


ROUTES = [
    ("POST", "/containers/create", create),
    ("GET", "/containers/json", list_containers),
    ("POST", "/containers/prune", prune),
    ("GET", "/containers/{id}/json", inspect),
    ("POST", "/containers/{id}/start", start),
    ("POST", "/containers/{id}/stop", stop),
    ("POST", "/containers/{id}/restart", restart),
    ("POST", "/containers/{id}/kill", kill),
    ("POST", "/containers/{id}/pause", pause),
    ("POST", "/containers/{id}/unpause", unpause),
    ("POST", "/containers/{id}/rename", rename),
    ("POST", "/containers/{id}/update", update),
    ("POST", "/containers/{id}/wait", wait),
    ("DELETE", "/containers/{id}", remove),
    ("GET", "/containers/{id}/top", top),
    ("GET", "/containers/{id}/changes", changes),
    ("GET", "/containers/{id}/logs", logs),
    ("GET", "/containers/{id}/stats", stats),
    ("POST", "/containers/{id}/resize", resize),
    ("POST", "/containers/{id}/attach", attach),
    ("GET", "/containers/{id}/export", export),
    ("HEAD", "/containers/{id}/archive", archive_head),
    ("GET", "/containers/{id}/archive", archive_get),
    ("PUT", "/containers/{id}/archive", archive_put),
]

