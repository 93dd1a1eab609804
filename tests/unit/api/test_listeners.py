"""Where the service listens: the unix socket's mode, stale and live sockets, TCP only
on loopback without TLS, and the sockets systemd passes."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from minidocker.api import listeners
from minidocker.errors import MinidockerError, UsageError


def test_unix_socket_is_0660_and_removed_at_close(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "api.sock"
    [listener] = listeners.open_listeners(f"unix://{path}")
    try:
        mode = os.stat(path).st_mode
        assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o660
        assert [p.name for p in path.parent.iterdir()] == ["api.sock"]  # no temp left
    finally:
        listener.close()
    assert not path.exists()


def test_a_stale_socket_is_replaced_a_live_one_refused(tmp_path: Path) -> None:
    path = str(tmp_path / "api.sock")
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)
    stale.close()  # the file stays, no one listens
    [listener] = listeners.open_listeners(f"unix://{path}")
    try:
        with pytest.raises(MinidockerError, match="another service is listening"):
            listeners.open_listeners(f"unix://{path}")
        assert os.path.exists(path)  # the refused attempt took nothing away
    finally:
        listener.close()
    Path(path).write_text("not a socket")
    with pytest.raises(MinidockerError, match="not a socket"):
        listeners.open_listeners(f"unix://{path}")


@pytest.mark.parametrize("uri", ["tcp://0.0.0.0:2375", "tcp://192.0.2.1:2375",
                                 "tcp://[::]:2375", "tcp://example.com:2375"])
def test_tcp_without_tls_is_refused_unless_loopback(uri: str) -> None:
    with pytest.raises(UsageError, match="without TLS: anyone who reaches that socket is "
                       "root on this host"):
        listeners.open_listeners(uri)


def test_tcp_on_loopback(tmp_path: Path) -> None:
    [listener] = listeners.open_listeners("tcp://127.0.0.1:0")
    try:
        host, port = listener.sock.getsockname()[:2]
        assert host == "127.0.0.1" and port > 0
    finally:
        listener.close()


@pytest.mark.parametrize("uri", ["nonsense", "http://x", "unix://relative.sock",
                                 "tcp://127.0.0.1", "tcp://:2375", "fd://"])
def test_bad_uris(uri: str) -> None:
    with pytest.raises(UsageError):
        listeners.open_listeners(uri)


def test_tls_needs_a_tcp_uri(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="tcp:// URI only"):
        listeners.open_listeners(f"unix://{tmp_path}/s", tls=("c", "k", "ca"))


def test_systemd_sockets_are_used(tmp_path: Path) -> None:
    """LISTEN_FDS/LISTEN_PID as systemd passes them (fd 3 on), in a child process."""
    path = tmp_path / "activated.sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.listen(1)
    code = ("import os, sys; os.dup2(int(sys.argv[1]), 3); os.close(int(sys.argv[1])); "
            "os.environ['LISTEN_PID'] = str(os.getpid()); "
            "from minidocker.api import listeners; ls = listeners.open_listeners(None); "
            "print(len(ls), ls[0].uri, ls[0].sock.getsockname(), "
            "'LISTEN_FDS' in os.environ)")
    fd = sock.fileno()
    out = subprocess.run([sys.executable, "-c", code, str(fd)],
                         env={**os.environ, "LISTEN_FDS": "1"}, pass_fds=(fd,),
                         capture_output=True, text=True, check=True).stdout
    sock.close()
    assert out.split() == ["1", "fd://3", str(path), "False"]
