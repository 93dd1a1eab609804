"""The route table: every endpoint of the API, from the handler modules."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from minidocker.api.server import API

MODULES = ("system", "containers", "execs", "images", "networks", "volumes")


def install(api: API) -> None:
    import importlib
    for name in MODULES:
        module = importlib.import_module(f"minidocker.api.handlers.{name}")
        for method, pattern, handler in module.ROUTES:
            api.router.add(method, pattern, handler)
