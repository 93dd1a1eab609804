"""`update` (change a running container's resources) and `events` (stats and OOM kills)."""

from __future__ import annotations

import json
import os
import sys

from minidocker.errors import Conflict, InvalidConfig, MinidockerError, UsageError
from minidocker.runtime import operations
from minidocker.runtime.cgroup import from_state
from minidocker.runtime.flags import last, parse_flags

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def update_command(root: str, argv: list[str]) -> int:
    from minidocker.linux.cgroups import update as cg_update
    spec = {flag: True for flag in cg_update.FLAGS}
    spec.update({"resources": True, "l3-cache-schema": True, "mem-bw-schema": True})
    flags, rest = parse_flags(argv, spec, {"r": "resources"})
    if len(rest) != 1:
        raise UsageError("usage: update [--resources FILE|-] [--memory N ...] ID")
    container = operations.load(root, rest[0])
    if last(flags, "l3-cache-schema") or last(flags, "mem-bw-schema"):
        raise MinidockerError("Intel RDT is not supported by this runtime")
    resources: dict[str, Any] = {}
    source = last(flags, "resources")
    if source is not None:
        resources = _read_resources(source)
    values = {k: last(flags, k) for k in cg_update.FLAGS if k in flags}
    if values:
        resources = cg_update.merge(resources, cg_update.resources_from_flags(values))
    if not resources:
        raise UsageError("update: nothing to change (give --resources or a flag)")
    apply(container, resources)
    return 0


def apply(container: Any, resources: dict[str, Any]) -> None:
    """Change a created, running or paused container's cgroup to `resources` (OCI
    linux.resources, merged into what it has) and keep them in its state."""
    from minidocker.linux.cgroups import update as cg_update
    lock = container.lock()
    try:
        status = container.status()
        if status not in ("created", "running", "paused"):
            raise Conflict(f"cannot update container {container.id}: it is {status}")
        state = container.state
        manager = from_state(state.cgroup)
        if manager is None:
            raise MinidockerError(f"container {container.id} has no cgroup to update")
        manager.apply(resources)
        linux = state.config.setdefault("linux", {})
        linux["resources"] = cg_update.merge(linux.get("resources"), resources)
        container.save(state)
    finally:
        os.close(lock)


def _read_resources(source: str) -> dict[str, Any]:
    try:
        if source == "-":
            data = json.load(sys.stdin)
        else:
            with open(source) as f:
                data = json.load(f)
    except OSError as e:
        raise InvalidConfig(f"--resources {source}: {e.strerror}")
    except ValueError as e:
        raise InvalidConfig(f"--resources {source}: not valid JSON: {e}")
    if not isinstance(data, dict):
        raise InvalidConfig(f"--resources {source}: must be a JSON object")
    return data


def events_command(root: str, argv: list[str]) -> int:
    from minidocker.linux.cgroups import events
    flags, rest = parse_flags(argv, {"stats": False, "interval": True})
    if len(rest) != 1:
        raise UsageError("usage: events [--stats] [--interval 5s] ID")
    container = operations.load(root, rest[0])
    status = container.status()
    if status == "stopped":
        raise Conflict(f"container {container.id} is stopped")
    manager = from_state(container.state.cgroup)
    if manager is None:
        raise MinidockerError(f"container {container.id} has no cgroup")
    if flags.get("stats"):
        print(json.dumps(events.stats_event(container.id, manager)))
        return 0
    interval = _duration(last(flags, "interval", "5s"))
    try:
        for event in events.watch(container.id, manager, interval,
                                  stop=lambda: container.status() == "stopped"):
            sys.stdout.write(json.dumps(event) + "\n")
            sys.stdout.flush()
    except BrokenPipeError:
        pass
    return 0


def _duration(text: str) -> float:
    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    for suffix in ("ms", "s", "m", "h"):
        if text.endswith(suffix):
            number = text[:-len(suffix)]
            break
    else:
        suffix, number = "s", text
    try:
        value = float(number) * units[suffix]
    except ValueError:
        raise UsageError(f"invalid --interval {text!r} (e.g. 5s, 500ms)")
    if value <= 0:
        raise UsageError("--interval must be positive")
    return value
