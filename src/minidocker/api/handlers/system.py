"""/_ping, /version, /info, /system/df, /events, /auth."""

from __future__ import annotations

import os
import platform

from minidocker.api import versions
from minidocker.api.app import Reply
from minidocker.api.http import HTTPError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from minidocker.api.http import Request
    from minidocker.api.server import API

PING_HEADERS = [("Cache-Control", "no-cache, no-store, must-revalidate"), ("Pragma", "no-cache"),
                ("Builder-Version", "1")]


async def ping(api: API, request: Request) -> Reply:
    return Reply(200, raw=b"OK", content_type="text/plain; charset=utf-8",
                 headers=PING_HEADERS)


async def version(api: API, request: Request) -> Reply:
    from minidocker import OCI_VERSION, __version__
    uname = os.uname()
    details = {"ApiVersion": versions.API_VERSION, "MinAPIVersion": versions.MIN_API_VERSION,
               "Os": "linux", "Arch": _arch(uname.machine), "KernelVersion": uname.release}
    doc = {
        "Platform": {"Name": f"minidocker {__version__}"},
        "Components": [
            {"Name": "Engine", "Version": __version__,
             "Details": {**details, "GitCommit": "", "GoVersion":
                         "python" + platform.python_version(), "Experimental": "false",
                         "BuildTime": ""}},
            {"Name": "minidocker-runtime", "Version": __version__,
             "Details": {"OCI": OCI_VERSION}},
        ],
        "Version": __version__,
        "GitCommit": "",
        "GoVersion": "python" + platform.python_version(),
        "BuildTime": "",
        **details,
    }
    return Reply(200, doc)


def _arch(machine: str) -> str:
    """Go's names for the architecture, as Docker reports it."""
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386",
            "ppc64le": "ppc64le", "s390x": "s390x"}.get(machine, machine)


async def info(api: API, request: Request) -> Reply:
    from minidocker.engine.service import system
    return Reply(200, await api.call(system.info, api.context))


async def df(api: API, request: Request) -> Reply:
    from minidocker.engine.service import system
    return Reply(200, await api.call(system.df, api.context))


def _time(text: str | None) -> float | None:
    """since/until: seconds since the epoch (with a fraction), or RFC 3339."""
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    from minidocker.engine.logs import parse_since
    try:
        return float(parse_since(text))
    except Exception:
        raise HTTPError(400, f"invalid time value {text!r}")


async def events(api: API, request: Request) -> None:
    """GET /events: one JSON object per line as they happen (since/until replay and
    end the stream), for changes made through any front end."""
    from minidocker import jsonfast
    from minidocker.api.handlers.common import Watch, filters
    from minidocker.api.handlers.containers import _pump
    from minidocker.engine.service import system
    since, until = _time(request.arg("since")), _time(request.arg("until"))
    wanted = filters(request)
    async with Watch(request) as gone:
        items = await api.call(system.events, api.context, since=since, until=until,
                               filters=wanted, stop=gone)
        await request.conn.start_stream(request, 200, "application/json")
        await _pump(api, request, items, lambda e: jsonfast.dumps(e).encode() + b"\n")
    await request.conn.end_stream()


async def auth(api: API, request: Request) -> Reply:
    """POST /auth: check credentials against the registry (the client keeps them)."""
    from minidocker.api import schema
    from minidocker.engine.service import images
    body = schema.body(await request.json(), schema.AUTH, "auth body")
    if not body.get("username") and not body.get("identitytoken"):
        raise HTTPError(400, "auth needs a username and password")
    server = str(body.get("serveraddress") or "docker.io")
    server = server.removeprefix("https://").removeprefix("http://").split("/")[0]
    result = await api.call(images.login, api.context, server,
                            str(body.get("username") or ""), str(body.get("password") or ""),
                            keep=False)
    return Reply(200, result)


ROUTES = [
    ("GET", "/_ping", ping),
    ("GET", "/version", version),
    ("GET", "/info", info),
    ("GET", "/system/df", df),
    ("GET", "/events", events),
    ("POST", "/auth", auth),
]
