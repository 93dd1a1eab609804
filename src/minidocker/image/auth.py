"""Registry credentials saved by `minidocker login`: `<root>/auth.json`, mode 0600.

The format is Docker's config.json `auths` section (base64 of `user:password`), so the
file is familiar; $MINIDOCKER_AUTH_FILE overrides the location.
"""

from __future__ import annotations

import base64
import json
import os

from minidocker.errors import InvalidConfig


def auth_file(root: str) -> str:
    return os.environ.get("MINIDOCKER_AUTH_FILE") or os.path.join(root, "auth.json")


def _load(root: str) -> dict[str, dict[str, str]]:
    try:
        with open(auth_file(root)) as f:
            doc = json.load(f)
    except FileNotFoundError:
        return {}
    except ValueError as e:
        raise InvalidConfig(f"{auth_file(root)}: {e}") from None
    auths = doc.get("auths", {}) if isinstance(doc, dict) else {}
    return auths if isinstance(auths, dict) else {}


def _save(root: str, auths: dict[str, dict[str, str]]) -> None:
    path = auth_file(root)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = f"{path}.tmp.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"auths": auths}, f, indent=2)
    os.chmod(tmp, 0o600)
    os.rename(tmp, path)


def get(root: str, domain: str) -> tuple[str, str] | None:
    entry = _load(root).get(domain)
    if not entry or "auth" not in entry:
        return None
    try:
        user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
    except ValueError:
        raise InvalidConfig(f"{auth_file(root)}: bad credentials for {domain}") from None
    return user, password


def store(root: str, domain: str, user: str, password: str) -> None:
    auths = _load(root)
    auths[domain] = {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}
    _save(root, auths)


def remove(root: str, domain: str) -> bool:
    auths = _load(root)
    if domain not in auths:
        return False
    del auths[domain]
    _save(root, auths)
    return True
