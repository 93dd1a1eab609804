"""What a build tells its front end, in order (docs/build.md): steps starting, their
output, their end (cached, done, failed), warnings, and the image. The CLI renders these
as BuildKit's plain or tty progress, the API as Docker's JSON stream."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Vertex:
    id: int
    name: str            # "[stage-1 2/5] RUN make", "[internal] load build definition ..."
    step: int = 0        # 1-based step number of the stage, 0 for internal vertices
    total: int = 0
    stage: str = ""
    instruction: str = ""  # the Dockerfile instruction as written ("" for internal)


@dataclass
class Log:
    id: int
    stream: int          # 1 stdout, 2 stderr
    data: bytes
    elapsed: float       # seconds since the vertex started


@dataclass
class Done:
    id: int
    cached: bool = False
    seconds: float = 0.0
    result: str = ""     # short ID of the state after the step ("" for internal vertices)


@dataclass
class Failed:
    id: int
    seconds: float
    message: str


@dataclass
class Warning:
    message: str


@dataclass
class Built:
    image_id: str
    tags: list[str] = field(default_factory=list)


Event = Vertex | Log | Done | Failed | Warning | Built
Sink = Callable[[Event], None]


def discard(event: Event) -> None:
    """A sink for callers that want no progress."""
