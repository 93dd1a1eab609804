"""The one exception family of minidocker; main() turns these into one line and an exit code."""

from __future__ import annotations


class MinidockerError(Exception):
    """A failure to report to the user as one line: `<what>: <why>` (+ optional hint)."""

    exit_code = 125

    def __init__(self, message: str, *, hint: str | None = None, exit_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


class UsageError(MinidockerError):
    """Bad command line: wrong flags or arguments."""


class NotFound(MinidockerError):
    """A named object (container, image, network ...) does not exist."""


class Conflict(MinidockerError):
    """The object exists already, or is in a state that forbids the operation."""


class InvalidConfig(MinidockerError):
    """A config.json (or other input document) is malformed or invalid."""


def describe(exc: BaseException) -> str:
    """One line for any exception: OSError from our wrappers already names the syscall."""
    if isinstance(exc, OSError) and exc.strerror:
        if exc.filename:
            return f"{exc.filename}: {exc.strerror}"
        return exc.strerror
    return str(exc) or type(exc).__name__
