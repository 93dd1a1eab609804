"""minidocker kill: send a signal (default SIGKILL) to running containers."""

from __future__ import annotations

from minidocker.cli.flags import Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


SPEC = Spec("[OPTIONS] CONTAINER [CONTAINER...]", (
    ("s", "signal", "string", "Signal to send to the container",
     {"default": "KILL", "complete": "signal"}),
), (("containers", "+"),))


def run(args: Any) -> int:
    from minidocker.cli.commands._common import context, each
    from minidocker.engine.service import containers
    from minidocker.runtime.operations import parse_signal
    parse_signal(args.signal)  # a bad name is one error, not one per container
    ctx = context(args)
    return each(args.containers, lambda ref: containers.kill(ctx, ref, signal=args.signal))
