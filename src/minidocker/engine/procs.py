"""Facts about processes from /proc, trusted over any record: whether a pid is alive
and the same process (its start time), and how it ended. A leaf: the engine's modules
that need these (networking too) import nothing else of the lifecycle for them.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any



def proc_stat(pid: int) -> tuple[str, int, int] | None:
    """(state letter, start time, exit code field) of a process, or None if it is gone."""
    if not pid:
        return None
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2:].split()
    exit_code = int(fields[49]) if len(fields) > 49 else 0
    return fields[0].decode(), int(fields[19]), exit_code


def alive(pid: int, start: int) -> bool:
    st = proc_stat(pid)
    return st is not None and st[0] not in ("Z", "X") and st[1] == start


def monitor_alive(state: dict[str, Any]) -> bool:
    return alive(int(state.get("MonitorPid") or 0), int(state.get("MonitorStart") or 0))


def exit_code_of(status: int) -> int:
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    return 255
