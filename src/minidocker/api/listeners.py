"""Where the API listens: a unix socket (the default, mode 0660, group `minidocker`), the
sockets systemd passes (LISTEN_FDS), or TCP: on a loopback address, or anywhere with TLS
and verified client certificates. Access to this API is root on the host."""

from __future__ import annotations

import os
import socket

from minidocker.errors import MinidockerError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import ssl

DEFAULT_URI = "unix:///run/minidocker/minidocker.sock"
SOCKET_GROUP = "minidocker"  # as Docker's `docker` group: its members may use the socket
SD_LISTEN_FDS_START = 3


class Listener:
    """A listening socket; `path` is a unix socket file we made (removed at exit)."""

    def __init__(self, sock: socket.socket, uri: str, path: str | None = None,
                 tls: ssl.SSLContext | None = None):
        self.sock = sock
        self.uri = uri
        self.path = path
        self.tls = tls
        self.inode = os.stat(path).st_ino if path else 0

    def close(self) -> None:
        self.sock.close()
        if self.path:
            try:  # only our own socket file: another service may have taken the path
                if os.stat(self.path).st_ino == self.inode:
                    os.unlink(self.path)
            except OSError:
                pass


def open_listeners(uri: str | None, tls: tuple[str, str, str] | None = None
                   ) -> list[Listener]:
    """The listeners for `uri` (None: systemd's sockets if it passed any, else the
    default unix socket). `tls` is (cert, key, CA) for a TCP URI."""
    if uri is None:
        passed = systemd_sockets()
        if passed:
            return passed
        uri = DEFAULT_URI
    scheme, sep, rest = uri.partition("://")
    if not sep:
        raise UsageError(f"invalid URI {uri!r}",
                         hint="unix:///path/to.sock, tcp://127.0.0.1:2375 or fd://")
    if tls is not None and scheme != "tcp":
        raise UsageError("--tlscert/--tlskey/--tlscacert apply to a tcp:// URI only")
    if scheme == "unix":
        if not rest.startswith("/"):
            raise UsageError(f"invalid URI {uri!r}: the socket's path must be absolute")
        return [unix_listener(rest)]
    if scheme == "tcp":
        return [tcp_listener(uri, rest, tls)]
    if scheme == "fd":
        passed = systemd_sockets()
        if not passed:
            raise UsageError("fd://: no socket was passed (LISTEN_FDS is not set for us)")
        if rest:
            chosen = [p for p in passed if str(p.sock.fileno()) == rest]
            if not chosen:
                raise UsageError(f"fd://{rest}: not a socket passed by systemd")
            return chosen
        return passed
    raise UsageError(f"unsupported URI scheme {scheme!r} in {uri!r}",
                     hint="unix://, tcp:// or fd://")


def systemd_sockets() -> list[Listener]:
    """The sockets systemd passed us (socket activation: LISTEN_PID, LISTEN_FDS)."""
    if os.environ.get("LISTEN_PID") != str(os.getpid()):
        return []
    try:
        count = int(os.environ.get("LISTEN_FDS", "0"))
    except ValueError:
        return []
    for name in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        os.environ.pop(name, None)  # not for our children (sd_listen_fds does the same)
    out = []
    for fd in range(SD_LISTEN_FDS_START, SD_LISTEN_FDS_START + count):
        os.set_inheritable(fd, False)
        sock = socket.socket(fileno=fd)
        out.append(Listener(sock, f"fd://{fd}"))
    return out


def _group_id() -> int | None:
    import grp
    try:
        return grp.getgrnam(SOCKET_GROUP).gr_gid
    except KeyError:
        return None


def unix_listener(path: str) -> Listener:
    """Bind `path` with mode 0660 (group `minidocker` when it exists) before anyone can
    connect: bound under a temporary name, then renamed into place. A stale socket file
    (no one listening) is replaced; a live one is an error."""
    directory = os.path.dirname(path) or "/"
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755, exist_ok=True)
    if os.path.lexists(path):
        import stat
        if not stat.S_ISSOCK(os.lstat(path).st_mode):
            raise MinidockerError(f"cannot listen on {path}: it exists and is not a socket")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(path)
        except OSError:
            pass  # stale: replaced below
        else:
            raise MinidockerError(f"cannot listen on {path}: another service is listening "
                                  "there", hint="stop it, or give another unix:// URI")
        finally:
            probe.close()
    temp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        sock.bind(temp)
        os.chmod(temp, 0o660)
        gid = _group_id()
        if gid is not None:
            os.chown(temp, -1, gid)
        sock.listen(128)
        os.rename(temp, path)
    except OSError as e:
        sock.close()
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise MinidockerError(f"cannot listen on {path}: {e.strerror}")
    return Listener(sock, f"unix://{path}", path)


def _is_loopback(host: str) -> bool:
    import ipaddress
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def tcp_listener(uri: str, address: str, tls: tuple[str, str, str] | None) -> Listener:
    host, sep, port_text = address.rstrip("/").rpartition(":")
    if not sep or not port_text.isdigit() or int(port_text) > 65535:
        raise UsageError(f"invalid URI {uri!r}: tcp://HOST:PORT")
    host = host.strip("[]")
    if not host:
        raise UsageError(f"invalid URI {uri!r}: name the address to listen on "
                         "(tcp://127.0.0.1:2375)")
    if tls is None and not _is_loopback(host):
        raise UsageError(
            f"refusing to serve the API on {uri} without TLS: anyone who reaches that "
            "socket is root on this host",
            hint="use a loopback address (tcp://127.0.0.1:PORT), or give --tlscert, "
                 "--tlskey and --tlscacert (client certificates are then required)")
    context = _tls_context(*tls) if tls is not None else None
    try:
        infos = socket.getaddrinfo(host, int(port_text), type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise UsageError(f"invalid URI {uri!r}: {e.strerror}")
    family, kind, proto, _, sockaddr = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(sockaddr)
        sock.listen(128)
    except OSError as e:
        sock.close()
        raise MinidockerError(f"cannot listen on {uri}: {e.strerror}")
    return Listener(sock, uri, tls=context)


def _tls_context(cert: str, key: str, ca: str) -> ssl.SSLContext:
    """TLS that requires a client certificate signed by `ca` (Docker's --tlsverify)."""
    import ssl
    try:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=ca)
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as e:
        raise UsageError(f"TLS: {getattr(e, 'strerror', None) or e}")
    context.verify_mode = ssl.CERT_REQUIRED
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context
