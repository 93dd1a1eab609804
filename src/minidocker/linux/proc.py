"""Facts about a process from /proc/PID/stat."""

from __future__ import annotations


def start_time(pid: int) -> int | None:
    """The start time (clock ticks since boot) of a live process: with the pid, what
    names one process across pid reuse. None if it is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2:].split()  # (the command may hold spaces and ')')
    return None if fields[0] in (b"Z", b"X") else int(fields[19])
