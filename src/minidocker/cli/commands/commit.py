"""minidocker commit: a new image from a container's changes."""

from __future__ import annotations

from minidocker.cli.flags import Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


SPEC = Spec("[OPTIONS] CONTAINER [REPOSITORY[:TAG]]", (
    ("a", "author", "string", 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")',
     {"default": ""}),
    ("c", "change", "list", "Apply Dockerfile instruction to the created image"),
    ("m", "message", "string", "Commit message", {"default": ""}),
    ("p", "pause", "bool", "Pause container during commit", {"default": True}),
), (("container", 1), ("repository", "?")))


def run(args: Any) -> int:
    from minidocker.cli.commands._common import context
    from minidocker.engine.service import containers
    result = containers.commit(context(args), args.container, repo=args.repository,
                               comment=args.message, author=args.author,
                               changes=list(args.change), pause=args.pause)
    print(result["Id"])
    return 0
