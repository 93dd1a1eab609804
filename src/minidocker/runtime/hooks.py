"""OCI hooks: run each hook with the container state on stdin, honouring its timeout.

Uses posix_spawn and a pidfd rather than subprocess: startContainer hooks run inside the
container after pivot_root, where no module can be imported any more.
"""

from __future__ import annotations

import _signal as signal  # the signal module's IntEnums import enum: 3 ms
import os
import select

import minidocker
from minidocker import jsonfast as json
from minidocker.errors import MinidockerError
from minidocker.linux import libc

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


# a hook starts with every signal at its default action and none blocked, whatever the
# runtime inherited (Python ignores SIGPIPE and SIGXFSZ, a caller may ignore SIGINT)
_CATCHABLE = tuple(s for s in signal.valid_signals() if s not in (signal.SIGKILL,
                                                                   signal.SIGSTOP))


class HookError(MinidockerError):
    pass


def run_hooks(hooks: list[dict[str, Any]] | None, state: dict[str, Any], stage: str,
              warn: Callable[[str], None] | None = None) -> None:
    """Run every hook of one stage in order; the first failure raises HookError, unless
    `warn` is given: then each failure is a warning and the next hook runs (the spec's
    rule for poststart and poststop)."""
    if not hooks:
        return
    payload = json.dumps(state).encode()
    for hook in hooks:
        try:
            run_hook(hook, payload, stage)
        except HookError as e:
            if warn is None:
                raise
            warn(str(e))


def run_hook(hook: dict[str, Any], payload: bytes, stage: str) -> None:
    path = hook["path"]
    args = hook.get("args") or [path]
    # no env: the runtime's own environment, as runc's hooks get it ("env": [] is empty)
    env = os.environ if hook.get("env") is None else \
        dict(item.partition("=")[::2] for item in hook["env"])
    timeout = hook.get("timeout")
    rfd, wfd = os.pipe()
    try:
        try:
            pid = os.posix_spawn(path, args, env, file_actions=[
                (os.POSIX_SPAWN_DUP2, rfd, 0),
                (os.POSIX_SPAWN_CLOSE, wfd),
            ], setsigdef=_CATCHABLE, setsigmask=())
        except OSError as e:
            raise HookError(f"{stage} hook {path}: {e.strerror}")
    finally:
        os.close(rfd)
    try:
        try:
            os.write(wfd, payload)
        except BrokenPipeError:
            pass  # a hook need not read its stdin
    finally:
        os.close(wfd)
    status = _wait(pid, timeout)
    if status is None:
        raise HookError(f"{stage} hook {path}: timed out after {timeout}s")
    if os.WIFSIGNALED(status):
        raise HookError(f"{stage} hook {path}: killed by signal {os.WTERMSIG(status)}")
    code = os.WEXITSTATUS(status)
    if code != 0:
        raise HookError(f"{stage} hook {path}: exit status {code}")
    if minidocker.TRACE:
        minidocker.TRACE.step("hook", stage, path=path, args=args, timeout=timeout, pid=pid)


def _wait(pid: int, timeout: int | None) -> int | None:
    """Wait status of `pid`, or None (after killing it) if the timeout passed first."""
    if timeout:
        pidfd = libc.pidfd_open(pid)
        try:
            poller = select.poll()
            poller.register(pidfd, select.POLLIN)
            if not poller.poll(timeout * 1000):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return None
        finally:
            os.close(pidfd)
    while True:
        try:
            return os.waitpid(pid, 0)[1]
        except InterruptedError:
            continue
