"""minidocker tag: give an image another name."""

from __future__ import annotations

from minidocker.cli.flags import Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


SPEC = Spec("SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]", (), (("source", 1), ("target", 1)))


def run(args: Any) -> int:
    from minidocker.cli.commands._common import context
    from minidocker.engine.service import images
    images.tag(context(args), args.source, args.target)
    return 0
