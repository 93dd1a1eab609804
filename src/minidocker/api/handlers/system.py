"""/_ping, /version, /info, /system/df, /events, /auth."""

from __future__ import annotations

import os
import platform

from minidocker.api import versions
from minidocker.api.app import Reply

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


ROUTES = [
    ("GET", "/_ping", ping),
    ("GET", "/version", version),
]
