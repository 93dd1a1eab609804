"""Helpers shared by the container commands: the root, record lookup, errors per name."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from minidocker.engine.records import Record


def root() -> str:
    return os.environ.get("MINIDOCKER_ROOT") or "/var/lib/minidocker"


def find(ref: str) -> Record:
    from minidocker.engine.records import Records
    return Records(root()).find(ref)


def each(refs: list[str], action: Callable[[Record], None], echo: bool = True) -> int:
    """Apply `action` to each container; print the name given on success, one error line
    per failure (Docker's way for stop, rm, kill ...). Exit 1 if any failed."""
    from minidocker.errors import MinidockerError
    failed = False
    for ref in refs:
        try:
            action(find(ref))
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
