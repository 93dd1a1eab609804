"""minidocker pull: download an image from a registry."""

from __future__ import annotations

from minidocker.cli.flags import Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


SPEC = Spec("[OPTIONS] NAME[:TAG|@DIGEST]", (
    ("a", "all-tags", "bool", "Download all tagged images in the repository"),
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

    ctx = context(args, Progress(quiet=args.quiet))
    if args.all_tags:  # then the repository's name, as Docker's
        images.pull_all_tags(ctx, args.name, platform=args.platform, insecure=args.insecure)
        print(reference.parse(args.name, default_tag=False).name)
        return 0
    images.pull(ctx, args.name, platform=args.platform, insecure=args.insecure)
    print(reference.parse(args.name))
    return 0
