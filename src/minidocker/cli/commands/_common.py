"""Helpers shared by the commands: the service layer's context, and one error line per
object for the commands that act on several (stop, rm, kill ...)."""

from __future__ import annotations

import sys

from minidocker.sink import Sink

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable
    from typing import Any

    from minidocker.engine.service import Context


def context(args: argparse.Namespace, sink: Sink | None = None) -> Context:
    """The engine's context for this command: the root given by --root (or
    $MINIDOCKER_ROOT), and the sink that renders progress and warnings: by default
    warnings on stderr and status lines on stdout; the commands that show progress
    (pull, push, run, ...) give cli.progress.Progress."""
    from minidocker.engine.service import Context
    return Context(args.root, sink=sink if sink is not None else Lines())


class Lines(Sink):
    """The plain sink: warnings on stderr, status lines on stdout, no progress bars."""

    def warning(self, message: str) -> None:
        sys.stderr.write(f"minidocker: warning: {message}\n")
        sys.stderr.flush()

    def status(self, text: str) -> None:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()

    def item(self, id: str, status: str, total: int = 0) -> None:
        pass

    def update(self, id: str, status: str) -> None:
        sys.stdout.write(f"{id}: {status}\n")

    def advance(self, id: str, nbytes: int) -> None:
        pass

    def stream(self, text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    def aux(self, doc: dict[str, Any]) -> None:
        pass


def each(refs: list[str], action: Callable[[str], object], echo: bool = True) -> int:
    """Apply `action` to each name given; print the name on success (or when it was
    already as asked: NotModified), one error line per failure (Docker's way for stop,
    rm, kill ...). Exit 1 if any failed."""
    from minidocker.errors import MinidockerError, NotModified
    failed = False
    for ref in refs:
        try:
            action(ref)
            if echo:
                print(ref, flush=True)
        except NotModified:
            if echo:
                print(ref, flush=True)
        except MinidockerError as e:
            sys.stderr.write(f"minidocker: error: {e.message}\n")
            failed = True
        except OSError as e:
            from minidocker.errors import describe
            sys.stderr.write(f"minidocker: error: {describe(e)}\n")
            failed = True
    return 1 if failed else 0
