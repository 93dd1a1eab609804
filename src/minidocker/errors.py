"""The one exception family of minidocker. Each class carries the status a Docker Engine
API server answers with (`status`) and the exit code the CLI ends with (`exit_code`):
front ends turn these into one line and an exit code, or into `{"message": ...}` and an
HTTP status, and never need to know which layer raised them."""

from __future__ import annotations


class MinidockerError(Exception):
    """A failure to report to the user as one line: `<what>: <why>` (+ optional hint).
    Without a more precise class it is the engine's own failure (HTTP 500)."""

    exit_code = 125
    status = 500

    def __init__(self, message: str, *, hint: str | None = None, exit_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


class UsageError(MinidockerError):
    """Bad input: wrong flags, arguments or parameters (Docker's InvalidParameter)."""

    status = 400


BadParameter = UsageError  # the name the API's errdefs use


class NotFound(MinidockerError):
    """A named object (container, image, network ...) does not exist."""

    status = 404


class Conflict(MinidockerError):
    """The object exists already, or is in a state that forbids the operation."""

    status = 409


class NotModified(MinidockerError):
    """Nothing to do: the object is already in the state asked for (start of a running
    container, stop of a stopped one). The CLI reports success; the API answers 304."""

    status = 304
    exit_code = 0


class InvalidConfig(MinidockerError):
    """A config.json (or other input document) is malformed or invalid."""

    status = 400


def describe(exc: BaseException) -> str:
    """One line for any exception: OSError from our wrappers already names the syscall."""
    if isinstance(exc, OSError) and exc.strerror:
        if exc.filename:
            return f"{exc.filename}: {exc.strerror}"
        return exc.strerror
    return str(exc) or type(exc).__name__


def status_of(exc: BaseException) -> int:
    """The HTTP status for any exception a service call raised: the class's own, 404 for
    a missing file or directory, 500 for anything else."""
    if isinstance(exc, MinidockerError):
        return exc.status
    if isinstance(exc, FileNotFoundError):
        return 404
    return 500
