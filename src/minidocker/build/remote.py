"""ADD's remote sources: an http(s) URL is downloaded as Docker's builders download it
(docs/build.md). The file is named after the URL path's last segment (or the response's
Content-Disposition), gets mode 0600 and the Last-Modified time when the server sends
one, and is never extracted; `--checksum` verifies it. The proxy comes from the build's
proxy args or the process's environment, with Go's rules (HTTPS_PROXY for https,
HTTP_PROXY for http, NO_PROXY, loopback never proxied), as dockerd's client chooses it.

Nothing heavy is imported until a URL is fetched: a build without one never pays for
urllib or http.client.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from minidocker.errors import MinidockerError

TIMEOUT = 60.0      # seconds a silent server is waited for (connect, each read)
ALGORITHMS = {"sha256": 64, "sha384": 96, "sha512": 128}


class RemoteError(MinidockerError):
    pass


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def is_git(source: str) -> bool:
    """A git source as BuildKit tells one: git@host:path, git:// or ssh://, or an http(s)
    URL whose path ends in .git."""
    if source.startswith(("git@", "git://", "ssh://")):
        return True
    if is_url(source):
        path = source.split("://", 1)[1].partition("#")[0].partition("?")[0]
        return "/" in path and path.endswith(".git")
    return False


def redacted(url: str) -> str:
    """The URL for messages: a password in it shown as xxxxx, as Go's URL.Redacted."""
    match = re.match(r"([a-z]+://[^/@:]*):[^/@]*@", url)
    return f"{match.group(1)}:xxxxx@{url[match.end():]}" if match else url


def parse_checksum(text: str) -> tuple[str, str]:
    """`--checksum=sha256:HEX` as go-digest parses a digest: (algorithm, hex)."""
    algorithm, sep, hexpart = text.partition(":")
    size = ALGORITHMS.get(algorithm)
    if not sep or size is None or not re.fullmatch(f"[a-f0-9]{{{size}}}", hexpart):
        raise RemoteError(f"invalid checksum digest format: {text!r} (sha256:<64 hex "
                          "digits>, sha384: or sha512:)")
    return algorithm, hexpart


def filename(url: str, content_disposition: str | None = None) -> str:
    """The name a download gets in a destination directory, as Docker's builder guesses
    it: the URL path's last segment, else the Content-Disposition filename; "" when
    neither gives one (http://host/, http://host/dir/)."""
    import urllib.parse
    path = urllib.parse.unquote(urllib.parse.urlsplit(url).path)
    if path and not path.endswith("/"):
        name = path.rsplit("/", 1)[-1]
        if name not in ("", ".", ".."):
            return name
    if content_disposition:
        from email.message import Message
        message = Message()
        message["Content-Disposition"] = content_disposition
        given = message.get_filename() or ""
        if given and not given.endswith("/"):
            name = given.replace("\\", "/").rsplit("/", 1)[-1]
            if name not in ("", ".", ".."):
                return name
    return ""


# ---- the proxy ------------------------------------------------------------------------------


def _setting(names: tuple[str, str], build_args: Mapping[str, str],
             environ: Mapping[str, str]) -> str:
    for where in (build_args, environ):
        for name in names:
            if where.get(name):
                return where[name]
    return ""


def proxy_for(url: str, build_args: Mapping[str, str], environ: Mapping[str, str]) -> str:
    """The proxy a download of `url` goes through ("" for none): the build's proxy args
    first, then the environment; HTTPS_PROXY for https and HTTP_PROXY for http (upper
    case before lower), NO_PROXY's hosts, domains, CIDRs and `*` excluded, and
    localhost and loopback addresses never proxied, as Go's net/http decides."""
    import ipaddress
    import urllib.parse
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme
    names = ("HTTPS_PROXY", "https_proxy") if scheme == "https" else \
        ("HTTP_PROXY", "http_proxy")
    proxy = _setting(names, build_args, environ)
    if not proxy:
        return ""
    host = (parts.hostname or "").lower()
    try:
        port = str(parts.port or (443 if scheme == "https" else 80))
    except ValueError:
        port = ""
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if host == "localhost" or (ip is not None and ip.is_loopback):
        return ""
    for entry in _setting(("NO_PROXY", "no_proxy"), build_args, environ).split(","):
        entry = entry.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return ""
        if "/" in entry:
            try:
                if ip is not None and ip in ipaddress.ip_network(entry, strict=False):
                    return ""
            except ValueError:
                pass
            continue
        entry_host, entry_port = entry, ""
        bracket = re.fullmatch(r"\[([^\]]+)\](?::(\d+))?", entry)
        if bracket:
            entry_host, entry_port = bracket.group(1), bracket.group(2) or ""
        elif entry.count(":") == 1:
            entry_host, _, entry_port = entry.partition(":")
        if entry_port and entry_port != port:
            continue
        try:
            entry_ip = ipaddress.ip_address(entry_host)
        except ValueError:
            entry_ip = None
        if entry_ip is not None:
            if ip == entry_ip:
                return ""
            continue
        domain = entry_host.lstrip("*")
        if not domain:
            continue
        if host.endswith(domain if domain.startswith(".") else "." + domain) or \
                (not domain.startswith(".") and host == domain):
            return ""
    return proxy if "://" in proxy else "http://" + proxy


# ---- the download ---------------------------------------------------------------------------


class Download:
    """A fetched URL: the temp file (mode 0600), the name it gets in a directory, the
    sha256 of its content and its mtime from Last-Modified (None: not sent)."""

    def __init__(self, url: str, path: str, name: str, digest: str, size: int,
                 last_modified: float | None):
        self.url = url
        self.path = path
        self.name = name
        self.digest = digest
        self.size = size
        self.last_modified = last_modified


def fetch(url: str, directory: str, *, build_args: Mapping[str, str],
          checksum: str = "", timeout: float | None = None) -> Download:
    """GET `url` into a new file under `directory`, verifying `checksum` if given. Any
    failure is one line naming the URL; the partial file is removed."""
    import base64
    import hashlib
    import http.client
    import tempfile
    import urllib.error
    import urllib.parse
    import urllib.request
    shown = redacted(url)
    if timeout is None:
        timeout = float(os.environ.get("MINIDOCKER_BUILD_HTTP_TIMEOUT") or TIMEOUT)
    expected = parse_checksum(checksum) if checksum else None
    parts = urllib.parse.urlsplit(url)
    headers = {"User-Agent": "minidocker-build"}
    target = url
    if parts.username is not None:  # user:password@host, sent as Basic auth (Go does)
        credentials = f"{urllib.parse.unquote(parts.username)}:" \
            f"{urllib.parse.unquote(parts.password or '')}"
        headers["Authorization"] = "Basic " + base64.b64encode(credentials.encode()).decode()
        netloc = parts.netloc.rpartition("@")[2]
        target = urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    proxies = {}
    for scheme in ("http", "https"):
        proxy = proxy_for(f"{scheme}://{parts.netloc.rpartition('@')[2]}/", build_args,
                          os.environ)
        if proxy:
            proxies[scheme] = proxy
    opener = urllib.request.build_opener(urllib.request.ProxyHandler(proxies))
    fd, path = tempfile.mkstemp(prefix="download-", dir=directory)  # 0600
    try:
        sha256 = hashlib.sha256()
        other = hashlib.new(expected[0]) if expected and expected[0] != "sha256" else None
        size = 0
        try:
            with opener.open(urllib.request.Request(target, headers=headers),
                             timeout=timeout) as resp, os.fdopen(fd, "wb") as out:
                fd = -1
                while chunk := resp.read(1 << 20):
                    out.write(chunk)
                    sha256.update(chunk)
                    if other is not None:
                        other.update(chunk)
                    size += len(chunk)
                length = resp.headers.get("Content-Length")
                if length and length.isdigit() and int(length) != size:
                    raise RemoteError(f"failed to GET {shown}: the download ended early "
                                      f"({size} of {length} bytes)")
                name = filename(url, resp.headers.get("Content-Disposition"))
                modified = _http_time(resp.headers.get("Last-Modified"))
        except urllib.error.HTTPError as e:
            raise RemoteError(f"failed to GET {shown} with status {e.code} {e.reason}") \
                from None
        except urllib.error.URLError as e:
            raise RemoteError(f"failed to GET {shown}: {_why(e.reason, timeout)}") from None
        except (OSError, http.client.HTTPException, ValueError) as e:
            raise RemoteError(f"failed to GET {shown}: {_why(e, timeout)}") from None
        digest = "sha256:" + sha256.hexdigest()
        if expected is not None:
            got = f"{expected[0]}:" + (other or sha256).hexdigest()
            if got != checksum:
                raise RemoteError(f"{shown}: digest mismatch: expected "
                                  f"{checksum}, got {got}")
        if modified is not None:
            os.utime(path, (modified, modified))
        return Download(url, path, name, digest, size, modified)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        os.unlink(path)
        raise


def _why(reason: object, timeout: float) -> str:
    if isinstance(reason, TimeoutError) or "timed out" in str(reason):
        return f"timed out after {timeout:g}s"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror.lower() if reason.errno else reason.strerror
    return str(reason) or type(reason).__name__


def _http_time(value: str | None) -> float | None:
    if not value:
        return None
    from email.utils import parsedate_to_datetime
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
