"""Volume operations of the service layer (Docker's /volumes/...): list, create, inspect,
remove, prune. Local volumes only."""

from __future__ import annotations

from minidocker.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from minidocker.engine.service import Context
    from minidocker.engine.service.types import PruneReport

LIST_FILTERS = ("dangling", "driver", "label", "name")
ANONYMOUS = "com.docker.volume.anonymous"


def _used(ctx: Context) -> set[str]:
    """Names of the volumes some container's config mounts."""
    from minidocker.engine.records import Records
    from minidocker.errors import MinidockerError
    used = set()
    for record in Records(ctx.root).all():
        try:
            used |= {str(m.get("Name")) for m in record.config.get("Mounts") or []
                     if m.get("Type") == "volume"}
        except MinidockerError:
            continue
    return used


def ls(ctx: Context, *, filters: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """GET /volumes: {"Volumes": [inspect documents], "Warnings": []}, sorted by name.
    Docker's filters: dangling (no container uses it), driver, label, name (substring)."""
    from minidocker.engine import volumes
    wanted = dict(filters or {})
    for key, values in wanted.items():
        if key not in LIST_FILTERS:
            raise UsageError(f"invalid filter '{key}'")
        if key == "dangling" and any(v.lower() not in ("true", "false", "1", "0")
                                     for v in values):
            raise UsageError(f"invalid filter 'dangling={values[0]}'")
    used = _used(ctx) if "dangling" in wanted else set()
    docs = []
    for name in volumes.names(ctx.root):
        doc = volumes.inspect(ctx.root, name)
        if all(any(_matches(doc, name in used, key, v) for v in values)
               for key, values in wanted.items()):
            docs.append(doc)
    return {"Volumes": docs, "Warnings": []}


def _matches(doc: dict[str, Any], used: bool, key: str, value: str) -> bool:
    from minidocker.engine.service.filters import has_label
    if key == "dangling":
        return (not used) == (value.lower() in ("true", "1"))
    if key == "driver":
        return bool(doc.get("Driver") == value)
    if key == "name":
        return value in doc["Name"]
    return has_label(doc.get("Labels") or {}, value)


def create(ctx: Context, name: str | None = None, *, driver: str = "local",
           labels: dict[str, str] | None = None, options: dict[str, str] | None = None
           ) -> dict[str, Any]:
    """POST /volumes/create: a new volume (a random name without one), or the existing
    one of that name; its inspect document. `options`: the local driver's type, device
    and o (a filesystem mounted on the volume when a container uses it)."""
    from minidocker.engine import volumes
    if driver not in ("local", ""):
        raise UsageError(f"volume driver {driver!r} is not supported (only local)")
    return volumes.create(ctx.root, name or None, dict(labels or {}), options=options)


def inspect(ctx: Context, name: str) -> dict[str, Any]:
    """GET /volumes/{name}. NotFound."""
    from minidocker.engine import volumes
    return volumes.inspect(ctx.root, name)


def remove(ctx: Context, name: str, *, force: bool = False) -> None:
    """DELETE /volumes/{name}. Conflict while a container uses it (unless `force`)."""
    from minidocker.engine import volumes
    volumes.remove(ctx.root, name, force=force)


def prune(ctx: Context, *, all: bool = False,  # noqa: A002
          filters: dict[str, list[str]] | None = None) -> PruneReport:
    """POST /volumes/prune: the anonymous volumes no container uses (named ones too
    with `all`, or filters {"all": ["true"]} as Docker 23's); label filters."""
    from minidocker.engine import volumes
    from minidocker.engine.service.filters import labels_match
    from minidocker.fs import du
    wanted = dict(filters or {})
    for key in wanted:
        if key not in ("label", "label!", "all"):
            raise UsageError(f"invalid filter '{key}'")
    if any(v.lower() in ("true", "1") for v in wanted.pop("all", [])):
        all = True  # noqa: A001
    used = _used(ctx)
    removed, size = [], 0
    for name in volumes.names(ctx.root):
        doc = volumes.inspect(ctx.root, name)
        labels = doc.get("Labels") or {}
        if name in used or not (ANONYMOUS in labels or all):
            continue
        if not labels_match(labels, wanted):
            continue
        reclaimed = du(doc["Mountpoint"])
        volumes.remove(ctx.root, name, force=True)
        removed.append(name)
        size += reclaimed
    return {"VolumesDeleted": removed, "SpaceReclaimed": size}
