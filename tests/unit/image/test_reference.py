"""References: Docker's defaults and clear errors for malformed names."""

from __future__ import annotations

import pytest

from minidocker.errors import UsageError
from minidocker.image.reference import is_loopback_host, parse

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize("text, full, familiar", [
    ("alpine", "docker.io/library/alpine:latest", "alpine:latest"),
    ("alpine:3.19", "docker.io/library/alpine:3.19", "alpine:3.19"),
    ("user/app", "docker.io/user/app:latest", "user/app:latest"),
    ("docker.io/library/busybox:1", "docker.io/library/busybox:1", "busybox:1"),
    ("index.docker.io/x/y", "docker.io/x/y:latest", "x/y:latest"),
    ("localhost:5000/x", "localhost:5000/x:latest", "localhost:5000/x:latest"),
    ("localhost/x:t", "localhost/x:t", "localhost/x:t"),
    ("127.0.0.1:5000/a/b/c:v-1.2_3", "127.0.0.1:5000/a/b/c:v-1.2_3",
     "127.0.0.1:5000/a/b/c:v-1.2_3"),
    ("quay.io/org/img", "quay.io/org/img:latest", "quay.io/org/img:latest"),
    (f"alpine@{DIGEST}", f"docker.io/library/alpine@{DIGEST}", f"alpine@{DIGEST}"),
    (f"alpine:3@{DIGEST}", f"docker.io/library/alpine:3@{DIGEST}", f"alpine:3@{DIGEST}"),
    ("a__b/c-d.e", "docker.io/a__b/c-d.e:latest", "a__b/c-d.e:latest"),
])
def test_parse_normalizes_like_docker(text: str, full: str, familiar: str) -> None:
    ref = parse(text)
    assert str(ref) == full
    assert ref.familiar() == familiar


@pytest.mark.parametrize("text, why", [
    ("", "empty"),
    ("Alpine", "lowercase"),
    ("alpine:", "bad tag"),
    ("alpine:-x", "bad tag"),
    ("alpine@sha256:abc", "bad digest"),
    ("alpine@" + "sha256:" + "g" * 64, "bad digest"),
    ("a//b", "bad repository"),
    ("-a", "bad repository"),
    ("a/b_", "bad repository"),
    ("x" * 256, "too long"),
    (":tag", "no repository"),
])
def test_malformed_references_are_one_clear_error(text: str, why: str) -> None:
    with pytest.raises(UsageError, match="invalid reference format") as err:
        parse(text)
    assert why in str(err.value)
    assert "\n" not in str(err.value)


def test_no_default_tag_when_asked() -> None:
    assert parse("alpine", default_tag=False).tag is None


@pytest.mark.parametrize("domain, loopback", [
    ("localhost", True), ("localhost:5000", True), ("127.0.0.1:5000", True),
    ("127.200.3.4", True), ("[::1]:5000", True), ("128.0.0.1:5000", False),
    ("docker.io", False), ("localhost.example.com", False), ("127.0.0.1.nip.io", False),
])
def test_plain_http_only_for_loopback(domain: str, loopback: bool) -> None:
    assert is_loopback_host(domain) is loopback
    from minidocker.image.registry import Client
    assert Client(domain).allows_http is loopback
    assert Client(domain, insecure=True).allows_http
    if not loopback:
        assert Client(domain).scheme == "https"  # decided without asking the network
