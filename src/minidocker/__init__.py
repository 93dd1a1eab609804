"""minidocker: a daemonless, Docker-like container engine with its own OCI runtime."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from minidocker.trace import Tracer

__version__ = "0.1.0"
OCI_VERSION = "1.2.0"

# The trace of this command's steps (--trace FILE), or None: the one flag that a traced
# step checks when tracing is off (`if minidocker.TRACE: minidocker.TRACE.step(...)`), so
# that minidocker.trace is imported only when it is on. See trace.py.
TRACE: Tracer | None = None
