"""Terminals: a pty made from the container's own devpts, handed over --console-socket.

The pty master is opened as <rootfs>/dev/pts/ptmx without following any symlink and
checked to be on devpts; the peer comes from TIOCGPTPEER, never from a path lookup, so a
symlink planted in the image can't redirect either (CVE-2025-52565).
"""

from __future__ import annotations

import array
import fcntl
import os
import socket
import struct
import termios

from minidocker.errors import MinidockerError
from minidocker.linux import libc

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

TIOCSPTLCK = 0x40045431
TIOCGPTPEER = 0x5441
TIOCSCTTY = 0x540E


def open_pty(devpts_dirfd: int) -> tuple[int, int]:
    """(master, peer) of a new pty on the devpts mounted at `devpts_dirfd`."""
    master = libc.openat2(devpts_dirfd, "ptmx", os.O_RDWR | os.O_NOCTTY,
                          libc.RESOLVE_NO_SYMLINKS | libc.RESOLVE_BENEATH)
    try:
        if libc.fstatfs_type(master) != libc.DEVPTS_SUPER_MAGIC:
            raise MinidockerError("/dev/pts/ptmx is not on devpts")
        fcntl.ioctl(master, TIOCSPTLCK, struct.pack("i", 0))
        peer = fcntl.ioctl(master, TIOCGPTPEER, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
        return master, peer
    except BaseException:
        os.close(master)
        raise


def become_controlling(peer: int) -> None:
    """Make the pty peer our stdio and controlling terminal (we are a session leader)."""
    try:
        os.setsid()
    except OSError:
        pass
    fcntl.ioctl(peer, TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(peer, fd)


def send_master(sock: socket.socket, master: int) -> None:
    sock.sendmsg([b"/dev/ptmx"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                  array.array("i", [master]))])


def connect(path: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError as e:
        sock.close()
        raise MinidockerError(f"console socket {path}: {e.strerror}")
    return sock


def receive_master(sock: socket.socket) -> int:
    fds = array.array("i")
    msg, anc, _flags, _addr = sock.recvmsg(4096, socket.CMSG_SPACE(fds.itemsize))
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[:len(data) - (len(data) % fds.itemsize)])
    if not fds:
        raise MinidockerError("console socket: no terminal received")
    return fds[0]


def copy_window_size(src: int, dst: int) -> None:
    try:
        size = fcntl.ioctl(src, termios.TIOCGWINSZ, b"\0" * 8)
        fcntl.ioctl(dst, termios.TIOCSWINSZ, size)
    except OSError:
        pass


class RawTerminal:
    """Puts our own terminal in raw mode for the duration of a `with` block."""

    def __init__(self, fd: int):
        self.fd = fd
        self.saved: list[Any] | None = None

    def __enter__(self) -> RawTerminal:
        if os.isatty(self.fd):
            import tty
            self.saved = termios.tcgetattr(self.fd)
            tty.setraw(self.fd)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.saved is not None:
            termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)


def proxy(master: int, done_fd: int) -> None:
    """Copy stdin to the pty and the pty to stdout until `done_fd` becomes readable."""
    import selectors
    sel = selectors.DefaultSelector()
    sel.register(master, selectors.EVENT_READ)
    sel.register(done_fd, selectors.EVENT_READ)
    stdin_open = True
    try:
        sel.register(0, selectors.EVENT_READ)
    except (OSError, ValueError, PermissionError):
        stdin_open = False
    while True:
        for key, _ in sel.select():
            if key.fd == master:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    data = b""
                if not data:
                    sel.unregister(master)
                    continue
                _write_all(1, data)
            elif key.fd == 0 and stdin_open:
                data = os.read(0, 65536)
                if not data:
                    sel.unregister(0)
                    stdin_open = False
                    try:
                        os.write(master, b"\x04")
                    except OSError:
                        pass
                    continue
                _write_all(master, data)
            elif key.fd == done_fd:
                _drain(master)
                return


def _drain(master: int) -> None:
    os.set_blocking(master, False)
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            return
        if not data:
            return
        _write_all(1, data)


def _write_all(fd: int, data: bytes) -> None:
    while data:
        try:
            n = os.write(fd, data)
        except OSError:
            return
        data = data[n:]
