"""minidocker inspect: low-level information on containers (and images)."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--format", help="format output using a Go template")
    parser.add_argument("-s", "--size", action="store_true", help="display total file sizes")
    parser.add_argument("--type", choices=("container", "image", "network", "volume"),
                        help="only objects of this type")
    parser.add_argument("names", nargs="+", metavar="NAME|ID")


def run(args: argparse.Namespace) -> int:
    import json

    from minidocker.cli.commands._common import context
    from minidocker.engine.service import system
    from minidocker.errors import MinidockerError

    ctx = context(args)
    docs = []
    failed = False
    for name in args.names:
        try:
            _, doc = system.inspect(ctx, name, kind=args.type, size=args.size)
            docs.append(doc)
        except MinidockerError as e:
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
