"""Start a forked child on another CPU than its busy parent.

The kernel queues a new child on its parent's CPU; when the parent goes on working (it
does: the runtime makes the cgroup while stage 1 makes the namespaces), the child waits
there ~2 ms until the balancer moves it, while the other core idles. The parent pins the
child to the CPUs other than its own at once; the child puts its original mask back
(restore) once it runs, before anything of the container inherits it.
"""

from __future__ import annotations

import os


def run_elsewhere(pid: int, mask: set[int]) -> None:
    """Move the just-forked child `pid` off our CPU. `mask`: our affinity before the fork
    (the child must restore it). Best effort: a failure only costs the wait."""
    if len(mask) < 2:
        return
    try:
        with open("/proc/self/stat", "rb") as f:
            stat = f.read()
        cpu = int(stat[stat.rindex(b")") + 2:].split()[36])  # field 39: processor
        others = mask - {cpu}
        if others and others != mask:
            os.sched_setaffinity(pid, others)
    except (OSError, ValueError, IndexError):
        pass


def restore(mask: set[int] | None, pid: int = 0) -> None:
    """In the child, once its parent is known to be past run_elsewhere(); or in the parent
    (`pid`: the child), once its own work is done and it only waits: the other CPUs may
    be busy with someone else's work, and the child must not wait there while the
    parent's CPU idles."""
    if mask and len(mask) > 1:
        try:
            os.sched_setaffinity(pid, mask)
        except OSError:
            pass
