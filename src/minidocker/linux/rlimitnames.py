"""Linux's resource limits: RLIMIT_* name -> number (asm-generic/resource.h; Python's
resource module lacks some of them).

Kept apart from runtime/process.py (which loads ctypes through linux.libc) so that the
engine can map `--ulimit` names without the syscall layer's import cost."""

RLIMITS = {name: number for number, name in enumerate([
    "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE", "RLIMIT_RSS",
    "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS",
    "RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME"])}
