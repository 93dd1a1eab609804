"""minidocker volume: create, ls, inspect, rm, prune."""

from __future__ import annotations

import sys

from minidocker.cli.flags import Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _create(args: Any) -> int:
    from minidocker.cli.commands._common import context
    from minidocker.engine.service import volumes
    labels = dict(item.partition("=")[::2] for item in args.label)
    print(volumes.create(context(args), args.name, driver=args.driver, labels=labels,
                         options=args.opt)["Name"])
    return 0


def _ls(args: Any) -> int:
    from minidocker.cli.commands._common import context
    from minidocker.engine.service import volumes
    from minidocker.engine.service.filters import from_args
    docs = volumes.ls(context(args), filters=from_args(args.filter))["Volumes"]
    if args.quiet:
        sys.stdout.write("".join(d["Name"] + "\n" for d in docs))
        return 0
    from minidocker.cli.formats import Format
    fmt = Format(args.format or "table", default_table="table {{.Driver}}\t{{.Name}}")
    sys.stdout.write(fmt.render(docs, {"Driver": "DRIVER", "Name": "VOLUME NAME"}))
    return 0


def _inspect(args: Any) -> int:
    import json

    from minidocker.cli.commands._common import context
    from minidocker.engine.service import volumes
    from minidocker.errors import MinidockerError
    ctx = context(args)
    docs = []
    failed = False
    for name in args.names:
        try:
            docs.append(volumes.inspect(ctx, name))
        except MinidockerError as e:
            sys.stderr.write(f"minidocker: error: {e.message}\n")
            failed = True
    if args.format:
        from minidocker.cli.views import go_maps
        from minidocker.gotemplate import render
        for d in docs:
            print(render(args.format, go_maps(d)))
    else:
        print(json.dumps(docs, indent=4))
    return 1 if failed else 0


def _rm(args: Any) -> int:
    from minidocker.cli.commands._common import context
    from minidocker.engine.service import volumes
    from minidocker.errors import MinidockerError
    ctx = context(args)
    failed = False
    for name in args.names:
        try:
            volumes.remove(ctx, name, force=args.force)
            print(name)
        except MinidockerError as e:
            sys.stderr.write(f"minidocker: error: {e.message}\n")
            failed = True
    return 1 if failed else 0


def _prune(args: Any) -> int:
    from minidocker.cli.commands._common import confirm, context
    from minidocker.cli.output import human_size
    from minidocker.engine.service import volumes
    from minidocker.engine.service.filters import from_args
    if not args.force and not confirm("WARNING! This will remove all local volumes not used "
                                      "by at least one container."):
        return 0
    report = volumes.prune(context(args), all=args.all, filters=from_args(args.filter))
    if report["VolumesDeleted"]:
        print("Deleted Volumes:")
        for n in report["VolumesDeleted"]:
            print(n)
        print()
    print(f"Total reclaimed space: {human_size(report['SpaceReclaimed'])}")
    return 0


SPEC = Spec("COMMAND", subcommands={
    "create": Spec("[OPTIONS] [VOLUME]", (
        ("d", "driver", "string", "Specify volume driver name",
         {"default": "local", "complete": ("local",)}),
        ("", "label", "list", "Set metadata for a volume"),
        ("o", "opt", "map", "Set driver specific options"),
    ), (("name", "?"),), handler=_create, summary="Create a volume"),
    "inspect": Spec("[OPTIONS] VOLUME [VOLUME...]", (
        ("f", "format", "string", "Format the output using the given Go template"),
    ), (("names", "+"),), handler=_inspect,
        summary="Display detailed information on one or more volumes"),
    "ls": Spec("[OPTIONS]", (
        ("f", "filter", "filter", "Provide filter values (e.g. 'dangling=true')"),
        ("", "format", "string", "Pretty-print volumes using a Go template"),
        ("q", "quiet", "bool", "Only display volume names"),
    ), handler=_ls, summary="List volumes", aliases=("ls", "list")),
    "prune": Spec("[OPTIONS]", (
        ("a", "all", "bool", "Remove all unused volumes, not just anonymous ones"),
        ("", "filter", "filter", "Provide filter values (e.g. 'label=<label>')"),
        ("f", "force", "bool", "Do not prompt for confirmation"),
    ), handler=_prune, summary="Remove all unused local volumes"),
    "rm": Spec("[OPTIONS] VOLUME [VOLUME...]", (
        ("f", "force", "bool", "Force the removal of one or more volumes"),
    ), (("names", "+"),), handler=_rm, summary="Remove one or more volumes. You cannot "
        "remove a volume that is in use by a container.", aliases=("rm", "remove")),
})
