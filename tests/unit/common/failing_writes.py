"""Writes that fail as on a full disk, without root: a child process whose file size
limit (RLIMIT_FSIZE) is tiny gets EFBIG (Python ignores SIGXFSZ) on any larger write."""

from __future__ import annotations

import os
import resource
from collections.abc import Callable


def fails_for_lack_of_space(action: Callable[[], object], limit: int = 16) -> bool:
    """Run `action` in a child with writes capped at `limit` bytes per file: True if it
    raised OSError, as a write to a full disk would."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 3
        try:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
            action()
            code = 0
        except OSError:
            code = 1
        except BaseException:
            code = 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) in (0, 1), status
    return os.WEXITSTATUS(status) == 1
