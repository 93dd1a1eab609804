"""minidocker start: start one or more stopped containers."""

from __future__ import annotations

import sys

from minidocker.cli.flags import Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


SPEC = Spec("[OPTIONS] CONTAINER [CONTAINER...]", (
    ("a", "attach", "bool", "Attach STDOUT/STDERR and forward signals"),
    ("i", "interactive", "bool", "Attach container's STDIN"),
    ("", "trace", "string", "Append each step the start takes to FILE as trace-event JSON "
     "(minidocker trace show FILE)", {"complete": "file"}),
), (("containers", "+"),))


def run(args: Any) -> int:
    from minidocker.cli.commands._common import context, each
    from minidocker.engine.service import containers
    ctx = context(args)
    if args.attach or args.interactive:
        if len(args.containers) > 1:
            from minidocker.errors import UsageError
            raise UsageError("you cannot start and attach multiple containers at once")
        stream = containers.start(ctx, args.containers[0], attach=True,
                                  interactive=args.interactive)
        assert stream is not None
        from minidocker.cli.attach import stream as serve
        code = serve(stream, stdin=args.interactive, tty=stream.tty)
        stream.close()
        if code is None:
            sys.stderr.write("minidocker: error: lost the container's monitor\n")
            return 125
        return code
    return each(args.containers, lambda ref: containers.start(ctx, ref))
