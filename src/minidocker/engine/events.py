"""`minidocker events`: what happened to containers, images, networks and volumes, as
Docker's event stream.

With no daemon, every process that makes a container change state appends one JSON line
to <root>/events.jsonl (O_APPEND: whole lines from many writers), in Docker's form:
{"status", "id", "from", "Type", "Action", "Actor": {"ID", "Attributes"}, "scope",
"time", "timeNano"}. Past 1 MiB the file becomes events.jsonl.1 (the one before is
dropped). `events` reads both for --since and follows the current one.
"""

from __future__ import annotations

import os
import time

from minidocker import jsonfast as json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from typing import Any

    from minidocker.engine.records import Record

FILE = "events.jsonl"
ROTATE_AT = 1 << 20


def path(root: str) -> str:
    return os.path.join(root, FILE)


def emit(record: Record, action: str, **attributes: Any) -> None:
    """Append the event `action` (create, start, die, stop, kill, pause, destroy, ...) of
    `record`. Best effort: an event that can't be written never fails the operation."""
    from minidocker.errors import MinidockerError
    try:
        config = record.config
    except MinidockerError:
        config = {}
    attrs = {"image": str((config.get("Config") or {}).get("Image") or ""),
             "name": str(config.get("Name") or "").lstrip("/")}
    labels = (config.get("Config") or {}).get("Labels") or {}
    attrs.update({str(k): str(v) for k, v in labels.items()})
    attrs.update({k: str(v) for k, v in attributes.items()})
    _append(record.root, "container", action, record.id, attrs,
            {"status": action, "id": record.id, "from": attrs["image"]})


def emit_object(root: str, kind: str, action: str, actor: str, **attributes: Any) -> None:
    """Append an event of an image (pull, push, tag, untag, delete, import, load, save),
    a network (create, connect, disconnect, destroy) or a volume (create, destroy), as
    dockerd words them: Actor.ID is the image's id or reference, the network's id, the
    volume's name; `attributes` (name, driver, type, container, the labels ...) as
    strings. Best effort, as emit()."""
    attrs = {str(k): str(v) for k, v in attributes.items()}
    legacy = {"status": action, "id": actor} if kind == "image" else {}  # Docker's too
    _append(root, kind, action, actor, attrs, legacy)


def _append(root: str, kind: str, action: str, actor: str, attrs: dict[str, str],
            legacy: dict[str, str]) -> None:
    ns = time.time_ns()
    line = json.dumps({**legacy, "Type": kind, "Action": action,
                       "Actor": {"ID": actor, "Attributes": attrs}, "scope": "local",
                       "time": ns // 1_000_000_000, "timeNano": ns}) + "\n"
    file = path(root)
    try:
        fd = os.open(file, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            data = line.encode()
            written = os.write(fd, data)
            if written < len(data):  # a full disk: no half event stays in the file
                os.ftruncate(fd, os.fstat(fd).st_size - written)
                return
            if os.fstat(fd).st_size > ROTATE_AT:
                os.replace(file, file + ".1")
        finally:
            os.close(fd)
    except OSError:
        pass


def matches(event: dict[str, Any], filters: dict[str, list[str]]) -> bool:
    """Docker's --filter: container=, network=, volume= (the actor's id, id prefix or
    name: other kinds of events are left out, as dockerd's), event=, image= (an image's
    events, or the containers of that image), label=, type=; values of one key are
    ORed, keys ANDed."""
    actor = event.get("Actor") or {}
    attrs = actor.get("Attributes") or {}
    for key, values in filters.items():
        if key in ("container", "network", "volume"):
            ok = event.get("Type") == key and any(
                str(actor.get("ID", "")).startswith(v) or attrs.get("name") == v
                for v in values)
        elif key == "event":
            ok = event.get("Action") in values
        elif key == "image":
            name = attrs.get("name" if event.get("Type") == "image" else "image", "")
            ok = any(v in (actor.get("ID"), name, _untagged(name)) for v in values)
        elif key == "type":
            ok = event.get("Type") in values
        elif key == "label":
            ok = any(attrs.get(k) == v if eq else k in attrs
                     for k, eq, v in (value.partition("=") for value in values))
        else:
            ok = False
        if not ok:
            return False
    return True


def _untagged(name: str) -> str:
    """busybox:1 -> busybox (a registry's port is no tag: host:5000/busybox stays)."""
    repo, colon, tag = name.rpartition(":")
    return repo if colon and "/" not in tag else name


def stream(root: str, *, since: float | None, until: float | None,
           filters: dict[str, list[str]], stop: Any = None) -> Iterator[dict[str, Any]]:
    """The events since `since` (none before now when None), then new ones as they come,
    until `until` passes (forever without it). Read as logs -f reads a log (logs.Tail).
    A generator: closing it, or setting `stop` (a threading.Event), stops following."""
    from minidocker.engine.logs import Tail, entries, files
    current = Tail(path(root))
    try:
        current.open()
        past: list[dict[str, Any]] = []
        for older in files(current.path)[:-1]:
            past += entries(older)[0]
        past += current.read()
        for event in past if since is not None else []:
            when = event.get("timeNano", 0) / 1e9
            if when >= since and (until is None or when < until) and matches(event, filters):
                yield event
        while (until is None or time.time() < until) and \
                (stop is None or not stop.is_set()):
            more = current.rotated() + current.read()
            for event in more:
                if until is not None and event.get("timeNano", 0) / 1e9 >= until:
                    return
                if matches(event, filters):
                    yield event
            if not more:
                time.sleep(0.05)
    finally:
        current.close()


def text(event: Mapping[str, Any]) -> str:
    """Docker's default line: TIME TYPE ACTION ID (key=value, ...)."""
    ns = int(event.get("timeNano") or 0)
    actor = event.get("Actor") or {}
    attrs = actor.get("Attributes") or {}
    pairs = ", ".join(f"{k}={v}" for k, v in sorted(attrs.items()))
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9)) + \
        f".{ns % 10**9:09d}Z"
    return (f"{stamp} {event.get('Type', '')} {event.get('Action', '')} "
            f"{actor.get('ID') or event.get('id', '')} ({pairs})")
