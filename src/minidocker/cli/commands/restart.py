"""minidocker restart: stop (if running) then start containers."""

from __future__ import annotations

from minidocker.cli.flags import Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


SPEC = Spec("[OPTIONS] CONTAINER [CONTAINER...]", (
    ("t", "time", "int", "Seconds to wait for stop before killing the container",
     {"help_default": 10}),
    ("", "timeout", "int", "Seconds to wait for stop before killing the container",
     {"dest": "time", "hidden": True}),
), (("containers", "+"),))


def run(args: Any) -> int:
    from minidocker.cli.commands._common import context, each
    from minidocker.engine.service import containers
    ctx = context(args)
    return each(args.containers, lambda ref: containers.restart(ctx, ref, timeout=args.time))
