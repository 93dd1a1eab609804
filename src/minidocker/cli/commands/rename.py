"""minidocker rename: rename a container."""

from __future__ import annotations

from minidocker.cli.flags import Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


SPEC = Spec("CONTAINER NEW_NAME", (), (("container", 1), ("new_name", 1)))


def run(args: Any) -> int:
    from minidocker.cli.commands._common import context
    from minidocker.engine.service import containers
    containers.rename(context(args), args.container, args.new_name)
    return 0
