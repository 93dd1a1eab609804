"""minidocker wait: block until containers stop, then print their exit codes."""

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

    def wait(ref: str) -> None:
        print(containers.wait(ctx, ref)["StatusCode"], flush=True)

    return each(args.containers, wait, echo=False)
