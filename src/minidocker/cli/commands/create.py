"""minidocker create: create a container (it does not run until `start`)."""

from __future__ import annotations

from minidocker.cli.commands import _container_flags as flags

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import SimpleNamespace

SPEC = flags.spec(flags.CREATE_FLAGS)


def run(args: SimpleNamespace) -> int:
    import sys

    from minidocker.cli.commands._common import Terminal, context
    from minidocker.engine.service import containers
    ctx = context(args, Terminal(sys.stderr))
    body = flags.options_from(args, detach=True)
    cidfile = flags.CidFile(args.cidfile)
    try:
        cid = containers.create(ctx, body, pull=args.pull, platform=args.platform)["Id"]
    except BaseException:
        cidfile.discard()
        raise
    cidfile.write(cid)
    print(cid)
    return 0
