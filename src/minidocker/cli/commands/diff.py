"""minidocker diff: changes to files on a container's filesystem."""

from __future__ import annotations

from minidocker.cli.flags import Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


SPEC = Spec("CONTAINER", (), (("container", 1),))


def run(args: Any) -> int:
    import sys

    from minidocker.cli.commands._common import context
    from minidocker.engine.service import containers
    kinds = "CAD"
    for change in containers.diff(context(args), args.container):
        sys.stdout.write(f"{kinds[change['Kind']]} {change['Path']}\n")
    return 0
