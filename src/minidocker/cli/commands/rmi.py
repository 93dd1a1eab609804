"""minidocker rmi: remove images (untag; delete when the last tag goes)."""

from __future__ import annotations

import sys

from minidocker.cli.flags import Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


SPEC = Spec("[OPTIONS] IMAGE [IMAGE...]", (
    ("f", "force", "bool", "Force removal of the image"),
    # an image here has no parent images (its layers are not images of their own), so
    # there are never untagged parents to keep or delete: Docker's flag, the same result
    ("", "no-prune", "bool", "Do not delete untagged parents"),
), (("images", "+"),))


def run(args: Any) -> int:
    from minidocker.cli.commands._common import context
    from minidocker.engine.service import images
    from minidocker.errors import MinidockerError, NotFound

    ctx = context(args)
    status = 0
    for name in args.images:
        try:
            for item in images.remove(ctx, name, force=args.force):
                for kind, value in item.items():
                    print(f"{kind}: {value}")
        except MinidockerError as e:
            sys.stderr.write(f"minidocker: error: {e.message}\n")
            if e.hint and not isinstance(e, NotFound):  # (not "pull it first")
                sys.stderr.write(f"hint: {e.hint}\n")
            status = 1  # Docker's, whatever failed
    return status
