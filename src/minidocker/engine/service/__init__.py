"""The engine's service layer: one function per operation a user can ask for, called by
every front end (the CLI, the Docker Engine API server, the builder) with an explicit
Context. Functions take and return plain data shaped like Docker's JSON, raise
minidocker.errors classes (each with its HTTP status), report progress and warnings to
the context's sink, and never write to a terminal or read the environment.

    from minidocker.engine.service import Context, containers
    ctx = Context("/var/lib/minidocker")
    cid = containers.create(ctx, {"Image": "busybox", "Cmd": ["true"]})["Id"]
    containers.start(ctx, cid)

Modules, one per kind of object (imported on their own, so that `run` pays only for
what it uses): containers, execs, images, networks, volumes, system; streams holds the
attach/exec stream objects; types the TypedDicts of the shapes (for type checkers only).
docs/engine.md ("The service layer") is the contract.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from minidocker.sink import Collect, Sink

__all__ = ["DEFAULT_ROOT", "Collect", "Context", "Sink"]


def __getattr__(name: str) -> Any:
    """Sink and Collect (minidocker/sink.py), imported when asked for: the CLI's `run`
    brings its own sink and does not load the module."""
    if name in ("Sink", "Collect"):
        from minidocker import sink
        return getattr(sink, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

DEFAULT_ROOT = "/var/lib/minidocker"


class Context:
    """What every service call needs to know, given explicitly:

    - root: the state directory (records, images, volumes, networks);
    - runtime: the OCI runtime for containers that do not name one ("" or "minidocker":
      the in-process runtime; "runc", "crun" or a path: that binary);
    - sink: where progress and warnings go (Sink() discards them);
    - spawn: how a container's monitor is started. "fork" forks the calling process
      (fast: the CLI, one thread); "exec" starts a fresh interpreter with posix_spawn
      (safe in a threaded or asyncio server: nothing of the caller's threads, locks or
      memory or open connections is inherited); "auto" (the default) forks only in a
      process with a single thread that has not imported asyncio. A server sets "exec".
    - auth_config: a Docker client config directory (~/.docker) whose logins pulls and
      pushes use and `login` writes (image/auth.py); None (a server: its clients send
      their credentials) reads only minidocker's own login file.
    """

    __slots__ = ("root", "runtime", "sink", "spawn", "auth_config")

    def __init__(self, root: str = DEFAULT_ROOT, *, runtime: str = "",
                 sink: Sink | None = None, spawn: str = "auto",
                 auth_config: str | None = None):
        if spawn not in ("auto", "fork", "exec"):
            raise ValueError(f"spawn must be auto, fork or exec, not {spawn!r}")
        self.root = os.path.abspath(root)
        self.runtime = runtime
        if sink is None:
            from minidocker.sink import Sink
            sink = Sink()
        self.sink = sink
        self.spawn = spawn
        self.auth_config = auth_config

    def may_fork(self) -> bool:
        """Whether the monitor may be forked from this process (see `spawn`)."""
        if self.spawn != "auto":
            return self.spawn == "fork"
        from minidocker.engine.start import fork_is_safe
        return fork_is_safe()

    def with_sink(self, sink: Sink) -> Context:
        """The same context reporting to another sink (one per API request)."""
        return Context(self.root, runtime=self.runtime, sink=sink, spawn=self.spawn,
                       auth_config=self.auth_config)

    def __repr__(self) -> str:
        return f"Context(root={self.root!r}, runtime={self.runtime!r}, spawn={self.spawn!r})"
