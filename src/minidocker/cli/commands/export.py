"""minidocker export: a container's filesystem as a tar archive."""

from __future__ import annotations

from minidocker.cli.flags import Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


SPEC = Spec("[OPTIONS] CONTAINER", (
    ("o", "output", "string", "Write to a file, instead of STDOUT", {"complete": "file"}),
), (("container", 1),))


def run(args: Any) -> int:
    import os
    import sys

    from minidocker.cli.commands._common import context
    from minidocker.engine.service import containers
    from minidocker.errors import UsageError
    if not args.output and os.isatty(1):
        raise UsageError("cowardly refusing to save to a terminal",
                         hint="use the -o flag or redirect")
    ctx = context(args)
    if args.output:
        with open(args.output, "wb") as f:
            containers.export(ctx, args.container, f)
    else:
        containers.export(ctx, args.container, sys.stdout.buffer)
    return 0
