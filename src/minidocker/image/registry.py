"""A client of the OCI distribution spec: manifests and blobs over HTTP(S), with anonymous,
Bearer-token and basic auth, redirects, and ranged (resumable) blob downloads.

HTTPS always, except for loopback registries (localhost, 127.0.0.0/8, ::1) and those the
user marks `--insecure`. One connection per thread and host (http.client is not thread
safe), reused across requests.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import threading
import urllib.parse
from collections.abc import Callable
from typing import IO, Any

from minidocker.errors import MinidockerError, NotFound
from minidocker.image import reference as refs
from minidocker.image import store as st

DOCKER_HUB_HOST = "registry-1.docker.io"
USER_AGENT = "minidocker/0.1"
MANIFEST_ACCEPT = ", ".join([st.MEDIA_OCI_INDEX, st.MEDIA_DOCKER_LIST, st.MEDIA_OCI_MANIFEST,
                             st.MEDIA_DOCKER_MANIFEST])
CHUNK = 1 << 20
TIMEOUT = 60


class RegistryError(MinidockerError):
    """The registry refused or failed a request; the message carries its error code."""


class ConnectionFailed(RegistryError):
    """The connection failed (refused, reset, closed early): worth retrying."""


class Response:
    """A response whose connection is dropped if its body is not read to the end, so a
    half-read body never poisons the next request on that (kept-alive) connection."""

    def __init__(self, resp: http.client.HTTPResponse, url: str,
                 conn: http.client.HTTPConnection):
        self.resp = resp
        self.status = resp.status
        self.url = url
        self.conn = conn

    def header(self, name: str) -> str | None:
        return self.resp.getheader(name)

    def read(self, n: int = -1) -> bytes:
        try:
            return self.resp.read() if n < 0 else self.resp.read(n)
        except BaseException:
            self.abort()
            raise

    def read1(self, n: int) -> bytes:
        try:
            return self.resp.read1(n)
        except BaseException:
            self.abort()
            raise

    def close(self) -> None:
        self.read()

    def abort(self) -> None:
        self.conn.close()


class Client:
    """One registry (domain): resolves auth challenges and keeps tokens per scope."""

    def __init__(self, domain: str, *, insecure: bool = False,
                 credentials: tuple[str, str] | None = None):
        self.domain = domain
        self.host = DOCKER_HUB_HOST if domain == refs.DEFAULT_DOMAIN else domain
        # Plain HTTP only for loopback registries and those marked --insecure; which of the
        # two a registry speaks is found out on first use (see _probe).
        self.loopback = refs.is_loopback_host(domain)
        self.allows_http = insecure or self.loopback
        self._scheme: str | None = None if self.allows_http else "https"
        self.credentials = credentials
        self.tokens: dict[str, str] = {}
        self.basic = False
        self.local = threading.local()
        self.lock = threading.Lock()

    # ---- transport ---------------------------------------------------------------------

    @property
    def scheme(self) -> str:
        if self._scheme is None:
            with self.lock:
                if self._scheme is None:
                    self._scheme = self._probe()
        return self._scheme

    @property
    def base(self) -> str:
        return f"{self.scheme}://{self.host}"

    def _probe(self) -> str:
        """HTTP or HTTPS? Loopback: ask in plain HTTP and switch when the answer is a TLS
        server's complaint (or not HTTP at all). --insecure: HTTPS first, without
        certificate checks, so credentials never go in clear to a server that has TLS."""
        if self.loopback:
            conn: http.client.HTTPConnection = http.client.HTTPConnection(self.host, timeout=10)
            try:
                conn.request("GET", "/v2/", headers={"User-Agent": USER_AGENT})
                resp = conn.getresponse()
                body = resp.read(4096)
                tls_port = resp.status == 400 and b"HTTPS" in body.upper()
                return "https" if tls_port else "http"
            except (http.client.BadStatusLine, ConnectionResetError):
                return "https"
            except OSError as e:
                raise ConnectionFailed(f"cannot reach registry {self.host}: "
                                       f"{e.strerror or e}") from None
            finally:
                conn.close()
        conn = http.client.HTTPSConnection(self.host, timeout=10, context=_unverified_tls())
        try:
            conn.request("GET", "/v2/", headers={"User-Agent": USER_AGENT})
            conn.getresponse().read()
            return "https"
        except ConnectionRefusedError as e:
            raise ConnectionFailed(f"cannot reach registry {self.host}: {e.strerror}") from None
        except (OSError, http.client.HTTPException):
            return "http"
        finally:
            conn.close()

    def _connection(self, scheme: str, netloc: str) -> http.client.HTTPConnection:
        conns: dict[tuple[str, str], http.client.HTTPConnection] = \
            self.local.__dict__.setdefault("conns", {})
        conn = conns.get((scheme, netloc))
        if conn is None:
            if scheme == "https":
                import ssl
                # a registry allowed plain HTTP is not held to a certificate either (Docker's
                # insecure registries); everything else is verified
                context = _unverified_tls() if self.allows_http and netloc == self.host \
                    else ssl.create_default_context()
                conn = http.client.HTTPSConnection(netloc, timeout=TIMEOUT, context=context)
            else:
                conn = http.client.HTTPConnection(netloc, timeout=TIMEOUT)
            conns[(scheme, netloc)] = conn
        return conn

    def _send(self, method: str, url: str, headers: dict[str, str],
              body: bytes | IO[bytes] | None) -> Response:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme == "http" and parts.netloc != urllib.parse.urlsplit(self.base).netloc \
                and not refs.is_loopback_host(parts.netloc) and self.scheme == "https":
            raise RegistryError(f"{self.domain}: refusing to follow a redirect to plain HTTP")
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = {"User-Agent": USER_AGENT, **headers}
        for attempt in (1, 2):
            conn = self._connection(parts.scheme, parts.netloc)
            try:
                conn.request(method, path or "/", body=body, headers=headers)
                return Response(conn.getresponse(), url, conn)
            except (http.client.HTTPException, ConnectionResetError, BrokenPipeError) as e:
                conn.close()  # most likely a kept-alive connection the server closed: retry
                if attempt == 2 or (body is not None and not isinstance(body, bytes)):
                    raise ConnectionFailed(f"{parts.netloc}: {method} {parts.path}: connection "
                                        f"failed ({type(e).__name__})") from None
            except OSError as e:
                conn.close()
                raise ConnectionFailed(f"cannot reach registry {parts.netloc}: "
                                    f"{e.strerror or e}") from None
            except BaseException:
                conn.close()
                raise
        raise AssertionError("unreachable")

    def request(self, method: str, path: str, *, scope: str, headers: dict[str, str] | None = None,
                body: bytes | Callable[[], IO[bytes]] | None = None,
                ok: tuple[int, ...] = (200,)) -> Response:
        """Send with auth; answer one 401 challenge; follow redirects (without auth)."""
        url = path if "://" in path else self.base + path
        for _ in range(2):
            hdrs = dict(headers or {})
            auth = self._authorization(scope)
            if auth:
                hdrs["Authorization"] = auth
            data = body() if callable(body) else body
            resp = self._send(method, url, hdrs, data)
            if resp.status == 401 and self._answer(resp, scope, auth):
                continue
            break
        redirects = 0
        while resp.status in (301, 302, 303, 307, 308) and method in ("GET", "HEAD"):
            resp.close()
            location = resp.header("Location")
            redirects += 1
            if not location or redirects > 5:
                raise RegistryError(f"{self.domain}: bad redirect for {path}")
            url = urllib.parse.urljoin(resp.url, location)
            resp = self._send(method, url, {k: v for k, v in (headers or {}).items()}, None)
        if resp.status not in ok:
            raise self._error(resp, method, path)
        return resp

    def _error(self, resp: Response, method: str, path: str) -> MinidockerError:
        text = resp.read().decode(errors="replace") if method != "HEAD" else ""
        detail = ""
        try:
            errors = json.loads(text).get("errors") or []
            detail = "; ".join(f"{e.get('code', '')}: {e.get('message', '')}".strip(": ")
                               for e in errors)
        except (ValueError, AttributeError):
            detail = text.strip()[:200]
        what = f"{self.domain}: {method} {path.split('?')[0]}: HTTP {resp.status}"
        if detail:
            what += f" ({detail})"
        if resp.status == 404:
            return NotFound(what)
        if resp.status in (401, 403):
            return RegistryError(what, hint=f"minidocker login {self.domain}")
        return RegistryError(what)

    # ---- auth --------------------------------------------------------------------------

    def _authorization(self, scope: str) -> str | None:
        with self.lock:
            token = self.tokens.get(scope)
        if token:
            return f"Bearer {token}"
        if self.basic and self.credentials:
            user, password = self.credentials
            return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        return None

    def _answer(self, resp: Response, scope: str, sent: str | None) -> bool:
        """Handle a 401: fetch a token (Bearer) or switch to basic auth; False if hopeless.
        `sent` is the Authorization we sent: if another thread has meanwhile obtained a
        different one, just retry with that."""
        challenge = resp.header("WWW-Authenticate") or ""
        resp.close()
        kind, _, params_text = challenge.partition(" ")
        params = dict(re.findall(r'(\w+)="([^"]*)"', params_text))
        if kind.lower() == "basic":
            if not self.credentials or (sent or "").startswith("Basic "):
                return False
            self.basic = True
            return True
        if kind.lower() != "bearer" or "realm" not in params:
            return False
        with self.lock:
            if scope in self.tokens:
                # refused: hopeless if that was the token we sent, else retry with it
                return f"Bearer {self.tokens[scope]}" != sent
        token = self._fetch_token(params, scope)
        with self.lock:
            self.tokens[scope] = token
        return True

    def _fetch_token(self, params: dict[str, str], scope: str) -> str:
        query = [("service", params.get("service", ""))]
        query += [("scope", one) for one in scope.split(" ") if one]  # one param per scope
        realm = params["realm"]
        url = realm + ("&" if "?" in realm else "?") + urllib.parse.urlencode(query)
        headers = {}
        if self.credentials:
            user, password = self.credentials
            headers["Authorization"] = "Basic " + base64.b64encode(
                f"{user}:{password}".encode()).decode()
        realm_parts = urllib.parse.urlsplit(realm)
        if realm_parts.scheme != "https" and not (refs.is_loopback_host(realm_parts.netloc)
                                                  or self.allows_http):
            raise RegistryError(f"{self.domain}: token server {realm} is not HTTPS")
        resp = self._send("GET", url, headers, None)
        body = resp.read()
        if resp.status != 200:
            hint = f"minidocker login {self.domain}" if resp.status in (401, 403) else None
            raise RegistryError(f"{self.domain}: token server refused ({resp.status}): "
                                f"{body.decode(errors='replace').strip()[:200]}", hint=hint)
        try:
            doc = json.loads(body)
            return str(doc.get("token") or doc["access_token"])
        except (ValueError, KeyError):
            raise RegistryError(f"{self.domain}: token server sent no token") from None

    # ---- distribution API ----------------------------------------------------------------

    def ping(self) -> None:
        """GET /v2/ with credentials: what `login` checks."""
        self.request("GET", "/v2/", scope="").close()

    def tags(self, repo: str) -> list[str]:
        """Every tag of `repo` (GET /v2/<repo>/tags/list, following the registry's
        Link: <...>; rel="next" pages)."""
        out: list[str] = []
        path: str | None = f"/v2/{repo}/tags/list"
        while path:
            resp = self.request("GET", path, scope=pull_scope(repo))
            try:
                doc = json.loads(resp.read())
            except ValueError:
                raise RegistryError(f"tag list of {repo} from {self.domain} is not "
                                    "JSON") from None
            out += [str(t) for t in doc.get("tags") or []]
            link = resp.header("Link") or ""
            path = None
            if 'rel="next"' in link and link.startswith("<"):
                path = urllib.parse.urljoin(resp.url, link[1:link.index(">")])
        return out

    def get_manifest(self, repo: str, reference: str) -> tuple[bytes, str, str]:
        """(body, media type, digest) of a manifest or index, the digest verified if known."""
        resp = self.request("GET", f"/v2/{repo}/manifests/{reference}", scope=pull_scope(repo),
                            headers={"Accept": MANIFEST_ACCEPT})
        body = resp.read()
        digest = st.sha256_digest(body)
        if reference.startswith("sha256:") and digest != reference:
            raise RegistryError(f"manifest {reference} from {self.domain}: digest mismatch "
                                f"(got {digest})")
        media_type = (resp.header("Content-Type") or "").split(";")[0].strip()
        try:
            doc = json.loads(body)
        except ValueError:
            raise RegistryError(f"manifest {reference} from {self.domain} is not JSON") from None
        media_type = doc.get("mediaType") or media_type
        if media_type not in st.MANIFEST_TYPES + st.INDEX_TYPES:
            if "manifests" in doc:
                media_type = st.MEDIA_OCI_INDEX
            elif "layers" in doc:
                media_type = st.MEDIA_OCI_MANIFEST
            else:
                raise RegistryError(f"unsupported manifest type {media_type!r} "
                                    f"(schema 1 images are not supported)")
        return body, media_type, digest

    def fetch_blob(self, repo: str, digest: str, partial: str,
                   progress: Callable[[int], None] | None = None) -> None:
        """Download a blob into `partial`, continuing what an earlier attempt left there."""
        have = os.path.getsize(partial) if os.path.exists(partial) else 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        resp = self.request("GET", f"/v2/{repo}/blobs/{digest}", scope=pull_scope(repo),
                            headers=headers, ok=(200, 206, 416))
        if resp.status == 416:  # already complete (or the partial is bogus): verify decides
            resp.close()
            return
        mode = "ab" if resp.status == 206 else "wb"
        if progress and mode == "ab":
            progress(have)
        with open(partial, mode) as f:
            try:
                while chunk := resp.read1(CHUNK):  # what arrived: steady progress
                    f.write(chunk)
                    if progress:
                        progress(len(chunk))
            except BaseException:
                resp.abort()
                raise
        if resp.resp.length:  # http.client returns b"" on a short body instead of raising
            resp.abort()
            raise http.client.IncompleteRead(b"", resp.resp.length)

    def blob_exists(self, repo: str, digest: str, scope: str) -> bool:
        resp = self.request("HEAD", f"/v2/{repo}/blobs/{digest}", scope=scope, ok=(200, 404))
        resp.close()
        return resp.status == 200

    def upload_blob(self, repo: str, digest: str, path: str, scope: str,
                    mount_from: str | None = None) -> bool:
        """Monolithic upload: POST for a session, then one PUT of the whole blob. With
        `mount_from` (another repository of this registry holding the blob) the POST first
        asks for a cross-repository mount; True when that worked and nothing was sent."""
        query = "?" + urllib.parse.urlencode({"mount": digest, "from": mount_from}) \
            if mount_from else ""
        resp = self.request("POST", f"/v2/{repo}/blobs/uploads/{query}", scope=scope,
                            ok=(201, 202), headers={"Content-Length": "0"}, body=b"")
        if resp.status == 201:
            resp.close()
            return True
        location = resp.header("Location")
        resp.close()
        if not location:
            raise RegistryError(f"{self.domain}: upload of {digest} got no Location")
        url = urllib.parse.urljoin(self.base + "/", location)
        url += ("&" if "?" in url else "?") + urllib.parse.urlencode({"digest": digest})
        size = os.path.getsize(path)
        with open(path, "rb") as f:

            def body() -> IO[bytes]:
                f.seek(0)
                return f

            resp = self.request("PUT", url, scope=scope, ok=(201, 204),
                                headers={"Content-Type": "application/octet-stream",
                                         "Content-Length": str(size)}, body=body)
            resp.close()
        return False

    def put_manifest(self, repo: str, reference: str, body: bytes, media_type: str,
                     scope: str) -> str:
        resp = self.request("PUT", f"/v2/{repo}/manifests/{reference}", scope=scope,
                            ok=(200, 201, 202),
                            headers={"Content-Type": media_type,
                                     "Content-Length": str(len(body))}, body=body)
        resp.close()
        return resp.header("Docker-Content-Digest") or st.sha256_digest(body)


def _unverified_tls() -> Any:
    import ssl
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def pull_scope(repo: str) -> str:
    return f"repository:{repo}:pull"


def push_scope(repo: str) -> str:
    return f"repository:{repo}:pull,push"




def select_platform(index: dict[str, Any], wanted: str) -> dict[str, Any]:
    """The manifest descriptor of an index that matches `os/arch[/variant]`."""
    os_name, _, rest = wanted.partition("/")
    arch, _, variant = rest.partition("/")
    if arch == "arm64" and not variant:
        variant = "v8"
    candidates = []
    for desc in index.get("manifests") or []:
        p = desc.get("platform") or {}
        if p.get("os") != os_name or p.get("architecture") != arch:
            continue
        have_variant = p.get("variant") or ("v8" if arch == "arm64" else "")
        if variant and have_variant and have_variant != variant:
            continue
        candidates.append(desc)
    if not candidates:
        available = sorted({"/".join(filter(None, [(d.get("platform") or {}).get("os"),
                                                   (d.get("platform") or {}).get("architecture"),
                                                   (d.get("platform") or {}).get("variant")]))
                            for d in index.get("manifests") or []})
        raise NotFound(f"no image for platform {wanted} in the manifest list",
                       hint=f"available: {', '.join(available) or 'none'}; use --platform")
    return candidates[0]
