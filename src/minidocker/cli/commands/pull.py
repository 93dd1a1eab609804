"""minidocker pull: download an image from a registry."""

from __future__ import annotations

from minidocker.cli.flags import Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


SPEC = Spec("[OPTIONS] NAME[:TAG|@DIGEST]", (
    ("", "disable-content-trust", "bool", "Skip image verification (minidocker verifies "
     "no signatures)", {"default": True}),
    ("", "insecure", "bool", "Allow plain HTTP to this registry"),
    ("", "platform", "string", "Set platform if server is multi-platform capable"),
    ("q", "quiet", "bool", "Suppress verbose output"),
), (("name", 1),))


def run(args: Any) -> int:
    from minidocker.cli.commands._common import context
    from minidocker.cli.progress import Progress
    from minidocker.engine.service import images
    from minidocker.image import reference

    images.pull(context(args, Progress(quiet=args.quiet)), args.name, platform=args.platform,
                insecure=args.insecure)
    print(reference.parse(args.name))
    return 0
