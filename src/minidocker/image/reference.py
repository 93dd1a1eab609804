"""Image references: `[domain/]path[:tag][@digest]` with Docker's defaults."""

from __future__ import annotations

import re

from minidocker.errors import UsageError

DEFAULT_DOMAIN = "docker.io"
DEFAULT_TAG = "latest"
LEGACY_DOMAINS = ("index.docker.io", "registry-1.docker.io")

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH_RE = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_DOMAIN_RE = re.compile(
    r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
    r"(?::[0-9]+)?$|^\[[0-9a-fA-F:]+\](?::[0-9]+)?$")
_TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$")
_SHA256_RE = re.compile(r"^sha256:[0-9a-f]{64}$")


class Reference:
    """A normalized image reference; `tag` is None only when a digest is given.

    (A plain class, not a dataclass: `minidocker run` imports this, and dataclasses costs
    4 ms of imports.)"""

    __slots__ = ("domain", "path", "tag", "digest")

    def __init__(self, domain: str, path: str, tag: str | None = None,
                 digest: str | None = None):
        self.domain = domain
        self.path = path
        self.tag = tag
        self.digest = digest

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Reference) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))

    def __repr__(self) -> str:
        return f"Reference({str(self)!r})"

    @property
    def name(self) -> str:
        """The repository with its domain: `docker.io/library/alpine`."""
        return f"{self.domain}/{self.path}"

    def __str__(self) -> str:
        s = self.name
        if self.tag:
            s += f":{self.tag}"
        if self.digest:
            s += f"@{self.digest}"
        return s

    @property
    def familiar_name(self) -> str:
        """The repository as Docker shows it: `alpine`, `user/app`, `localhost:5000/x`."""
        if self.domain == DEFAULT_DOMAIN:
            return self.path.removeprefix("library/")
        return self.name

    def familiar(self) -> str:
        s = self.familiar_name
        if self.tag:
            s += f":{self.tag}"
        if self.digest:
            s += f"@{self.digest}"
        return s

    def with_tag(self, tag: str) -> Reference:
        return Reference(self.domain, self.path, tag, None)

    def with_digest(self, digest: str) -> Reference:
        return Reference(self.domain, self.path, None, digest)

    @property
    def is_local_registry(self) -> bool:
        return is_loopback_host(self.domain)


def is_loopback_host(domain: str) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1, with or without a port."""
    host = domain
    if host.startswith("["):
        host = host[1:host.index("]")] if "]" in host else host
    else:
        host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if host == "localhost" or host == "::1":
        return True
    parts = host.split(".")
    return len(parts) == 4 and parts[0] == "127" and all(p.isdigit() and int(p) < 256
                                                         for p in parts)


def parse(text: str, *, default_tag: bool = True) -> Reference:
    """Parse `text` as Docker does; raise UsageError with the reason when it is malformed."""
    if not text:
        raise UsageError("invalid reference format: empty image name")
    rest, digest = text, None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not _DIGEST_RE.match(digest):
            raise UsageError(f"invalid reference format: bad digest {digest!r} in {text!r}")
        if digest.startswith("sha256:") and not _SHA256_RE.match(digest):
            raise UsageError(f"invalid reference format: bad digest in {text!r} "
                             "(sha256 needs 64 lowercase hex digits)")
    tag = None
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1:]
        if not _TAG_RE.match(tag):
            raise UsageError(f"invalid reference format: bad tag {tag!r} in {text!r}")
    if not rest:
        raise UsageError(f"invalid reference format: no repository name in {text!r}")
    domain, path = split_domain(rest)
    if domain in LEGACY_DOMAINS:
        domain = DEFAULT_DOMAIN
    if not _DOMAIN_RE.match(domain):
        raise UsageError(f"invalid reference format: bad registry name {domain!r} in {text!r}")
    if path != path.lower() and _PATH_RE.match(path.lower()):
        raise UsageError(f"invalid reference format: repository name must be lowercase: {text!r}")
    if not _PATH_RE.match(path):
        raise UsageError(f"invalid reference format: bad repository name {path!r} in {text!r}")
    if len(domain) + 1 + len(path) > 255:
        raise UsageError(f"invalid reference format: repository name too long: {text!r}")
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = f"library/{path}"
    if tag is None and digest is None and default_tag:
        tag = DEFAULT_TAG
    return Reference(domain, path, tag, digest)


def split_domain(name: str) -> tuple[str, str]:
    first, sep, remainder = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        return first, remainder
    return DEFAULT_DOMAIN, name


def is_digest(text: str) -> bool:
    return bool(_SHA256_RE.match(text))
