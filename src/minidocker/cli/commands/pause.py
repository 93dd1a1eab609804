"""minidocker pause: freeze all processes of containers."""

from __future__ import annotations

from minidocker.cli.flags import Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


SPEC = Spec("CONTAINER [CONTAINER...]", (), (("containers", "+"),))


def run(args: Any) -> int:
    from minidocker.cli.commands._common import context, each
    from minidocker.engine.service import containers
    ctx = context(args)
    return each(args.containers, lambda ref: containers.pause(ctx, ref))
