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


def check_prune(filters: dict[str, list[str]], keys: tuple[str, ...] = ("label", "label!",
                                                                          "until")
                ) -> dict[str, list[str]]:
    """A prune's filters: label=, label!= and until= (Docker's), a key it has not:
    UsageError."""
    for key in filters:
        if key not in keys:
            raise UsageError(f"invalid filter '{key}'")
    if len(filters.get("until", [])) > 1:
        raise UsageError("more than one until filter specified")
    return filters


def until(filters: dict[str, list[str]]) -> float | None:
    """until= as seconds since the epoch (a timestamp, unix seconds or a duration before
    now: Docker's forms), None without it: a prune takes what was created before."""
    from minidocker.engine.logs import parse_since
    values = filters.get("until")
    if not values:
        return None
    try:
        return parse_since(values[0])
    except UsageError:
        raise UsageError(f"invalid filter 'until={values[0]}': a timestamp, unix seconds "
                         "or a duration (10m, 24h)") from None


def created_before(created: str, limit: float | None) -> bool:
    """Whether an object whose Created is the RFC 3339 `created` passes until= `limit`."""
    if limit is None:
        return True
    from minidocker.units import parse_time
    try:
        return parse_time(created) < limit
    except ValueError:
        return False
