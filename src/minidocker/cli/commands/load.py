"""minidocker load: load images from a Docker or OCI archive (file or stdin)."""

from __future__ import annotations

import sys
from typing import IO

from minidocker.cli.flags import Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


SPEC = Spec("[OPTIONS]", (
    ("i", "input", "string", "Read from tar archive file, instead of STDIN",
     {"complete": "file"}),
    ("q", "quiet", "bool", "Suppress the load output"),
))


def run(args: Any) -> int:
    from minidocker.cli.commands._common import context
    from minidocker.engine.service import images
    from minidocker.errors import UsageError

    source: IO[bytes]
    if args.input:
        try:
            source = open(args.input, "rb")  # noqa: SIM115
        except FileNotFoundError:
            raise UsageError(f"load: {args.input}: no such file") from None
    else:
        if sys.stdin.isatty():
            raise UsageError("load: no input: give -i FILE or pipe an archive to stdin")
        source = sys.stdin.buffer
    with source:
        lines = images.load(context(args), source)
    if not args.quiet:
        print("\n".join(lines))
    return 0
