"""Registry credentials, kept as Docker's client keeps them: the `config.json` of a client
config directory ($DOCKER_CONFIG or ~/.docker, or `minidocker --config DIR`), read with
its `auths` (base64 of `user:password`), `credHelpers` (a helper per registry) and
`credsStore` (a helper for all): `docker-credential-NAME get|store|erase`, Docker's
credential helper protocol. `login` writes there too (to the helper when one is set, as
Docker's does), so `docker` and `minidocker` share their logins.

Older minidocker kept logins in `<root>/auth.json` ($MINIDOCKER_AUTH_FILE): still read,
and cleared by `logout`. A config directory of None (the API server: its clients send
their credentials with each request) reads only that file.
"""

from __future__ import annotations

import base64
import json
import os

from minidocker.errors import InvalidConfig, MinidockerError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DOCKER_HUB = "https://index.docker.io/v1/"  # the key Docker's client files Hub logins under
HUB_DOMAINS = ("docker.io", "index.docker.io", "registry-1.docker.io")


def default_config_dir() -> str:
    """Docker's client config directory: $DOCKER_CONFIG, else ~/.docker."""
    return os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")


def server_key(domain: str) -> str:
    """The key Docker's client files a registry's login under."""
    return DOCKER_HUB if domain in HUB_DOMAINS or domain == DOCKER_HUB else domain


def _keys(domain: str) -> list[str]:
    """The keys a login of `domain` may be under in a config file (Docker's client
    accepts a scheme and a /v1/ or /v2/ path around the host)."""
    if domain in HUB_DOMAINS:
        return [DOCKER_HUB, *HUB_DOMAINS, "https://index.docker.io/v1"]
    return [domain, *(f"{scheme}://{domain}{path}" for scheme in ("https", "http")
                      for path in ("", "/", "/v1/", "/v2/"))]


# ---- files ----------------------------------------------------------------------------------


def own_file(root: str) -> str:
    return os.environ.get("MINIDOCKER_AUTH_FILE") or os.path.join(root, "auth.json")


def _read(path: str) -> dict[str, Any]:
    try:
        with open(path) as f:
            doc = json.load(f)
    except FileNotFoundError:
        return {}
    except ValueError as e:
        raise InvalidConfig(f"{path}: {e}") from None
    if not isinstance(doc, dict):
        raise InvalidConfig(f"{path}: not a JSON object")
    return doc


def _write(path: str, doc: dict[str, Any]) -> None:
    os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
    tmp = f"{path}.tmp.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(doc, f, indent="\t")
        os.chmod(tmp, 0o600)
        os.rename(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _decode(entry: Any, path: str, key: str) -> tuple[str, str] | None:
    if not isinstance(entry, dict):
        return None
    if entry.get("auth"):
        try:
            user, sep, password = base64.b64decode(entry["auth"]).decode().partition(":")
        except ValueError:
            raise InvalidConfig(f"{path}: bad credentials for {key}") from None
        return (user, password) if sep else None
    if entry.get("username") and entry.get("password"):
        return str(entry["username"]), str(entry["password"])
    return None


# ---- credential helpers (docker-credential-NAME) ---------------------------------------------


def _helper(name: str, action: str, data: str) -> str:
    import subprocess
    program = f"docker-credential-{name}"
    try:
        proc = subprocess.run([program, action], input=data, capture_output=True, text=True,
                              timeout=60)
    except FileNotFoundError:
        raise MinidockerError(f"credential helper {program} not found in PATH (named by "
                              "credsStore or credHelpers in the client config)") from None
    if proc.returncode != 0:
        message = (proc.stdout or proc.stderr).strip()
        if action == "get" and "credentials not found" in message:
            return ""
        raise MinidockerError(f"{program} {action}: {message or 'failed'}")
    return proc.stdout


def _helper_for(doc: dict[str, Any], domain: str) -> str | None:
    helpers = doc.get("credHelpers") or {}
    for key in _keys(domain):
        if isinstance(helpers, dict) and helpers.get(key):
            return str(helpers[key])
    return str(doc["credsStore"]) if doc.get("credsStore") else None


# ---- the operations --------------------------------------------------------------------------


def get(root: str, domain: str, config_dir: str | None = None) -> tuple[str, str] | None:
    """(user, password) for a registry: from the client config's helper or auths, then
    minidocker's own older file; None if there are none."""
    if config_dir is not None:
        path = os.path.join(config_dir, "config.json")
        doc = _read(path)
        helper = _helper_for(doc, domain)
        if helper:
            out = _helper(helper, "get", server_key(domain))
            if out.strip():
                try:
                    creds = json.loads(out)
                    return str(creds["Username"]), str(creds["Secret"])
                except (ValueError, KeyError, TypeError):
                    raise MinidockerError(f"docker-credential-{helper} get: not the "
                                          "helper protocol's JSON") from None
        auths = doc.get("auths") or {}
        for key in _keys(domain):
            found = _decode(auths.get(key), path, key) if isinstance(auths, dict) else None
            if found:
                return found
    path = own_file(root)
    auths = _read(path).get("auths") or {}
    return _decode(auths.get(domain), path, domain) if isinstance(auths, dict) else None


def store(root: str, domain: str, user: str, password: str,
          config_dir: str | None = None) -> str | None:
    """Keep a login: in the client config (its helper if it names one: None is returned;
    else its `auths`, plain base64 as Docker's: the file's path is returned), or, without
    a config directory, in minidocker's own file."""
    if config_dir is None:
        path = own_file(root)
        doc = _read(path)
        doc.setdefault("auths", {})[domain] = {
            "auth": base64.b64encode(f"{user}:{password}".encode()).decode()}
        _write(path, {"auths": doc["auths"]})
        return path
    path = os.path.join(config_dir, "config.json")
    doc = _read(path)
    helper = _helper_for(doc, domain)
    key = server_key(domain)
    if helper:
        _helper(helper, "store", json.dumps({"ServerURL": key, "Username": user,
                                             "Secret": password}))
        doc.setdefault("auths", {})[key] = {}  # Docker's client notes the login so
        _write(path, doc)
        return None
    auths = doc.setdefault("auths", {})
    if not isinstance(auths, dict):
        raise InvalidConfig(f"{path}: auths is not an object")
    auths[key] = {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}
    _write(path, doc)
    return path


def remove(root: str, domain: str, config_dir: str | None = None) -> bool:
    """Forget a registry's login (helper, client config and own file); False if there
    was none anywhere."""
    found = False
    if config_dir is not None:
        path = os.path.join(config_dir, "config.json")
        doc = _read(path)
        helper = _helper_for(doc, domain)
        if helper:
            try:
                _helper(helper, "erase", server_key(domain))
                found = True
            except MinidockerError:
                pass
        auths = doc.get("auths") or {}
        keys = [k for k in _keys(domain) if isinstance(auths, dict) and k in auths]
        if keys:
            for key in keys:
                del auths[key]
            _write(path, doc)
            found = True
    path = own_file(root)
    doc = _read(path)
    if domain in (doc.get("auths") or {}):
        del doc["auths"][domain]
        _write(path, {"auths": doc["auths"]})
        found = True
    return found
