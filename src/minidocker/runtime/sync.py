"""Framed messages between the runtime and the processes it forks.

One SOCK_SEQPACKET socketpair carries JSON messages, one per packet. The create protocol:

    parent (create)              child (stage 1)                 init (stage 2)
    fork ──────────────────────▶ setns(given namespaces)
                                 unshare(user) ─▶ USERNS
    write uid_map, gid_map
    USERNS_DONE ───────────────▶ unshare(the rest but cgroup),
                                 time offsets
                                 fork ─────────────────────────▶ (pid 1 of the new pid ns)
                               ◀ PID {pid}; exits
    cgroup.add_process(init)                                     rootfs mounts meanwhile
    (v1: fds of each `tasks`)
    CGROUPS_DONE [fds] ───────────────────────────────────────▶ (waited for before the
                                                                 first cgroup mount) then
                                                                 "0" to each `tasks` fd
                                                                 (moves itself: no RCU
                                                                 grace period),
                                                                 unshare(cgroup), devices,
                                                                 console
                                                               ◀ HOOKS (only when
    createRuntime + prestart hooks                                CGROUPS_DONE said hooks)
    HOOKS_DONE ───────────────────────────────────────────────▶ createContainer hooks,
                                                                 masks, pivot_root, sysctl,
                                                                 user, capabilities
                                                               ◀ READY
    state.json, pid file; exit                                   blocks on exec.fifo
    any stage: ◀ ERROR {msg} — the parent undoes everything and reports msg.
"""

from __future__ import annotations

import _socket  # the socket module costs 3 ms of imports (enum, selectors) per call
import os
import sys

from minidocker import jsonfast as json
from minidocker.errors import MinidockerError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import socket
    from typing import Any

GO = "go"  # exec: the child is in the cgroup, go on
CGROUPS_DONE = "cgroups-done"
USERNS = "userns"
USERNS_DONE = "userns-done"
PID = "pid"
HOOKS = "hooks"
HOOKS_DONE = "hooks-done"
READY = "ready"
ERROR = "error"


class ChildFailed(MinidockerError):
    """The container process reported an error (or died) during setup."""


def pair() -> tuple[socket.socket, socket.socket]:
    a, b = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)
    return a, b  # type: ignore[return-value]


def send(sock: socket.socket, kind: str, **fields: Any) -> None:
    try:
        sock.send(json.dumps({"type": kind, **fields}).encode())
    except (BrokenPipeError, ConnectionResetError):
        _peer_gone(sock)


def send_fds(sock: socket.socket, kind: str, fds: list[int], **fields: Any) -> None:
    """A message with file descriptors attached (SCM_RIGHTS)."""
    data = json.dumps({"type": kind, **fields}).encode()
    raw = b"".join(fd.to_bytes(4, sys.byteorder, signed=True) for fd in fds)
    try:
        if fds:
            sock.sendmsg([data], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, raw)])
        else:
            sock.send(data)
    except (BrokenPipeError, ConnectionResetError):
        _peer_gone(sock)


def _peer_gone(sock: socket.socket) -> None:
    """The other side exited: what it said last (its ERROR) is the error, not EPIPE."""
    try:
        sock.setblocking(False)
        while recv(sock):  # raises ChildFailed on its ERROR, or on EOF
            pass
    except BlockingIOError:
        pass
    raise ChildFailed("container init exited during setup")


def recv_fds(sock: socket.socket, *expected: str,
             max_fds: int = 32) -> tuple[dict[str, Any], list[int]]:
    """recv() of a message that may carry file descriptors: (message, fds)."""
    resets = 0
    while True:
        try:
            data, ancillary, _, _ = sock.recvmsg(65536, _socket.CMSG_SPACE(4 * max_fds))
            break
        except InterruptedError:
            continue
        except ConnectionResetError:
            resets = _reset_seen(resets)
    fds: list[int] = []
    for level, kind, raw in ancillary:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
            fds += [int.from_bytes(raw[i:i + 4], sys.byteorder, signed=True)
                    for i in range(0, len(raw) - len(raw) % 4, 4)]
    try:
        return _decode(data, expected), fds
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise


def recv(sock: socket.socket, *expected: str) -> dict[str, Any]:
    """The next message; ChildFailed on ERROR, on EOF, or on an unexpected type."""
    resets = 0
    while True:
        try:
            data = sock.recv(65536)
            break
        except InterruptedError:
            continue
        except ConnectionResetError:
            resets = _reset_seen(resets)
    return _decode(data, expected)


def _reset_seen(resets: int) -> int:
    """A peer that closed with one of our messages unread (a child failing before it
    read CGROUPS_DONE) makes the next recv on a SEQPACKET socket fail with ECONNRESET
    even when the peer's ERROR is queued behind it; the kernel reports that once and
    clears it, so the next recv returns the ERROR (or EOF)."""
    if resets:
        raise ChildFailed("container init exited during setup")
    return resets + 1


def _decode(data: bytes, expected: tuple[str, ...]) -> dict[str, Any]:
    if not data:
        raise ChildFailed("container init exited during setup")
    msg: dict[str, Any] = json.loads(data)
    if msg["type"] == ERROR:
        raise ChildFailed(msg.get("msg", "container setup failed"),
                          exit_code=msg.get("code"))
    if expected and msg["type"] not in expected:
        raise ChildFailed(f"protocol error: got {msg['type']!r}, wanted {expected}")
    return msg


def report_and_exit(sock: socket.socket, exc: BaseException) -> None:
    """In a forked child: send the error to the parent and leave without cleanup handlers."""
    from minidocker.errors import describe
    code = getattr(exc, "exit_code", None)
    try:
        send(sock, ERROR, msg=describe(exc), code=code if isinstance(code, int) else None)
    except BaseException:  # noqa: BLE001 - the parent is gone: nothing may escape a child
        pass
    os._exit(1)
