"""Credentials as Docker's client keeps them: config.json's auths (as `docker login`
writes them), credHelpers and credsStore through a docker-credential-* helper speaking
Docker's protocol, and minidocker's own older file."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from minidocker.image import auth

HELPER = """#!/bin/sh
# a docker-credential helper keeping its secrets in $STORE (one JSON per server)
case $1 in
  get) read server; f="$STORE/$(echo "$server" | tr / _)"
       if [ -f "$f" ]; then cat "$f"
       else echo "credentials not found in native keychain"; exit 1; fi ;;
  store) cat > "$STORE/tmp"; server=$(sed 's/.*"ServerURL": *"\\([^"]*\\)".*/\\1/' "$STORE/tmp")
         mv "$STORE/tmp" "$STORE/$(echo "$server" | tr / _)" ;;
  erase) read server; rm -f "$STORE/$(echo "$server" | tr / _)" ;;
esac
"""


def test_reads_docker_logins(tmp_path: Path) -> None:
    """What `docker login` wrote: Docker Hub under https://index.docker.io/v1/, others by
    host (with or without a scheme)."""
    config = tmp_path / "docker"
    config.mkdir()
    b64 = base64.b64encode
    (config / "config.json").write_text(json.dumps({"auths": {
        "https://index.docker.io/v1/": {"auth": b64(b"hubuser:hubpass").decode()},
        "https://registry.example:5000": {"auth": b64(b"u:p:with:colons").decode()}}}))
    root = str(tmp_path / "root")
    assert auth.get(root, "docker.io", str(config)) == ("hubuser", "hubpass")
    assert auth.get(root, "registry.example:5000", str(config)) == ("u", "p:with:colons")
    assert auth.get(root, "other.example", str(config)) is None
    assert auth.get(root, "docker.io", None) is None  # a server reads no client config


def test_login_writes_docker_config_and_logout_clears_it(tmp_path: Path) -> None:
    config, root = tmp_path / "docker", str(tmp_path / "root")
    path = auth.store(root, "docker.io", "me", "secret", str(config))
    assert path == str(config / "config.json")
    doc = json.loads((config / "config.json").read_text())
    assert doc == {"auths": {"https://index.docker.io/v1/": {
        "auth": base64.b64encode(b"me:secret").decode()}}}
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert auth.remove(root, "docker.io", str(config))
    assert not auth.remove(root, "docker.io", str(config))


@pytest.mark.parametrize("key", ["credsStore", "credHelpers"])
def test_credential_helpers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str) -> None:
    """credsStore (every registry) and credHelpers (one registry) run
    docker-credential-NAME get/store/erase, Docker's protocol."""
    bin_dir, store = tmp_path / "bin", tmp_path / "secrets"
    bin_dir.mkdir()
    store.mkdir()
    helper = bin_dir / "docker-credential-test"
    helper.write_text(HELPER)
    helper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("STORE", str(store))
    config = tmp_path / "docker"
    config.mkdir()
    setting = "test" if key == "credsStore" else {"registry.example": "test"}
    (config / "config.json").write_text(json.dumps({key: setting}))
    root = str(tmp_path / "root")
    assert auth.get(root, "registry.example", str(config)) is None
    assert auth.store(root, "registry.example", "me", "s3cret", str(config)) is None
    assert "s3cret" not in (config / "config.json").read_text()  # the helper keeps it
    assert auth.get(root, "registry.example", str(config)) == ("me", "s3cret")
    assert auth.remove(root, "registry.example", str(config))
    assert auth.get(root, "registry.example", str(config)) is None


def test_the_older_own_file_is_still_read(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "auth.json").write_text(json.dumps({"auths": {"r.example": {
        "auth": base64.b64encode(b"old:pw").decode()}}}))
    assert auth.get(str(root), "r.example", str(tmp_path / "nodocker")) == ("old", "pw")
    assert auth.remove(str(root), "r.example", str(tmp_path / "nodocker"))
