"""minidocker logout: forget the credentials of a registry."""

from __future__ import annotations

from minidocker.cli.flags import Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


SPEC = Spec("[SERVER]", (), (("server", "?"),))


def run(args: Any) -> int:
    from minidocker.cli.commands._common import context
    from minidocker.engine.service import images

    server = args.server or "docker.io"
    if images.logout(context(args), server):
        print(f"Removing login credentials for {server}")
    else:
        print(f"Not logged in to {server}")
    return 0
