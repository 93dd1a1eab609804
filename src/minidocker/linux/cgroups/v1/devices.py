"""v1 devices controller: the OCI rules written in order to devices.allow / devices.deny."""

from __future__ import annotations

from typing import Any

from minidocker.linux.cgroups import common
from minidocker.linux.cgroups.devices.rules import parse_rules

NAME = "devices"


def needed(res: dict[str, Any]) -> list[str]:
    return ["devices"] if res.get("devices") else []


def apply(path: str, res: dict[str, Any]) -> None:
    for i, rule in enumerate(parse_rules(res.get("devices"))):
        name = "devices.allow" if rule.allow else "devices.deny"
        common.write(path, name, rule.v1_line(), f"devices[{i}]")


def stats(path: str, out: dict[str, Any]) -> None:
    pass
