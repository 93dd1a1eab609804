"""The sink: where the engine reports progress and warnings while an operation runs,
instead of printing them (a leaf any layer may use, as errors). The engine's service
layer takes one in its Context; the CLI and the API server each have their own."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class Sink:
    """Where the engine reports what a user watches while an operation runs. This base
    class discards everything; the CLI renders it (progress bars on a terminal, plain
    lines otherwise, warnings on stderr) and the API server streams it as Docker's JSON
    messages (shown after each method).

    - warning(message): something the user should know that is not an error
      ("published ports are discarded when using host network mode");
    - status(text): a line of status ("Unable to find image 'busybox:latest' locally",
      "Digest: sha256:...")                                     {"status": text}
    - item(id, status, total): an item (a layer) appears, or is shown anew, with its
      status and its size in bytes when known      {"id", "status", "progressDetail"}
    - update(id, status): the item's status changes ("Pull complete")
                                                                {"id", "status"}
    - advance(id, nbytes): nbytes more of the item are done (downloading, pushing)
      {"id", "status": "Downloading", "progressDetail": {"current", "total"}}
    - stream(text): output to show as it comes (a build step's)  {"stream": text}
    - aux(doc): a machine-readable result (a built image's id)  {"aux": doc}

    `live` says the sink shows progress as it goes (a terminal, an API client): the
    engine then announces a download with item(..., total) rather than update().
    Methods may be called from several threads at once (a pull's layers).
    """

    live = False

    def warning(self, message: str) -> None:
        pass

    def status(self, text: str) -> None:
        pass

    def item(self, id: str, status: str, total: int = 0) -> None:
        pass

    def update(self, id: str, status: str) -> None:
        pass

    def advance(self, id: str, nbytes: int) -> None:
        pass

    def stream(self, text: str) -> None:
        pass

    def aux(self, doc: dict[str, Any]) -> None:
        pass


class Collect(Sink):
    """A sink that keeps what it is told, in order (for tests, and for callers that
    want the messages of one call as data)."""

    def __init__(self) -> None:
        self.warnings: list[str] = []
        self.events: list[tuple[str, Any]] = []

    def warning(self, message: str) -> None:
        self.warnings.append(message)

    def status(self, text: str) -> None:
        self.events.append(("status", text))

    def item(self, id: str, status: str, total: int = 0) -> None:
        self.events.append(("item", (id, status, total)))

    def update(self, id: str, status: str) -> None:
        self.events.append(("update", (id, status)))

    def advance(self, id: str, nbytes: int) -> None:
        self.events.append(("advance", (id, nbytes)))

    def stream(self, text: str) -> None:
        self.events.append(("stream", text))

    def aux(self, doc: dict[str, Any]) -> None:
        self.events.append(("aux", doc))
