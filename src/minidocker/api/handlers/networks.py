"""/networks (minidocker.engine.service.networks)."""

from __future__ import annotations

from minidocker.api import schema
from minidocker.api.app import Reply, no_content
from minidocker.api.handlers.common import filters
from minidocker.api.http import HTTPError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from minidocker.api.http import Request
    from minidocker.api.server import API


def _service() -> Any:
    from minidocker.engine.service import networks
    return networks


async def list_networks(api: API, request: Request) -> Reply:
    return Reply(200, await api.call(_service().ls, api.context, filters=filters(request)))


async def inspect(api: API, request: Request) -> Reply:
    return Reply(200, await api.call(_service().inspect, api.context, request.params["id"]))


async def create(api: API, request: Request) -> Reply:
    body = schema.body(await request.json(), schema.NETWORK_CREATE, "network create body")
    if not body.get("Name"):
        raise HTTPError(400, "a network needs a Name")
    if body.get("EnableIPv6"):
        raise HTTPError(400, "IPv6 networks are not supported by minidocker")
    result = await api.call(_service().create_from_api, api.context, body)
    return Reply(201, {"Id": result["Id"], "Warning": result.get("Warning", "")})


async def remove(api: API, request: Request) -> Reply:
    await api.call(_service().remove, api.context, request.params["id"])
    return no_content()


async def connect(api: API, request: Request) -> Reply:
    body = schema.body(await request.json(), schema.NETWORK_CONNECT, "connect body")
    if not body.get("Container"):
        raise HTTPError(400, "connect needs a Container")
    endpoint = body.get("EndpointConfig") or {}
    ip = (endpoint.get("IPAMConfig") or {}).get("IPv4Address") or None
    await api.call(_service().connect, api.context, request.params["id"], body["Container"],
                   ip=ip, aliases=list(endpoint.get("Aliases") or []))
    return Reply(200)


async def disconnect(api: API, request: Request) -> Reply:
    body = schema.body(await request.json(), {"Container": "str", "Force": "bool"},
                       "disconnect body")
    if not body.get("Container"):
        raise HTTPError(400, "disconnect needs a Container")
    await api.call(_service().disconnect, api.context, request.params["id"],
                   body["Container"], force=bool(body.get("Force")))
    return Reply(200)


async def prune(api: API, request: Request) -> Reply:
    report = await api.call(_service().prune, api.context, filters=filters(request))
    return Reply(200, {"NetworksDeleted": report.get("NetworksDeleted") or None})


ROUTES = [
    ("GET", "/networks", list_networks),
    ("POST", "/networks/create", create),
    ("POST", "/networks/prune", prune),
    ("GET", "/networks/{id}", inspect),
    ("DELETE", "/networks/{id}", remove),
    ("POST", "/networks/{id}/connect", connect),
    ("POST", "/networks/{id}/disconnect", disconnect),
]
