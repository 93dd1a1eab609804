"""/images, /commit, /build (minidocker.engine.service.images, .containers, and the
builder): pull and push stream Docker's JSON progress; get and load stream tarballs."""

from __future__ import annotations

import asyncio

from minidocker.api.app import Reply
from minidocker.api.handlers.common import filters
from minidocker.api.http import HTTPError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from minidocker.api.http import Request
    from minidocker.api.server import API


def _service() -> Any:
    from minidocker.engine.service import images
    return images


def credentials(request: Request) -> tuple[str, str] | None:
    """X-Registry-Auth: base64url of {"username", "password"} (or {"auth": base64 of
    "user:password"}); "e30=" ({}) or nothing: anonymous."""
    import base64
    header = request.headers.get("x-registry-auth", "").strip()
    if not header:
        return None
    from minidocker import jsonfast
    try:
        raw = base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))
        doc = jsonfast.loads(raw)
    except ValueError:
        raise HTTPError(400, "invalid X-Registry-Auth header: not base64-encoded JSON")
    if not isinstance(doc, dict):
        raise HTTPError(400, "invalid X-Registry-Auth header: not a JSON object")
    user, password = str(doc.get("username") or ""), str(doc.get("password") or "")
    if not user and doc.get("auth"):
        try:
            user, _, password = base64.b64decode(str(doc["auth"])).decode().partition(":")
        except ValueError:
            raise HTTPError(400, "invalid X-Registry-Auth header: bad auth field")
    return (user, password) if user else None


def reference(name: str, tag: str | None) -> str:
    """fromImage + tag as one reference (a tag may be a digest)."""
    if not tag:
        return name
    return f"{name}@{tag}" if tag.startswith("sha256:") else f"{name}:{tag}"


async def _progress(api: API, request: Request, work: Any, *args: Any, **kw: Any) -> Any:
    """Run `work(ctx, ...)` with Docker's JSON progress as its sink; an error before
    any progress is a plain error response, after it the stream's last line."""
    from minidocker.api.jsonstream import JSONStream
    sink = JSONStream(request, asyncio.get_running_loop())
    result = await api.call(work, api.context.with_sink(sink), *args, **kw)
    return sink, result


async def _finish(request: Request) -> None:
    conn = request.conn
    if not conn.sent_head:
        await conn.start_stream(request, 200, "application/json")
    await conn.end_stream()


async def create(api: API, request: Request) -> None:
    """POST /images/create: pull (fromImage) or import (fromSrc)."""
    source = request.arg("fromSrc")
    if source is not None:
        return await _import(api, request, source)
    name = request.arg("fromImage")
    if not name:
        raise HTTPError(400, "fromImage or fromSrc is required")
    ref = reference(name, request.arg("tag"))
    # a name alone (no tag, no digest) pulls every tag, as dockerd does (pull --all-tags)
    work = _service().pull_all_tags if _name_only(ref) else _service().pull
    sink, _ = await _progress(api, request, work, ref,
                              platform=request.arg("platform") or None,
                              credentials=credentials(request))
    await _finish(request)


def _name_only(ref: str) -> bool:
    from minidocker.errors import MinidockerError
    from minidocker.image import reference as refs
    try:
        parsed = refs.parse(ref, default_tag=False)
    except MinidockerError:
        return False  # the pull reports it
    return not parsed.tag and not parsed.digest


async def _import(api: API, request: Request, source: str) -> None:
    from minidocker.api.streams import BodyReader
    if source != "-":
        raise HTTPError(400, "importing from a URL is not supported: send the tarball as "
                             "the body (fromSrc=-)")
    repo = request.arg("repo")
    ref = reference(repo, request.arg("tag")) if repo else None
    body = BodyReader(request, asyncio.get_running_loop())
    try:
        sink, result = await _progress(api, request, _service().import_, body, ref=ref,
                                       changes=request.query.get("changes", []),
                                       message=request.arg("message") or "",
                                       platform=request.arg("platform") or None)
    except Exception:
        if body.error is not None:
            raise body.error
        raise
    sink.status(result["Id"])
    await _finish(request)


async def push(api: API, request: Request) -> None:
    name = request.params["name"]
    ref = reference(name, request.arg("tag"))
    if _name_only(ref):  # every local tag of the repository, as dockerd (push --all-tags)
        await _progress(api, request, _service().push_all_tags, ref,
                        credentials=credentials(request))
        return await _finish(request)
    sink, digest = await _progress(api, request, _service().push, ref,
                                   credentials=credentials(request))
    tag = request.arg("tag") or (ref.rpartition(":")[2] if ":" in ref.rpartition("/")[2]
                                 else "latest")
    if not sink.said("digest:"):
        await api.call(sink.status, f"{tag}: digest: {digest}")
        await api.call(sink.aux, {"Tag": tag, "Digest": digest})
    await _finish(request)


async def list_images(api: API, request: Request) -> Reply:
    wanted = filters(request)
    if request.arg("filter"):  # API < 1.28: a reference pattern
        wanted.setdefault("reference", []).append(str(request.arg("filter")))
    rows = await api.call(_service().ls, api.context, filters=wanted)
    return Reply(200, rows)


async def inspect(api: API, request: Request) -> Reply:
    return Reply(200, await api.call(_service().inspect, api.context,
                                     request.params["name"]))


async def history(api: API, request: Request) -> Reply:
    return Reply(200, await api.call(_service().history, api.context,
                                     request.params["name"]))


async def tag(api: API, request: Request) -> Reply:
    repo = request.arg("repo")
    if not repo:
        raise HTTPError(400, "repo is required")
    await api.call(_service().tag, api.context, request.params["name"],
                   reference(repo, request.arg("tag") or "latest"))
    return Reply(201)


async def remove(api: API, request: Request) -> Reply:
    return Reply(200, await api.call(_service().remove, api.context, request.params["name"],
                                     force=request.flag("force")))


async def prune(api: API, request: Request) -> Reply:
    report = await api.call(_service().prune, api.context, filters=filters(request))
    return Reply(200, {"ImagesDeleted": report.get("ImagesDeleted") or None,
                       "SpaceReclaimed": int(report.get("SpaceReclaimed") or 0)})


async def build_prune(api: API, request: Request) -> Reply:
    """POST /build/prune: all, keep-storage (bytes), filters (until, id, description)."""
    from minidocker.build import builder
    try:
        keep = int(request.arg("keep-storage") or 0)
    except ValueError:
        raise HTTPError(400, "keep-storage: a number of bytes") from None
    report = await api.call(builder.prune, api.context, all=request.flag("all"),
                            filters=filters(request), keep_storage=keep)
    return Reply(200, {"CachesDeleted": report["CachesDeleted"] or None,
                       "SpaceReclaimed": int(report["SpaceReclaimed"])})


async def get(api: API, request: Request) -> None:
    """GET /images/{name}/get and GET /images/get?names=...: a Docker archive."""
    from minidocker.api.streams import BodyWriter
    names = [request.params["name"]] if "name" in request.params else \
        list(request.query.get("names", []))
    if not names:
        raise HTTPError(400, "no image named (names=...)")
    service = _service()
    for name in names:
        await api.call(service.inspect, api.context, name)  # 404 before the 200
    conn = request.conn
    await conn.start_stream(request, 200, "application/x-tar")
    await api.call(service.save, api.context, names,
                   BodyWriter(conn, asyncio.get_running_loop()))
    await conn.end_stream()


async def load(api: API, request: Request) -> None:
    from minidocker.api.streams import BodyReader
    body = BodyReader(request, asyncio.get_running_loop())
    try:
        sink, lines = await _progress(api, request, _service().load, body)
    except Exception:
        if body.error is not None:  # the client's fault (stalled, cut): its status
            raise body.error
        raise
    for line in lines:  # (with quiet=1 too: only progress bars are left out)
        await api.call(sink.stream, line + "\n")
    await _finish(request)


async def search(api: API, request: Request) -> Reply:
    raise HTTPError(501, "search is not supported by minidocker: there is no registry "
                         "index to search; name the image to pull")


async def commit(api: API, request: Request) -> Reply:
    from minidocker.engine.service import containers
    ref = request.arg("container")
    if not ref:
        raise HTTPError(400, "the container parameter is required")
    body = await request.json(default={})  # the container config to apply: not used
    del body
    repo = request.arg("repo")
    result = await api.call(containers.commit, api.context, ref,
                            repo=reference(repo, request.arg("tag") or "latest")
                            if repo else None,
                            comment=request.arg("comment") or "",
                            author=request.arg("author") or "",
                            changes=request.query.get("changes", []),
                            pause=request.flag("pause", True))
    return Reply(201, {"Id": result["Id"]})


async def build(api: API, request: Request) -> None:
    """POST /build (the classic builder's API: the client sends the context as a tar):
    minidocker's builder, its events as Docker's JSON stream."""
    import os

    from minidocker.api.jsonstream import JSONStream
    from minidocker.api.streams import BodyReader
    from minidocker.build import builder
    from minidocker.build import context as contexts
    if request.arg("remote"):
        raise HTTPError(400, "a remote build context (remote=) is not supported: send the "
                             "context as the body")
    build_args = request.json_arg("buildargs") or {}
    labels = request.json_arg("labels") or {}
    if not isinstance(build_args, dict) or not isinstance(labels, dict):
        raise HTTPError(400, "buildargs and labels must be JSON objects")
    network = request.arg("networkmode") or "default"
    options = builder.BuildOptions(
        dockerfile=request.arg("dockerfile") or "Dockerfile",
        tags=list(request.query.get("t", [])),
        build_args={str(k): str(v) for k, v in build_args.items() if v is not None},
        target=request.arg("target") or "", no_cache=request.flag("nocache"),
        pull=request.flag("pull"), labels={str(k): str(v) for k, v in labels.items()},
        network="default" if network == "bridge" else network)
    from minidocker.image import reference as references
    for tag in options.tags:
        references.parse(tag)  # a bad name is a 400 before any work
    body = BodyReader(request, asyncio.get_running_loop())
    workdir = os.path.join(api.root, "build", "tmp")
    try:
        source = await api.call(contexts.from_tar, body, workdir)
    except Exception:
        if body.error is not None:
            raise body.error
        raise
    sink = JSONStream(request, asyncio.get_running_loop())
    try:
        await api.call(builder.build, api.context.with_sink(sink), source, options,
                       build_events(sink, quiet=request.flag("q")))
    finally:
        await api.call(source.close)
    await _finish(request)


def build_events(sink: Any, quiet: bool = False) -> Any:
    """The builder's events (minidocker.build.events) as the classic builder's stream:
    Step N/M, output, " ---> Using cache", " ---> ID", Successfully built/tagged."""
    from minidocker.build import events

    def render(event: Any) -> None:
        if isinstance(event, events.Built):
            sink.aux({"ID": event.image_id})
            if not quiet:
                short = event.image_id.removeprefix("sha256:")[:12]
                sink.stream(f"Successfully built {short}\n")
                for tag in event.tags:
                    sink.stream(f"Successfully tagged {tag}\n")
            return
        if quiet:
            return
        if isinstance(event, events.Vertex) and event.step:
            sink.stream(f"Step {event.step}/{event.total} : "
                        f"{event.instruction or event.name}\n")
        elif isinstance(event, events.Log):
            sink.stream(event.data.decode(errors="replace"))
        elif isinstance(event, events.Done) and event.result:
            if event.cached:
                sink.stream(" ---> Using cache\n")
            sink.stream(f" ---> {event.result}\n")
        elif isinstance(event, events.Warning):
            sink.stream(f"[Warning] {event.message}\n")

    return render


ROUTES = [
    ("GET", "/images/json", list_images),
    ("POST", "/images/create", create),
    ("POST", "/images/load", load),
    ("GET", "/images/get", get),
    ("GET", "/images/search", search),
    ("POST", "/images/prune", prune),
    ("POST", "/commit", commit),
    ("POST", "/build", build),
    ("POST", "/build/prune", build_prune),
    ("GET", "/images/{name:path}/json", inspect),
    ("GET", "/images/{name:path}/history", history),
    ("GET", "/images/{name:path}/get", get),
    ("POST", "/images/{name:path}/push", push),
    ("POST", "/images/{name:path}/tag", tag),
    ("DELETE", "/images/{name:path}", remove),
]
