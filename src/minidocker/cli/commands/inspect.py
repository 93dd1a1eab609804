"""minidocker inspect: low-level information on containers (and images)."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--format", help="format output using a Go template")
    parser.add_argument("-s", "--size", action="store_true", help="display total file sizes")
    parser.add_argument("--type", choices=("container", "image", "volume"),
                        help="only objects of this type")
    parser.add_argument("names", nargs="+", metavar="NAME|ID")


def run(args: argparse.Namespace) -> int:
    import json

    from minidocker.cli.commands._common import find, root
    from minidocker.engine.lifecycle import live_state
    from minidocker.engine.views import inspect_doc
    from minidocker.errors import MinidockerError, NotFound

    docs = []
    failed = False
    for name in args.names:
        doc = None
        try:
            if args.type in (None, "container"):
                try:
                    record = find(name)
                    doc = inspect_doc(record, live_state(record))
                except NotFound:
                    if args.type == "container":
                        raise
            if doc is None and args.type in (None, "image"):
                try:
                    from minidocker.image.manage import inspect as image_inspect
                    from minidocker.image.store import Store
                    doc = image_inspect(Store(root()), [name])[0]
                except NotFound:
                    if args.type == "image":
                        raise
            if doc is None and args.type in (None, "volume"):
                from minidocker.engine import volumes
                try:
                    doc = volumes.inspect(root(), name)
                except NotFound:
                    if args.type == "volume":
                        raise
            if doc is None:
                raise NotFound(f"no such object: {name}")
            docs.append(doc)
        except MinidockerError as e:
            sys.stderr.write(f"minidocker: error: {e.message}\n")
            failed = True
    if args.format:
        from minidocker.cli.template import parse
        template = parse(args.format.replace("\\n", "\n").replace("\\t", "\t"),
                         strict_fields=True)
        for doc in docs:
            sys.stdout.write(template.execute(doc) + "\n")
    else:
        sys.stdout.write(json.dumps(docs, indent=4, default=_plain) + "\n")
    return 1 if failed else 0


def _plain(obj: object) -> object:
    if isinstance(obj, dict):
        return dict(obj)
    raise TypeError(type(obj).__name__)
