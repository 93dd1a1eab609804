"""A real registry for the image tests: Debian's docker-registry on 127.0.0.1 (a free port,
a temp storage dir), and an auth proxy in front of it acting as token server (Bearer) or
basic-auth gate, which can also cut a blob download short to test resumed pulls."""

from __future__ import annotations

import base64
import http.client
import http.server
import json
import secrets
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import tool


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Registry:
    def __init__(self, workdir: Path, extra_config: str = ""):
        self.port = free_port()
        self.addr = f"127.0.0.1:{self.port}"
        self.storage = workdir / "storage"
        self.config = workdir / "config.yml"
        self.storage.mkdir(parents=True)
        self.config.write_text(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
            f"storage:\n  filesystem:\n    rootdirectory: {self.storage}\n  delete:\n"
            f"    enabled: true\nhttp:\n  addr: {self.addr}\n{extra_config}")
        self.log = open(workdir / "registry.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(["docker-registry", "serve", str(self.config)],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while True:
            try:
                conn = http.client.HTTPConnection(self.addr, timeout=1)
                conn.request("GET", "/v2/")
                if conn.getresponse().status in (200, 400, 401):  # 400: a TLS port
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"docker-registry did not start: "
                                   f"{(workdir / 'registry.log').read_text()}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    if not shutil.which("docker-registry"):
        pytest.skip("docker-registry is not installed (make setup-dev)")
    reg = Registry(tmp_path_factory.mktemp("registry"))
    try:
        yield reg
    finally:
        reg.stop()


def skopeo_copy(src: str, dest: str, *extra: str) -> None:
    subprocess.run(["skopeo", "copy", "-q", "--dest-tls-verify=false", "--src-tls-verify=false",
                    *extra, src, dest], check=True, capture_output=True, timeout=120)


class AuthProxy:
    """Forwards to the registry; demands Bearer tokens (mode 'bearer') from its own /token
    endpoint, or basic credentials (mode 'basic'). `cut_blobs` makes the next full GET of
    those blob digests (digest -> times) stop half-way, `slow_blobs` trickles them;
    `ranges` records Range headers seen, `requests` every (method, path)."""

    def __init__(self, registry: Registry, mode: str, user: str = "", password: str = ""):
        self.registry = registry
        self.mode = mode
        self.user, self.password = user, password
        self.tokens: dict[str, str] = {}
        self.token_requests: list[dict[str, str]] = []
        self.cut_blobs: dict[str, int] = {}
        self.ranges: list[str] = []
        self.slow_blobs: set[str] = set()
        self.requests: list[tuple[str, str]] = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                proxy.handle(self)

            do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = do_GET

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.addr = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _basic_ok(self, header: str) -> bool:
        expected = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return header == f"Basic {expected}"

    def handle(self, h: http.server.BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        url = urllib.parse.urlsplit(h.path)
        self.requests.append((h.command, url.path))
        header = h.headers.get("Authorization") or ""
        if url.path == "/token":
            query = dict(urllib.parse.parse_qsl(url.query))
            self.token_requests.append(query)
            if self.user and not self._basic_ok(header):
                return self._reply(h, 401, b'{"details":"bad credentials"}')
            token = secrets.token_hex(8)
            self.tokens[token] = query.get("scope", "")
            return self._reply(h, 200, json.dumps({"token": token}).encode())
        if self.mode == "bearer":
            token = header.removeprefix("Bearer ")
            repo = url.path.split("/")[2] if url.path.count("/") > 2 else ""
            if not header.startswith("Bearer ") or token not in self.tokens or (
                    repo and repo not in self.tokens[token]):
                scope = f"repository:{repo}:pull" if repo else ""
                challenge = (f'Bearer realm="http://{self.addr}/token",service="test-registry"'
                             + (f',scope="{scope}"' if scope else ""))
                return self._reply(h, 401, b'{"errors":[{"code":"UNAUTHORIZED"}]}',
                                   {"WWW-Authenticate": challenge})
        elif self.mode == "basic" and not self._basic_ok(header):
            return self._reply(h, 401, b'{"errors":[{"code":"UNAUTHORIZED"}]}',
                               {"WWW-Authenticate": 'Basic realm="test"'})
        if h.headers.get("Range"):
            self.ranges.append(h.headers["Range"])
        headers = {k: v for k, v in h.headers.items() if k.lower() != "authorization"}
        conn = http.client.HTTPConnection(self.registry.addr, timeout=30)
        conn.request(h.command, h.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        digest = url.path.rsplit("/", 1)[-1]
        cut = (h.command == "GET" and "/blobs/" in url.path
               and self.cut_blobs.get(digest, 0) > 0)
        h.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("transfer-encoding", "connection"):
                h.send_header(k, v)
        h.end_headers()
        if cut:
            self.cut_blobs[digest] -= 1
            h.wfile.write(data[: max(1, len(data) // 4)])
            h.wfile.flush()
            h.close_connection = True
            h.connection.shutdown(socket.SHUT_RDWR)
            return
        if h.command != "HEAD" and digest in self.slow_blobs and "/blobs/" in url.path:
            for i in range(0, len(data), 4096):  # a trickle: ~0.4 MB/s
                h.wfile.write(data[i:i + 4096])
                h.wfile.flush()
                time.sleep(0.01)
        elif h.command != "HEAD":
            h.wfile.write(data)
        conn.close()

    def _reply(self, h: http.server.BaseHTTPRequestHandler, status: int, body: bytes,
               headers: dict[str, str] | None = None) -> None:
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(body)


@pytest.fixture
def auth_proxy(registry: Registry) -> Iterator[type[AuthProxy]]:
    proxies: list[AuthProxy] = []

    def make(mode: str, user: str = "", password: str = "") -> AuthProxy:
        p = AuthProxy(registry, mode, user, password)
        proxies.append(p)
        return p

    try:
        yield make  # type: ignore[misc]
    finally:
        for p in proxies:
            p.close()


class CLI:
    """Runs `minidocker` with a private --root."""

    def __init__(self, root: Path):
        self.root = root

    def __call__(self, *args: str, check: bool = True, input: bytes | None = None,
                 timeout: float = 120) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([tool("minidocker"), "--root", str(self.root), *args],
                              capture_output=True, text=input is None, input=input,
                              timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"minidocker {' '.join(args)} failed ({proc.returncode}): "
                                 f"{proc.stderr!r}")
        return proc  # type: ignore[return-value]


@pytest.fixture
def md_root(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "root"
    root.mkdir()
    try:
        yield root
    finally:
        # snapshots can hold overlay mounts in failing tests: detach anything under root
        with open("/proc/self/mounts") as f:
            targets = [line.split()[1] for line in f if str(root) in line.split()[1]]
        for target in reversed(targets):
            subprocess.run(["umount", "-l", target], check=False)


@pytest.fixture
def cli(md_root: Path) -> CLI:
    return CLI(md_root)


class TokenServer:
    """A distribution token server: RS256 JWTs with an x5c chain (key and self-signed cert
    made by openssl), which the registry itself verifies (`auth: token:` in its config).
    Grants what is asked; with `user` set, only to that user's basic credentials."""

    ISSUER = "minidocker-test-issuer"
    SERVICE = "minidocker-test-registry"

    def __init__(self, workdir: Path, user: str = "", password: str = ""):
        self.workdir = workdir
        self.user, self.password = user, password
        self.requests: list[dict[str, str]] = []
        self.key = workdir / "key.pem"
        self.cert = workdir / "cert.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                        "1", "-subj", "/CN=minidocker-test-token", "-keyout", str(self.key),
                        "-out", str(self.cert)], check=True, capture_output=True)
        der = subprocess.run(["openssl", "x509", "-in", str(self.cert), "-outform", "DER"],
                             check=True, capture_output=True).stdout
        self.x5c = base64.b64encode(der).decode()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                server.handle(self)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.realm = f"http://127.0.0.1:{self.httpd.server_address[1]}/token"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def registry_config(self) -> str:
        return (f"auth:\n  token:\n    realm: {self.realm}\n    service: {self.SERVICE}\n"
                f"    issuer: {self.ISSUER}\n    rootcertbundle: {self.cert}\n")

    def handle(self, h: http.server.BaseHTTPRequestHandler) -> None:
        pairs = urllib.parse.parse_qsl(urllib.parse.urlsplit(h.path).query)
        query = dict(pairs)
        query["scope"] = " ".join(v for k, v in pairs if k == "scope")
        self.requests.append(query)
        expected = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        if self.user and h.headers.get("Authorization") != f"Basic {expected}":
            body, status = b'{"details":"bad credentials"}', 401
        else:
            body, status = json.dumps({"token": self.token(query)}).encode(), 200
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def token(self, query: dict[str, str]) -> str:
        access = []
        for scope in query.get("scope", "").split(" "):
            parts = scope.split(":")
            if len(parts) == 3:
                access.append({"type": parts[0], "name": parts[1],
                               "actions": parts[2].split(",")})
        now = int(time.time())
        claims = {"iss": self.ISSUER, "sub": self.user or "anonymous",
                  "aud": query.get("service", ""), "exp": now + 300, "nbf": now - 10,
                  "iat": now, "jti": secrets.token_hex(8), "access": access}
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.x5c]}
        signing_input = f"{_b64url(json.dumps(header))}.{_b64url(json.dumps(claims))}"
        signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(self.key)],
                                   input=signing_input.encode(), check=True,
                                   capture_output=True).stdout
        return f"{signing_input}.{_b64url(signature)}"


def _b64url(data: str | bytes) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def token_registry(tmp_path_factory: pytest.TempPathFactory
                   ) -> Iterator[tuple[Registry, TokenServer]]:
    """docker-registry with `auth: token`, its tokens from a TokenServer that wants the
    credentials alice / wonderland."""
    if not shutil.which("docker-registry") or not shutil.which("openssl"):
        pytest.skip("docker-registry and openssl are needed")
    workdir = tmp_path_factory.mktemp("token-registry")
    tokens = TokenServer(workdir, "alice", "wonderland")
    try:
        reg = Registry(workdir, tokens.registry_config())
        try:
            yield reg, tokens
        finally:
            reg.stop()
    finally:
        tokens.close()


@pytest.fixture(scope="module")
def tls_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """docker-registry serving HTTPS on 127.0.0.1 with a self-signed certificate."""
    if not shutil.which("docker-registry") or not shutil.which("openssl"):
        pytest.skip("docker-registry and openssl are needed")
    workdir = tmp_path_factory.mktemp("tls-registry")
    key, cert = workdir / "key.pem", workdir / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    reg = Registry(workdir, f"  tls:\n    certificate: {cert}\n    key: {key}\n")
    try:
        yield reg
    finally:
        reg.stop()
