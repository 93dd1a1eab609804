"""minidocker attach: attach to a running container's output (and input)."""

from __future__ import annotations

import sys

from minidocker.cli.flags import Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


SPEC = Spec("[OPTIONS] CONTAINER", (
    ("", "no-stdin", "bool", "Do not attach STDIN"),
    ("", "sig-proxy", "bool", "Proxy all received signals to the process", {"default": True}),
), (("container", 1),))


def run(args: Any) -> int:
    from minidocker.cli.attach import stream as serve
    from minidocker.cli.commands._common import context
    from minidocker.engine.service import containers
    stream = containers.attach(context(args), args.container, stdin=not args.no_stdin)
    code = serve(stream, stdin=stream.stdin, tty=stream.tty,
                 forward_signals=args.sig_proxy)
    stream.close()
    if code is None:
        sys.stderr.write("minidocker: error: lost the container's monitor\n")
        return 125
    return code
