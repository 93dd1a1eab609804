"""minidocker builder: manage the build cache (`builder prune`)."""

from __future__ import annotations

from minidocker.cli.flags import Spec, delegated

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _prune(args: Any) -> int:
    from minidocker.build import builder
    from minidocker.cli.commands._common import confirm, context
    from minidocker.cli.output import human_size
    if not args.force and not confirm("WARNING! This will remove all dangling build cache."
                                      if not args.all else
                                      "WARNING! This will remove all build cache."):
        return 0
    from minidocker.engine.service.filters import from_args
    report = builder.prune(context(args), all=args.all, filters=from_args(args.filter),
                           keep_storage=args.keep_storage or 0)
    if report["CachesDeleted"]:
        print("Deleted build cache objects:")
        print("\n".join(k[:25] for k in report["CachesDeleted"]))
        print()
    print(f"Total reclaimed space: {human_size(report['SpaceReclaimed'])}")
    return 0


SPEC = Spec("COMMAND", subcommands={
    "build": delegated("build"),
    "prune": Spec("", (
        ("a", "all", "bool", "Remove all unused build cache, not just dangling ones"),
        ("", "filter", "filter", "Provide filter values (e.g. 'until=24h')"),
        ("f", "force", "bool", "Do not prompt for confirmation"),
        ("", "keep-storage", "bytes", "Amount of disk space to keep for cache"),
    ), handler=_prune, summary="Remove build cache"),
})
