"""minidocker import: a rootfs tarball (file, URL-less, or stdin) or directory as an image."""

from __future__ import annotations

from minidocker.cli.flags import Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


SPEC = Spec("[OPTIONS] file|URL|- [REPOSITORY[:TAG]]", (
    ("c", "change", "list", "Apply Dockerfile instruction to the created image"),
    ("m", "message", "string", "Set commit message for imported image", {"default": ""}),
    ("", "platform", "string", "Set platform if server is multi-platform capable"),
), (("source", 1), ("reference", "?")))


def run(args: Any) -> int:
    import sys

    from minidocker.cli.commands._common import context
    from minidocker.engine.service import images

    source = sys.stdin.buffer if args.source == "-" else args.source
    print(images.import_(context(args), source, ref=args.reference, changes=args.change,
                         message=args.message, platform=args.platform)["Id"])
    return 0
