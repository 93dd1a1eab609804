"""The port forwarder of a rootless container (podman's rootlessport, in Python).

Started by network.rootless.start_forwarder inside the rootless network namespace, with
listening sockets that were bound on the host beforehand and inherited as fds: for each
connection accepted on the host it connects to the container's address in the namespace
and relays both ways with splice(2) through a pipe (the bytes never enter Python). UDP
datagrams are relayed per client address, through a socket of its own that is dropped
after a minute of silence. It ends with the container's init (a pidfd) or on SIGTERM.

    python -S -I -c "...forward import main; main(sys.argv[1:])" INIT_PID IP SPEC...
    SPEC: tcp:FD:CONTAINER_PORT or udp:FD:CONTAINER_PORT

Only os, select, fcntl and _socket are imported: one runs per container with ports.
"""

from __future__ import annotations

import _socket
import errno
import fcntl
import os
import select
import time

SPLICE = 0x1 | 0x2  # SPLICE_F_MOVE | SPLICE_F_NONBLOCK
WANT = 1 << 20  # bytes a pipe may hold (the kernel may give less)
UDP_IDLE = 60.0


class Flow:
    """One direction of a TCP connection: src -> pipe -> dst."""

    __slots__ = ("src", "dst", "pr", "pw", "cap", "pending", "eof", "shut")

    def __init__(self, src: int, dst: int):
        self.src, self.dst = src, dst
        self.pr, self.pw = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            self.cap = fcntl.fcntl(self.pw, fcntl.F_SETPIPE_SZ, WANT)
        except OSError:
            self.cap = fcntl.fcntl(self.pw, fcntl.F_GETPIPE_SZ)
        self.pending = 0
        self.eof = False
        self.shut = False

    def pump(self) -> None:
        """Move what can move without blocking; OSError on a reset connection."""
        while True:
            moved = False
            if self.pending:
                try:
                    n = os.splice(self.pr, self.dst, self.pending, flags=SPLICE)
                except BlockingIOError:
                    n = 0
                if n:
                    self.pending -= n
                    moved = True
            if not self.eof and self.pending < self.cap:
                try:
                    n = os.splice(self.src, self.pw, self.cap - self.pending, flags=SPLICE)
                except BlockingIOError:
                    n = -1
                if n == 0:
                    self.eof = moved = True
                elif n > 0:
                    self.pending += n
                    moved = True
            if not moved:
                break
        if self.eof and not self.pending and not self.shut:
            self.shut = True
            try:
                _shutdown(self.dst)
            except OSError:
                pass

    def close(self) -> None:
        os.close(self.pr)
        os.close(self.pw)


def _shutdown(fd: int) -> None:
    sock = _socket.socket(fileno=fd)
    try:
        sock.shutdown(_socket.SHUT_WR)
    finally:
        sock.detach()


class Forwarder:
    def __init__(self, ip: str, init_pid: int):
        self.ip = ip
        self.poll = select.epoll()
        self.masks: dict[int, int] = {}
        self.handlers: dict[int, object] = {}
        self.pidfd = os.pidfd_open(init_pid)
        self.poll.register(self.pidfd, select.EPOLLIN)
        self.udp: dict[tuple[int, tuple[str, int]], list] = {}  # (listener, client) -> [sock, last]

    def watch(self, fd: int, mask: int, handler: object) -> None:
        if fd in self.masks:
            if self.masks[fd] != mask:
                self.poll.modify(fd, mask)
                self.masks[fd] = mask
        else:
            self.poll.register(fd, mask)
            self.masks[fd] = mask
        self.handlers[fd] = handler

    def forget(self, fd: int) -> None:
        if fd in self.masks:
            self.poll.unregister(fd)
            del self.masks[fd]
        self.handlers.pop(fd, None)

    def run(self) -> None:
        while True:
            events = self.poll.poll(10.0 if self.udp else -1)
            for fd, _ in events:
                if fd == self.pidfd:
                    return  # the container ended
                handler = self.handlers.get(fd)
                if handler is not None:
                    handler.event(fd)  # type: ignore[attr-defined]
            if self.udp:
                self.expire_udp()

    def expire_udp(self) -> None:
        now = time.monotonic()
        for key, entry in list(self.udp.items()):
            if now - entry[1] > UDP_IDLE:
                self.forget(entry[0].fileno())
                entry[0].close()
                del self.udp[key]


class TcpListener:
    def __init__(self, fwd: Forwarder, fd: int, port: int):
        self.fwd, self.port = fwd, port
        self.sock = _socket.socket(fileno=fd)
        self.sock.setblocking(False)
        fwd.watch(fd, select.EPOLLIN, self)

    def event(self, fd: int) -> None:
        while True:
            try:
                client_fd, _ = self.sock._accept()  # type: ignore[attr-defined]
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return  # ECONNABORTED, EMFILE...: the next one may do
            Connection(self.fwd, client_fd, self.port)


class Connection:
    def __init__(self, fwd: Forwarder, client_fd: int, port: int):
        self.fwd = fwd
        self.client = _socket.socket(fileno=client_fd)
        self.client.setblocking(False)
        self.up = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
        self.up.setblocking(False)
        self.flows: list[Flow] = []
        err = self.up.connect_ex((fwd.ip, port))
        if err not in (0, errno.EINPROGRESS):
            self.close()
            return
        fwd.watch(self.up.fileno(), select.EPOLLOUT, self)

    def event(self, fd: int) -> None:
        if not self.flows:
            err = self.up.getsockopt(_socket.SOL_SOCKET, _socket.SO_ERROR)
            if err:
                self.close()  # nothing listens there: the client sees the connection end
                return
            c, u = self.client.fileno(), self.up.fileno()
            self.flows = [Flow(c, u), Flow(u, c)]
        try:
            for flow in self.flows:
                flow.pump()
        except OSError:
            self.close()
            return
        if all(f.shut for f in self.flows):
            self.close()
            return
        for sock in (self.client, self.up):
            fd_ = sock.fileno()
            mask = 0
            for flow in self.flows:
                if flow.src == fd_ and not flow.eof and flow.pending < flow.cap:
                    mask |= select.EPOLLIN
                if flow.dst == fd_ and flow.pending:
                    mask |= select.EPOLLOUT
            if mask:
                self.fwd.watch(fd_, mask, self)
            else:
                self.fwd.forget(fd_)

    def close(self) -> None:
        for sock in (self.client, self.up):
            self.fwd.forget(sock.fileno())
            sock.close()
        for flow in self.flows:
            flow.close()
        self.flows = []


class UdpListener:
    def __init__(self, fwd: Forwarder, fd: int, port: int):
        self.fwd, self.port = fwd, port
        self.sock = _socket.socket(fileno=fd)
        self.sock.setblocking(False)
        fwd.watch(fd, select.EPOLLIN, self)

    def event(self, fd: int) -> None:
        if fd != self.sock.fileno():
            return self.reply(fd)
        while True:
            try:
                data, client = self.sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            key = (self.sock.fileno(), client)
            entry = self.fwd.udp.get(key)
            if entry is None:
                up = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)
                up.setblocking(False)
                try:
                    up.connect((self.fwd.ip, self.port))
                except OSError:
                    up.close()
                    continue
                entry = self.fwd.udp[key] = [up, 0.0, client]
                self.fwd.watch(up.fileno(), select.EPOLLIN, self)
            entry[1] = time.monotonic()
            try:
                entry[0].send(data)
            except OSError:
                pass

    def reply(self, fd: int) -> None:
        entry = next((e for e in self.fwd.udp.values() if e[0].fileno() == fd), None)
        if entry is None:
            return
        while True:
            try:
                data = entry[0].recv(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            entry[1] = time.monotonic()
            try:
                self.sock.sendto(data, entry[2])
            except OSError:
                pass


def main(argv: list[str]) -> None:
    init_pid, ip = int(argv[0]), argv[1]
    try:
        fwd = Forwarder(ip, init_pid)
    except OSError:
        os._exit(0)  # the container is gone already
    for spec in argv[2:]:
        proto, fd, port = spec.split(":")
        if proto == "udp":
            UdpListener(fwd, int(fd), int(port))
        else:
            TcpListener(fwd, int(fd), int(port))
    try:
        fwd.run()
    finally:
        os._exit(0)
