"""minidocker inspect: low-level information on containers (and images)."""

from __future__ import annotations

import sys

from minidocker.cli.flags import Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


SPEC = Spec("[OPTIONS] NAME|ID [NAME|ID...]", (
    ("f", "format", "string", "Format the output using the given Go template"),
    ("s", "size", "bool", "Display total file sizes if the type is container"),
    ("", "type", "string", "Return JSON for specified type",
     {"complete": ("container", "image", "network", "volume")}),
), (("names", "+"),))


def run(args: Any) -> int:
    import json

    from minidocker.cli.commands._common import context
    from minidocker.engine.service import system
    from minidocker.errors import NotFound

    ctx = context(args)
    docs = []
    failed = False
    for name in args.names:  # as Docker: show what exists, report the rest, exit 1
        try:
            _, doc = system.inspect(ctx, name, kind=args.type, size=args.size)
            docs.append(doc)
        except NotFound as e:
            sys.stderr.write(f"minidocker: error: {e.message}\n")
            failed = True
    if args.format:
        from minidocker.cli.views import go_maps
        from minidocker.gotemplate import parse
        template = parse(args.format.replace("\\n", "\n").replace("\\t", "\t"),
                         strict_fields=True)
        for doc in docs:
            sys.stdout.write(template.execute(go_maps(doc)) + "\n")
    else:
        sys.stdout.write(json.dumps(docs, indent=4) + "\n")
    return 1 if failed else 0
