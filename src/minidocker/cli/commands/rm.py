"""minidocker rm: remove one or more containers."""

from __future__ import annotations

from minidocker.cli.flags import Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


SPEC = Spec("[OPTIONS] CONTAINER [CONTAINER...]", (
    ("f", "force", "bool", "Force the removal of a running container (uses SIGKILL)"),
    ("v", "volumes", "bool", "Remove anonymous volumes associated with the container"),
), (("containers", "+"),))


def run(args: Any) -> int:
    from minidocker.cli.commands._common import context, each
    from minidocker.engine.service import containers
    ctx = context(args)
    return each(args.containers, lambda ref: containers.remove(ctx, ref, force=args.force,
                                                               volumes=args.volumes))
