"""Helpers shared by the commands: the service layer's context, and one error line per
object for the commands that act on several (stop, rm, kill ...)."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from minidocker.engine.service import Context


def context(args: Any, sink: Any = None) -> Context:
    """The engine's context for this command: the root given by --root (or
    $MINIDOCKER_ROOT), and the sink that renders progress and warnings (by default a
    Terminal on stdout)."""
    import os

    from minidocker.engine.service import Context
    chosen: Any = sink if sink is not None else Terminal()
    # Docker's client config directory (its logins: image/auth.py), as main() set it
    config = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"),
                                                             ".docker")
    return Context(args.root, sink=chosen, auth_config=config)


class Terminal:
    """The CLI's sink (minidocker.sink's protocol; not its subclass, so that `run` does
    not load that module): warnings on stderr; status lines and progress on `out`
    (stdout by default; run and create give stderr, as Docker, to keep stdout for the
    container), drawn by cli.progress only once there is progress to draw: its import
    stays off the path of commands that have none."""

    def __init__(self, out: Any = None):
        self.out = out
        self._progress: Any = None

    @property
    def live(self) -> bool:
        return bool((self.out or sys.stdout).isatty())

    def _drawn(self) -> Any:
        if self._progress is None:
            from minidocker.cli.progress import Progress
            self._progress = Progress(self.out or sys.stdout)
        return self._progress

    def warning(self, message: str) -> None:
        sys.stderr.write(f"minidocker: warning: {message}\n")
        sys.stderr.flush()

    def status(self, text: str) -> None:
        self._drawn().status(text)

    def item(self, id: str, status: str, total: int = 0) -> None:
        self._drawn().item(id, status, total)

    def update(self, id: str, status: str) -> None:
        self._drawn().update(id, status)

    def advance(self, id: str, nbytes: int) -> None:
        self._drawn().advance(id, nbytes)

    def stream(self, text: str) -> None:
        out = self.out or sys.stdout
        out.write(text)
        out.flush()

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
            if e.hint:
                sys.stderr.write(f"hint: {e.hint}\n")
            failed = True
        except OSError as e:
            from minidocker.errors import describe
            sys.stderr.write(f"minidocker: error: {describe(e)}\n")
            failed = True
    return 1 if failed else 0


def confirm(warning: str) -> bool:
    """Docker's prompt before a prune: the warning, then "[y/N]" read from stdin."""
    sys.stdout.write(f"{warning}\nAre you sure you want to continue? [y/N] ")
    sys.stdout.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def check_tty(stdin: bool, tty: bool) -> None:
    """Docker's client refuses -it when its input is no terminal (a script, a pipe):
    exit 1, before anything is made (run, exec, attach)."""
    import os
    if stdin and tty and not os.isatty(0):
        from minidocker.errors import MinidockerError
        raise MinidockerError("the input device is not a TTY", exit_code=1)
