"""minidocker explain: what isolates a running container, read from the kernel, each
fact with a plain-language explanation and the docs section that explains it."""

from __future__ import annotations

import sys

from minidocker.cli.flags import Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

TOPICS = {"namespaces": "Namespaces", "user": "User and group ids", "cgroups": "Cgroups",
          "mounts": "Mounts (as the container sees them)", "capabilities": "Capabilities",
          "security": "Other security settings", "network": "Network"}


SPEC = Spec("[OPTIONS] CONTAINER", (
    ("", "format", "string", "json: every fact with its values, explanation and docs",
     {"default": "text", "complete": ("text", "json")}),
), (("container", 1),))


def run(args: Any) -> int:
    from minidocker.cli.commands._common import context
    from minidocker.engine.service import containers
    if args.format not in ("text", "json"):
        from minidocker.errors import UsageError
        raise UsageError(f"invalid format {args.format!r}: text or json")
    doc = containers.explain(context(args), args.container)
    if args.format == "json":
        import json
        json.dump(doc, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    sys.stdout.write("\n".join(render(doc)) + "\n")
    return 0


def render(doc: dict[str, Any]) -> list[str]:
    out = [f"Container {doc['Id'][:12]} ({doc['Name']}), pid {doc['Pid']} on the host"]
    topic = None
    for fact in doc["Facts"]:
        if fact["Topic"] != topic:
            topic = fact["Topic"]
            out += ["", TOPICS.get(topic, topic)]
        subject = fact["Subject"]
        if len(subject) > 26:
            out.append(f"  {subject}")
            subject = ""
        value = fact["Value"]
        if len(value) > 70 and ", " in value:  # a long list: wrapped under itself
            import textwrap
            lines = textwrap.wrap(value, 70, break_long_words=False, break_on_hyphens=False)
            out.append(f"  {subject:<26}  {lines[0]}")
            out += [f"  {'':<26}  {line}" for line in lines[1:]]
        else:
            out.append(f"  {subject:<26}  {value}")
        for layer in fact.get("Layers") or []:
            out.append(f"  {'':<26}    {layer['Position']}: {layer.get('Description') or ''}")
        out.append(f"  {'':<26}    {fact['Explanation']}  [{fact['Docs']}]")
    return out
