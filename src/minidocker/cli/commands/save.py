"""minidocker save: write images to a Docker (default) or OCI archive."""

from __future__ import annotations

import sys

from minidocker.cli.flags import Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


SPEC = Spec("[OPTIONS] IMAGE [IMAGE...]", (
    ("", "format", "string", "Archive format: docker (Docker's, the default) or oci",
     {"default": "docker", "complete": ("docker", "oci")}),
    ("o", "output", "string", "Write to a file, instead of STDOUT", {"complete": "file"}),
), (("images", "+"),))


def run(args: Any) -> int:
    import os

    from minidocker.cli.commands._common import context
    from minidocker.engine.service import images
    from minidocker.errors import UsageError

    if args.format not in ("docker", "oci", "docker-archive", "oci-archive"):
        raise UsageError(f"invalid archive format {args.format!r}: docker or oci")
    ctx = context(args)
    if not args.output:
        if sys.stdout.isatty():
            raise UsageError("save: refusing to write an archive to a terminal",
                             hint="use -o FILE or redirect stdout")
        sys.stdout.flush()
        images.save(ctx, args.images, sys.stdout.buffer, format=args.format)
        sys.stdout.buffer.flush()
        return 0
    tmp = f"{args.output}.tmp.{os.getpid()}"
    try:
        with open(tmp, "wb") as out:
            images.save(ctx, args.images, out, format=args.format)
        os.rename(tmp, args.output)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return 0
