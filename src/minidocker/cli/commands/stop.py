"""minidocker stop: send the stop signal, then SIGKILL after a grace period."""

from __future__ import annotations

from minidocker.cli.flags import Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


SPEC = Spec("[OPTIONS] CONTAINER [CONTAINER...]", (
    ("s", "signal", "string", "Signal to send to the container (default: its stop signal)",
     {"complete": "signal"}),
    ("t", "time", "int", "Seconds to wait for stop before killing it", {"help_default": 10}),
    ("", "timeout", "int", "Seconds to wait for stop before killing it",
     {"dest": "time", "hidden": True}),
), (("containers", "+"),))


def run(args: Any) -> int:
    from minidocker.cli.commands._common import context, each
    from minidocker.engine.service import containers
    if args.signal:
        from minidocker.runtime.operations import parse_signal
        parse_signal(args.signal)  # a bad name is one error, not one per container
    ctx = context(args)
    return each(args.containers,
                lambda ref: containers.stop(ctx, ref, timeout=args.time, signal=args.signal))
