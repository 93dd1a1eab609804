"""API versions as Docker negotiates them: the server says its own in /_ping and /version
(ApiVersion, MinAPIVersion); a client prefixes paths with /v1.NN (or not: the newest)."""

from __future__ import annotations

API_VERSION = "1.41"       # Docker 20.10's: what Debian 12's docker client negotiates
MIN_API_VERSION = "1.12"   # dockerd's minimum
DOCKER_VERSION = "20.10.24"  # the Docker release whose API we serve, for clients that look


def parse(text: str) -> tuple[int, int] | None:
    major, dot, minor = text.partition(".")
    if not dot or not major.isdigit() or not minor.isdigit():
        return None
    return int(major), int(minor)


def at_least(version: str, other: str) -> bool:
    """`version` >= `other`; an empty version means the newest (ours)."""
    mine = parse(version or API_VERSION)
    theirs = parse(other)
    return mine is not None and theirs is not None and mine >= theirs


def check(version: str) -> str | None:
    """Why a client's /v1.NN cannot be served (Docker's words), or None."""
    parsed = parse(version)
    if parsed is None:
        return f"invalid API version {version!r}"
    if parsed > parse(API_VERSION):  # type: ignore[operator]
        return (f"client version {version} is too new. Maximum supported API version is "
                f"{API_VERSION}")
    if parsed < parse(MIN_API_VERSION):  # type: ignore[operator]
        return (f"client version {version} is too old. Minimum supported API version is "
                f"{MIN_API_VERSION}, please upgrade your client to a newer version")
    return None
