"""v1 devices controller: the OCI rules as devices.allow / devices.deny writes.

A rule of type 'a' resets the list, so rewriting all rules of a running container would
deny everything for a moment. When the cgroup already is an allowlist and stays one, the
new entries are added first and the stale ones removed after: no spurious EPERM."""

from __future__ import annotations

from minidocker.linux.cgroups import common
from minidocker.linux.cgroups.devices.rules import DeviceRule, effective, parse_rules

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

NAME = "devices"
ALLOW_ALL = "a *:* rwm"


def needed(res: dict[str, Any]) -> list[str]:
    return ["devices"] if res.get("devices") else []


def _write(path: str, rule: DeviceRule, key: str) -> None:
    common.write(path, "devices.allow" if rule.allow else "devices.deny", rule.v1_line(), key)


def apply(path: str, res: dict[str, Any]) -> None:
    rules = parse_rules(res.get("devices"))
    if not rules:
        return
    default, exceptions = effective(rules)
    try:
        current = common.read(path, "devices.list").splitlines()
    except OSError:
        current = [ALLOW_ALL]
    if not default and ALLOW_ALL not in current:
        allowed = {r.v1_line() for r in exceptions if r.allow}
        for i, rule in enumerate(exceptions):
            if rule.allow:
                _write(path, rule, f"devices[{i}]")
        for line in current:
            if line and line not in allowed:
                common.write(path, "devices.deny", line, "devices")
    else:
        _write(path, DeviceRule(default), "devices")  # reset: allow-all or deny-all
    for i, rule in enumerate(exceptions):
        _write(path, rule, f"devices[{i}]")


def stats(path: str, out: dict[str, Any]) -> None:
    pass
