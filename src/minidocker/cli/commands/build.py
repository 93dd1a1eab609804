"""minidocker build: an image from a Dockerfile and a context (docs/build.md).

The builder does the work; this module parses flags, opens the context (a directory,
`-` for stdin: a Dockerfile or a tar archive), and renders the builder's events as
BuildKit does: `plain` (numbered lines, for logs) or `tty` (a live view redrawn in
place), `auto` choosing by whether stderr is a terminal. Progress goes to stderr;
stdout gets only the image ID with -q.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, TextIO

from minidocker.cli.flags import Spec

SPEC = Spec("[OPTIONS] PATH | -", (
    ("", "build-arg", "list", "Set build-time variables"),
    ("", "disable-content-trust", "bool", "Skip image verification (minidocker verifies "
     "no signatures)", {"default": True}),
    ("f", "file", "string", "Name of the Dockerfile (Default is 'PATH/Dockerfile'; '-' "
     "reads it from stdin)", {"complete": "file"}),
    ("", "iidfile", "string", "Write the image ID to the file", {"complete": "file"}),
    ("", "label", "list", "Set metadata for an image"),
    ("", "network", "string", "Set the networking mode for the RUN instructions during "
     "build (default, none, host)", {"default": "default",
                                     "complete": ("default", "none", "host")}),
    ("", "no-cache", "bool", "Do not use cache when building the image"),
    ("", "progress", "string", "Set type of progress output (auto, plain, tty)",
     {"default": "auto", "complete": ("auto", "plain", "tty")}),
    ("", "pull", "bool", "Always attempt to pull a newer version of the image"),
    ("q", "quiet", "bool", "Suppress the build output and print image ID on success"),
    ("t", "tag", "list", "Name and optionally a tag in the 'name:tag' format"),
    ("", "target", "string", "Set the target build stage to build.", {"default": ""}),
), (("context", 1),))


def run(args: Any) -> int:
    from minidocker.build import builder
    from minidocker.build import context as contexts
    from minidocker.cli.commands._common import context
    from minidocker.errors import UsageError
    from minidocker.image import reference

    if args.network not in ("default", "none", "host"):
        raise UsageError(f"network mode {args.network!r} not supported by the builder: "
                         "default, none or host")
    if args.progress not in ("auto", "plain", "tty"):
        raise UsageError(f"invalid progress mode {args.progress!r}: auto, plain or tty")
    for tag in args.tag:
        reference.parse(tag)  # a bad name fails before any work
    options = builder.BuildOptions(
        tags=list(args.tag), build_args=_pairs(args.build_arg, "--build-arg", True),
        target=args.target, no_cache=args.no_cache, pull=args.pull,
        labels=_pairs(args.label, "--label", False), network=args.network)
    state_root = args.root
    workdir = os.path.join(state_root, "build", "tmp")
    if args.context == "-":
        if args.file == "-":
            raise UsageError("cannot read both the context and the Dockerfile from stdin")
        source = contexts.stdin_source(sys.stdin.buffer, workdir)
    else:
        if not os.path.isdir(args.context):
            raise UsageError(f"unable to prepare context: path {args.context!r} not found "
                             "or not a directory")
        source = contexts.directory(args.context)
    try:
        if args.file == "-":
            options.dockerfile_text = sys.stdin.buffer.read().decode("utf-8", "replace")
        elif args.file:
            try:
                with open(args.file, "rb") as f:
                    options.dockerfile_text = f.read().decode("utf-8", "replace")
            except OSError as e:
                raise UsageError(f"unable to read the Dockerfile {args.file}: "
                                 f"{e.strerror}") from None
            options.dockerfile = os.path.basename(args.file)
        mode = args.progress
        if mode == "auto":
            mode = "tty" if sys.stderr.isatty() else "plain"
        render: Any = Quiet() if args.quiet else (Tty(sys.stderr) if mode == "tty"
                                                   else Plain(sys.stderr))
        try:
            image_id = builder.build(context(args), source, options, render)
        finally:
            render.close()
    finally:
        source.close()
    if args.iidfile:
        with open(args.iidfile, "w") as f:
            f.write(image_id)
    if args.quiet:
        print(image_id)
    return 0


def _pairs(items: list[str], flag: str, from_env: bool) -> dict[str, str]:
    from minidocker.errors import UsageError
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not key:
            raise UsageError(f"{flag} {item!r}: expected KEY=VALUE")
        if not sep:
            if not from_env:
                value = ""
            elif key in os.environ:
                value = os.environ[key]
            else:
                continue  # Docker: KEY alone and unset in the environment is ignored
        out[key] = value
    return out


# ---- progress --------------------------------------------------------------------------------


class Quiet:
    def __call__(self, event: Any) -> None:
        pass

    def close(self) -> None:
        pass


class Plain:
    """BuildKit's plain output: `#N name`, `#N 0.123 output`, `#N DONE 0.4s`."""

    def __init__(self, out: TextIO):
        self.out = out
        self.partial: dict[int, bytes] = {}

    def __call__(self, event: Any) -> None:
        from minidocker.build import events
        w = self.out.write
        if isinstance(event, events.Vertex):
            w(f"#{event.id} {event.name}\n")
        elif isinstance(event, events.Log):
            data = self.partial.pop(event.id, b"") + event.data
            lines = data.split(b"\n")
            rest = lines.pop()
            for line in lines:
                w(f"#{event.id} {event.elapsed:.3f} "
                  f"{line.decode('utf-8', 'replace').rstrip(chr(13))}\n")
            if rest:
                self.partial[event.id] = rest
        elif isinstance(event, events.Done):
            self._flush(event.id)
            w(f"#{event.id} CACHED\n\n" if event.cached
              else f"#{event.id} DONE {event.seconds:.1f}s\n\n")
        elif isinstance(event, events.Failed):
            self._flush(event.id)
            w(f"#{event.id} ERROR: {event.message}\n\n")
        elif isinstance(event, events.Warning):
            w(f"WARNING: {event.message}\n")
        self.out.flush()

    def _flush(self, vid: int) -> None:
        rest = self.partial.pop(vid, b"")
        if rest:
            self.out.write(f"#{vid} {rest.decode('utf-8', 'replace')}\n")

    def close(self) -> None:
        self.out.flush()


class Tty:
    """BuildKit's tty view: a header with the time and the count of steps, one line per
    step (CACHED, its time, or the time so far), the last lines of a running step's
    output under it; redrawn in place, left on screen when the build ends."""

    TAIL = 6

    def __init__(self, out: TextIO):
        self.out = out
        self.start = time.monotonic()
        self.rows: list[dict[str, Any]] = []
        self.by_id: dict[int, dict[str, Any]] = {}
        self.drawn = 0
        self.warnings: list[str] = []
        self.failed = False

    def __call__(self, event: Any) -> None:
        from minidocker.build import events
        if isinstance(event, events.Vertex):
            row: dict[str, Any] = {"name": event.name, "start": time.monotonic(), "end": None,
                   "cached": False, "error": "", "logs": []}
            self.rows.append(row)
            self.by_id[event.id] = row
        elif isinstance(event, events.Log):
            row = self.by_id[event.id]
            text = event.data.decode("utf-8", "replace")
            if row["logs"] and not row["logs"][-1].endswith("\n"):
                row["logs"][-1] += text
            else:
                row["logs"].append(text)
            row["logs"] = "".join(row["logs"]).splitlines(keepends=True)[-self.TAIL:]
        elif isinstance(event, events.Done):
            row = self.by_id[event.id]
            row["end"], row["cached"], row["logs"] = time.monotonic(), event.cached, []
        elif isinstance(event, events.Failed):
            row = self.by_id[event.id]
            row["end"], row["error"] = time.monotonic(), event.message
            self.failed = True
        elif isinstance(event, events.Warning):
            self.warnings.append(event.message)
        self._draw()

    def _draw(self, final: bool = False) -> None:
        lines = []
        elapsed = time.monotonic() - self.start
        done = sum(1 for r in self.rows if r["end"] is not None)
        state = " FINISHED" if final and not self.failed else ""
        lines.append(f"[+] Building {elapsed:.1f}s ({done}/{len(self.rows)}){state}")
        for row in self.rows:
            took = (row["end"] or time.monotonic()) - row["start"]
            prefix = " => CACHED " if row["cached"] else (" => ERROR " if row["error"]
                                                          else " => ")
            shown = "" if row["cached"] else f"{took:.1f}s"
            lines.append(f"{prefix}{row['name']}".ljust(72) + f" {shown}")
            for log in row["logs"]:
                lines.append(" => => # " + log.rstrip("\n"))
        w = self.out.write
        if self.drawn:
            w(f"\x1b[{self.drawn}A")
        for line in lines:
            w("\x1b[2K" + line + "\n")
        self.drawn = len(lines)
        self.out.flush()

    def close(self) -> None:
        self._draw(final=True)
        for message in self.warnings:
            self.out.write(f"WARNING: {message}\n")
        self.out.flush()
