"""minidocker push: upload an image to a registry."""

from __future__ import annotations

from minidocker.cli.flags import Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


SPEC = Spec("[OPTIONS] NAME[:TAG]", (
    ("a", "all-tags", "bool", "Push all tagged images in the repository"),
    ("", "disable-content-trust", "bool", "Skip image signing (minidocker signs nothing)",
     {"default": True}),
    ("", "insecure", "bool", "Allow plain HTTP to this registry"),
    ("q", "quiet", "bool", "Suppress verbose output"),
), (("name", 1),))


def run(args: Any) -> int:
    from minidocker.cli.commands._common import context
    from minidocker.cli.progress import Progress
    from minidocker.engine.service import images

    ctx = context(args, Progress(quiet=args.quiet))
    if args.all_tags:
        images.push_all_tags(ctx, args.name, insecure=args.insecure)
    else:
        images.push(ctx, args.name, insecure=args.insecure)
    return 0
