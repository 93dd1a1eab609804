"""minidocker image: the image commands under one name (`image ls` is `images`, `image rm`
is `rmi` ...), and `image inspect` and `image prune`."""

from __future__ import annotations

from minidocker.cli.flags import Spec, delegated

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _inspect(args: Any) -> int:
    from minidocker.cli.commands import inspect
    args.type, args.size = "image", False
    return inspect.run(args)


def _prune(args: Any) -> int:
    from minidocker.cli.commands._common import confirm, context
    from minidocker.cli.output import human_size
    from minidocker.engine.service import images
    from minidocker.engine.service.filters import from_args

    warning = ("WARNING! This will remove all images without at least one container "
               "associated to them." if args.all else
               "WARNING! This will remove all dangling images.")
    if not args.force and not confirm(warning):
        return 0
    report = images.prune(context(args), all=args.all, filters=from_args(args.filter))
    if report["ImagesDeleted"]:
        print("Deleted Images:")
        print("\n".join(f"{k.lower()}: {v}" for item in report["ImagesDeleted"]
                        for k, v in item.items()))
        print()
    print(f"Total reclaimed space: {human_size(report['SpaceReclaimed'])}")
    return 0


SPEC = Spec("COMMAND", subcommands={
    "build": delegated("build"), "history": delegated("history"),
    "import": delegated("import"),
    "inspect": Spec("[OPTIONS] IMAGE [IMAGE...]", (
        ("f", "format", "string", "Format the output using the given Go template"),
    ), (("names", "+"),), handler=_inspect,
        summary="Display detailed information on one or more images"),
    "load": delegated("load"), "ls": delegated("images", "ls", "images", "list"),
    "prune": Spec("[OPTIONS]", (
        ("a", "all", "bool", "Remove all unused images, not just dangling ones"),
        ("", "filter", "filter", "Provide filter values (e.g. 'until=<timestamp>')"),
        ("f", "force", "bool", "Do not prompt for confirmation"),
    ), handler=_prune, summary="Remove unused images"),
    "pull": delegated("pull"), "push": delegated("push"),
    "rm": delegated("rmi", "rm", "rmi", "remove"), "save": delegated("save"),
    "tag": delegated("tag"),
})
