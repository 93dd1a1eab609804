"""/volumes (minidocker.engine.service.volumes)."""

from __future__ import annotations

from minidocker.api import schema
from minidocker.api.app import Reply, no_content
from minidocker.api.handlers.common import filters

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from minidocker.api.http import Request
    from minidocker.api.server import API


def _service() -> Any:
    from minidocker.engine.service import volumes
    return volumes


async def list_volumes(api: API, request: Request) -> Reply:
    return Reply(200, await api.call(_service().ls, api.context, filters=filters(request)))


async def create(api: API, request: Request) -> Reply:
    body = schema.body(await request.json(), schema.VOLUME_CREATE, "volume create body")
    doc = await api.call(_service().create, api.context, body.get("Name") or None,
                         driver=body.get("Driver") or "local",
                         labels=body.get("Labels") or {}, options=body.get("DriverOpts") or {})
    return Reply(201, doc)


async def inspect(api: API, request: Request) -> Reply:
    return Reply(200, await api.call(_service().inspect, api.context, request.params["name"]))


async def remove(api: API, request: Request) -> Reply:
    await api.call(_service().remove, api.context, request.params["name"],
                   force=request.flag("force"))
    return no_content()


async def prune(api: API, request: Request) -> Reply:
    report = await api.call(_service().prune, api.context, filters=filters(request))
    return Reply(200, {"VolumesDeleted": report.get("VolumesDeleted") or None,
                       "SpaceReclaimed": int(report.get("SpaceReclaimed") or 0)})


ROUTES = [
    ("GET", "/volumes", list_volumes),
    ("POST", "/volumes/create", create),
    ("POST", "/volumes/prune", prune),
    ("GET", "/volumes/{name}", inspect),
    ("DELETE", "/volumes/{name}", remove),
]
