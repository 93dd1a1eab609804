"""What the image commands print: Docker-shaped `image inspect` documents, `images` rows,
`history` rows, and a small `--format` (Go template subset: {{.Field}}, {{json .}},
{{json .Field}}, `table` prefix)."""

from __future__ import annotations

import datetime
import json
import re
from typing import Any

from minidocker.image import snapshot
from minidocker.image import store as st
from minidocker.image.progress import human_size


def created_of(image: st.Image) -> str:
    return str(image.config.get("created") or "")


def ago(timestamp: str) -> str:
    """Docker's "3 hours ago" from an RFC 3339 timestamp."""
    if not timestamp:
        return "N/A"
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?", timestamp)
    if not m:
        return "N/A"
    tz = m.group(3) or "Z"
    when = datetime.datetime.fromisoformat(m.group(1) + (m.group(2) or "")[:7]
                                           + ("+00:00" if tz == "Z" else tz))
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    seconds = (datetime.datetime.now(datetime.UTC) - when).total_seconds()
    for unit, length in (("year", 31536000), ("month", 2592000), ("week", 604800),
                         ("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= length:
            n = int(seconds // length)
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return "Less than a second ago" if seconds < 1 else f"{int(seconds)} seconds ago"


def image_size(store: st.Store, image: st.Image) -> int:
    """Unpacked size (from snapshot metadata) when known, else the compressed size."""
    total = 0
    for chain in image.chain_ids:
        try:
            with open(f"{snapshot.snapshot_path(store, chain)}/meta.json") as f:
                total += int(json.load(f).get("size", 0))
        except (OSError, ValueError):
            return image.size
    return total


def inspect_doc(store: st.Store, image: st.Image) -> dict[str, Any]:
    config = image.config
    return {
        "Id": image.id,
        "RepoTags": image.repo_tags,
        "RepoDigests": image.repo_digests,
        "Parent": "",
        "Comment": next((h.get("comment", "") for h in reversed(config.get("history") or [])),
                        ""),
        "Created": created_of(image),
        "DockerVersion": config.get("docker_version", ""),
        "Author": config.get("author", ""),
        "Config": config.get("config") or {},
        "Architecture": config.get("architecture", ""),
        "Variant": config.get("variant", "") or None,
        "Os": config.get("os", ""),
        "Size": image_size(store, image),
        "RootFS": {"Type": "layers", "Layers": image.diff_ids},
        "Metadata": {"LastTagTime": ""},
        "Manifest": image.manifest_digest,
    }


def image_rows(store: st.Store, images: list[st.Image]) -> list[dict[str, str]]:
    rows = []
    for image in sorted(images, key=created_of, reverse=True):
        tags = image.repo_tags or ["<none>:<none>"]
        for tag in tags:
            repo, _, t = tag.rpartition(":")
            if "/" in t:
                repo, t = tag, "<none>"
            digest = next((d.split("@", 1)[1] for d in image.repo_digests
                           if d.split("@", 1)[0] == repo), "<none>")
            rows.append({"Repository": repo, "Tag": t, "ID": image.short_id,
                         "Digest": digest, "CreatedSince": ago(created_of(image)),
                         "CreatedAt": created_of(image),
                         "Size": human_size(image_size(store, image))})
    return rows


def history_rows(store: st.Store, image: st.Image, no_trunc: bool = False,
                 human: bool = True) -> list[dict[str, str]]:
    history = image.config.get("history") or []
    layers = list(zip(image.layers, image.diff_ids, strict=False))
    sizes = []
    for layer, diff_id in layers:
        size = int(layer.get("size", 0))
        chain = image.chain_ids[image.diff_ids.index(diff_id)]
        try:
            with open(f"{snapshot.snapshot_path(store, chain)}/meta.json") as f:
                size = int(json.load(f).get("size", size))
        except (OSError, ValueError):
            pass
        sizes.append(size)
    rows = []
    layer_index = len([h for h in history if not h.get("empty_layer")])
    for i, entry in enumerate(reversed(history)):
        size = 0
        if not entry.get("empty_layer"):
            layer_index -= 1
            size = sizes[layer_index] if 0 <= layer_index < len(sizes) else 0
        created_by = entry.get("created_by", "")
        if not no_trunc and len(created_by) > 45:
            created_by = created_by[:44] + "…"
        rows.append({"ID": (image.id if no_trunc else image.short_id) if i == 0 else "<missing>",
                     "CreatedSince": ago(entry.get("created", "")) if human
                     else entry.get("created", ""),
                     "CreatedBy": created_by,
                     "Size": human_size(size) if human else str(size),
                     "Comment": entry.get("comment", "")})
    return rows


_FIELD = re.compile(r"\{\{\s*(json\s+)?\.([A-Za-z0-9_.]*)\s*\}\}")


def render(template: str, obj: dict[str, Any]) -> str:
    """A Go-template subset: {{.A.B}}, {{json .A}}, {{json .}}, plus \\t and \\n."""
    template = template.replace("\\t", "\t").replace("\\n", "\n")

    def sub(m: re.Match[str]) -> str:
        value: Any = obj
        for part in filter(None, m.group(2).split(".")):
            value = value.get(part) if isinstance(value, dict) else None
        if m.group(1):
            return json.dumps(value)
        if value is None:
            return "<no value>"
        if isinstance(value, list | dict):
            return json.dumps(value) if isinstance(value, dict) else \
                "[" + " ".join(str(v) for v in value) + "]"
        return str(value)

    return _FIELD.sub(sub, template)


def table(rows: list[dict[str, str]], columns: list[tuple[str, str]]) -> str:
    """Left-aligned columns separated by three spaces, as Docker prints them."""
    widths = [max([len(title)] + [len(r[key]) for r in rows]) for key, title in columns]
    lines = []
    for cells in [[title for _, title in columns]] + [[r[k] for k, _ in columns] for r in rows]:
        lines.append("   ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
    return "\n".join(lines)


def format_rows(rows: list[dict[str, str]], template: str) -> str:
    if template.startswith("table"):
        body = template[len("table"):].strip()
        titles = {key: re.sub(r"(?<=[a-z])(?=[A-Z])", " ", key).upper() for key in
                  (rows[0] if rows else {})}
        header = render(body, titles) if rows else body
        return "\n".join([header] + [render(body, r) for r in rows])
    return "\n".join(render(template, r) for r in rows)
