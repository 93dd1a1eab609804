"""Docker's filters, shared by the list and prune operations: a map of key -> values
({"label": ["a=b"], "status": ["exited"]}), values of one key ORed, keys ANDed."""

from __future__ import annotations

from minidocker.errors import UsageError


def from_args(items: list[str]) -> dict[str, list[str]]:
    """`--filter key=value` arguments (repeatable) as Docker's filter map."""
    out: dict[str, list[str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"bad format of filter (expected name=value): {item}")
        out.setdefault(key, []).append(value)
    return out


def has_label(labels: dict[str, str], want: str) -> bool:
    """One label filter value: KEY (present) or KEY=VALUE."""
    key, sep, value = want.partition("=")
    return key in labels and (not sep or labels[key] == value)


def labels_match(labels: dict[str, str], filters: dict[str, list[str]]) -> bool:
    """The label= (each must hold) and label!= (none may) filters of the prunes."""
    return all(has_label(labels, w) for w in filters.get("label", [])) and \
        not any(has_label(labels, w) for w in filters.get("label!", []))
