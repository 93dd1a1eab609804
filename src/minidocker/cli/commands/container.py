"""minidocker container: the container commands under one name (`container ls` is `ps`,
`container run` is `run` ...), and `container prune` and `container inspect`."""

from __future__ import annotations

from minidocker.cli.flags import Spec, delegated

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _prune(args: Any) -> int:
    from minidocker.cli.commands._common import confirm, context
    from minidocker.cli.output import human_size
    from minidocker.engine.service import containers
    from minidocker.engine.service.filters import from_args
    if not args.force and not confirm("WARNING! This will remove all stopped containers."):
        return 0
    report = containers.prune(context(args), filters=from_args(args.filter))
    ids = report["ContainersDeleted"]
    if ids:
        print("Deleted Containers:")
        for cid in ids:
            print(cid)
        print()
    print(f"Total reclaimed space: {human_size(report['SpaceReclaimed'])}")
    return 0


def _inspect(args: Any) -> int:
    from minidocker.cli.commands import inspect
    args.type = "container"
    return inspect.run(args)


SPEC = Spec("COMMAND", subcommands={
    "attach": delegated("attach"), "commit": delegated("commit"), "cp": delegated("cp"),
    "create": delegated("create"), "diff": delegated("diff"), "exec": delegated("exec"),
    "explain": delegated("explain"), "export": delegated("export"),
    "inspect": Spec("[OPTIONS] CONTAINER [CONTAINER...]", (
        ("f", "format", "string", "Format the output using the given Go template"),
        ("s", "size", "bool", "Display total file sizes"),
    ), (("names", "+"),), handler=_inspect,
        summary="Display detailed information on one or more containers"),
    "kill": delegated("kill"), "logs": delegated("logs"),
    "ls": delegated("ps", "ls", "ps", "list"), "pause": delegated("pause"),
    "port": delegated("port"),
    "prune": Spec("[OPTIONS]", (
        ("", "filter", "filter", "Provide filter values (e.g. 'until=<timestamp>')"),
        ("f", "force", "bool", "Do not prompt for confirmation"),
    ), handler=_prune, summary="Remove all stopped containers"),
    "rename": delegated("rename"), "restart": delegated("restart"),
    "rm": delegated("rm", "rm", "remove"), "run": delegated("run"),
    "start": delegated("start"), "stats": delegated("stats"), "stop": delegated("stop"),
    "top": delegated("top"), "unpause": delegated("unpause"), "update": delegated("update"),
    "wait": delegated("wait"),
})
