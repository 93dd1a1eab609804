"""What a build tells its front end, in order (docs/build.md): steps starting, their
output, their end (cached, done, failed), warnings, and the image. The CLI renders these
as BuildKit's plain or tty progress, the API as Docker's JSON stream."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class _Event:
    """Plain data (no dataclasses: their import costs the CLI ~13 ms)."""

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"

    def __eq__(self, other: Any) -> bool:
        return type(other) is type(self) and vars(other) == vars(self)


class Vertex(_Event):
    """A step starts: `[stage-1 2/5] RUN make`, or an internal one (step 0)."""

    def __init__(self, id: int, name: str, step: int = 0, total: int = 0, stage: str = "",
                 instruction: str = ""):
        self.id = id
        self.name = name
        self.step = step                # 1-based step number of the stage, 0 internal
        self.total = total
        self.stage = stage
        self.instruction = instruction  # the Dockerfile instruction as written


class Log(_Event):
    """Output of a step as it comes (`stream` 1 stdout, 2 stderr)."""

    def __init__(self, id: int, stream: int, data: bytes, elapsed: float):
        self.id = id
        self.stream = stream
        self.data = data
        self.elapsed = elapsed          # seconds since the vertex started


class Done(_Event):
    def __init__(self, id: int, cached: bool = False, seconds: float = 0.0,
                 result: str = ""):
        self.id = id
        self.cached = cached
        self.seconds = seconds
        self.result = result            # short ID of the state after the step


class Failed(_Event):
    def __init__(self, id: int, seconds: float, message: str):
        self.id = id
        self.seconds = seconds
        self.message = message


class Warning(_Event):
    def __init__(self, message: str):
        self.message = message


class Built(_Event):
    def __init__(self, image_id: str, tags: list[str] | None = None):
        self.image_id = image_id
        self.tags = tags if tags is not None else []


Event = Vertex | Log | Done | Failed | Warning | Built
Sink = Callable[[Event], None]


def discard(event: Event) -> None:
    """A sink for callers that want no progress."""
