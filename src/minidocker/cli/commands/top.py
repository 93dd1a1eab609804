"""minidocker top: the running processes of a container (ps -ef by default)."""

from __future__ import annotations

from minidocker.cli.flags import Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


SPEC = Spec("CONTAINER [ps OPTIONS]", (), (("container", 1), ("ps_args", "...")),
            interspersed=False)


def run(args: Any) -> int:
    import sys

    from minidocker.cli.commands._common import context
    from minidocker.cli.output import format_table
    from minidocker.engine.service import containers
    top = containers.top(context(args), args.container, args.ps_args or None)
    if top["Titles"]:
        sys.stdout.write(format_table(top["Titles"], top["Processes"]))
    return 0
