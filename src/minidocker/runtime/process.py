"""The container process: rlimits, user, capabilities, no_new_privs, seccomp, cwd, execve.

Shared by the container's init and by `exec`. Everything here runs in the forked child
after it has entered the container's namespaces; nothing may import from disk after
pivot_root, so the seccomp filter is compiled by `prepare()` beforehand.
"""

from __future__ import annotations

import _signal as signal  # the signal module's IntEnums import enum: 3 ms
import os
import resource
import stat

import minidocker
from minidocker.errors import MinidockerError
from minidocker.linux import caps, libc
from minidocker.linux.rlimitnames import RLIMITS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class ExecError(MinidockerError):
    """The program cannot be run: exit 127 if not found, 126 if not executable."""


class Prepared:
    """What the process needs, computed before the rootfs changes under us."""

    def __init__(self, process: dict[str, Any], seccomp: dict[str, Any] | None,
                 cache_dir: str | None = None):
        self.process = process
        if process.get("capabilities") is not None:
            caps.last_cap()  # read once now, on the host, before the init's critical path
        self.seccomp_filter: Any = None
        if seccomp:
            from minidocker.linux import seccomp as seccomp_mod
            if cache_dir is not None:
                try:
                    os.makedirs(cache_dir, mode=0o700, exist_ok=True)
                except OSError:
                    cache_dir = None
            self.seccomp_filter = seccomp_mod.prepare(seccomp, cache_dir=cache_dir)
        self.seccomp = seccomp


def warn_unraisable_ambient(process: dict[str, Any]) -> None:
    """A warning for each ambient capability that is not also permitted and inheritable
    (the kernel refuses to raise it): runc warns and goes on without it, and so do we."""
    import sys
    for name in caps.unraisable_ambient(process.get("capabilities") or {}):
        sys.stderr.write(f"minidocker-runtime: warning: can't raise ambient capability "
                         f"{name}: it is not in the permitted and inheritable sets\n")


def set_rlimits(process: dict[str, Any]) -> None:
    for rl in process.get("rlimits") or []:
        soft, hard = (resource.RLIM_INFINITY if v >= 2**63 - 1 else v
                      for v in (rl["soft"], rl["hard"]))
        try:
            resource.setrlimit(RLIMITS[rl["type"]], (soft, hard))
        except (ValueError, OSError) as e:
            raise MinidockerError(f"setrlimit {rl['type']} {rl['soft']}:{rl['hard']}: "
                                  f"{getattr(e, 'strerror', None) or e}")
        if minidocker.TRACE:
            minidocker.TRACE.step("process", "setrlimit", type=rl["type"], soft=rl["soft"],
                                  hard=rl["hard"])


def environ(process: dict[str, Any]) -> dict[str, str]:
    """process.env as a dict, with HOME from the container's /etc/passwd entry of the
    process's uid ("/" without one) when it has none or an empty one, as runc. Called in
    the container's root."""
    env: dict[str, str] = {}
    for item in process.get("env") or []:
        key, _, value = item.partition("=")
        env[key] = value
    if not env.get("HOME"):
        env["HOME"] = passwd_home((process.get("user") or {}).get("uid", 0)) or "/"
    return env


def passwd_home(uid: int) -> str | None:
    """The home directory of `uid` in /etc/passwd of the current root, if any. The file
    is the image's: a fifo or device there must not block or flood us."""
    try:
        fd = os.open("/etc/passwd", os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        data = os.read(fd, 1 << 20)
    except OSError:
        return None
    finally:
        os.close(fd)
    for line in data.decode(errors="replace").splitlines():
        fields = line.split(":")
        if len(fields) >= 6 and fields[2] == str(uid):
            return fields[5] or None
    return None


def lookup(program: str, env: dict[str, str], cwd: str = "/") -> str:
    """Find the program like execvp would, in the current root (a relative path with a
    slash from the process's cwd); ExecError if we can't."""
    if "/" in program:
        candidates = [os.path.join(cwd, program)]
    else:
        path = env.get("PATH", DEFAULT_PATH)
        candidates = [os.path.join(d or ".", program) for d in path.split(":")]
    for cand in candidates:
        if os.path.isfile(cand):
            if os.access(cand, os.X_OK):
                return cand
            if "/" in program:
                raise ExecError(f"exec: {program!r}: permission denied", exit_code=126)
        elif "/" in program and os.path.isdir(cand):
            raise ExecError(f"exec: {program!r}: is a directory", exit_code=126)
    if "/" in program:
        raise ExecError(f"exec: {program!r}: no such file or directory", exit_code=127)
    raise ExecError(f"exec: {program!r}: executable file not found in $PATH", exit_code=127)


def drop_privileges(process: dict[str, Any]) -> None:
    """no_new_privs, bounding set, user and groups, then the capability sets (runc's order)."""
    if process.get("noNewPrivileges"):
        libc.prctl(libc.PR_SET_NO_NEW_PRIVS, 1, what="prctl(PR_SET_NO_NEW_PRIVS)")
        if minidocker.TRACE:
            minidocker.TRACE.step("security", "no_new_privs", value=1)
    capabilities = process.get("capabilities")
    if capabilities is not None:
        caps.drop_bounding(caps.mask(capabilities.get("bounding")))
    libc.prctl(libc.PR_SET_KEEPCAPS, 1)
    set_user(process.get("user") or {})
    libc.prctl(libc.PR_SET_KEEPCAPS, 0)
    if capabilities is not None:
        caps.apply(caps.mask(capabilities.get("effective")),
                   caps.mask(capabilities.get("permitted")),
                   caps.mask(capabilities.get("inheritable")),
                   caps.mask(capabilities.get("ambient")))
    else:
        # No capabilities object: keep what we have but never pass inheritable ones on.
        eff, perm, _ = libc.capget()
        libc.capset(eff, perm, 0)
    umask = (process.get("user") or {}).get("umask")
    os.umask(0o022 if umask is None else umask)
    if minidocker.TRACE:
        minidocker.TRACE.capabilities(user=process.get("user") or {},
                                      umask=oct(0o022 if umask is None else umask))


def set_user(user: dict[str, Any]) -> None:
    uid, gid = user.get("uid", 0), user.get("gid", 0)
    groups = user.get("additionalGids") or []
    try:
        if _setgroups_allowed():
            os.setgroups(list(groups))
        elif groups:
            raise MinidockerError("cannot set additionalGids: setgroups is denied "
                                  "in this user namespace")
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
    except OSError as e:
        raise MinidockerError(f"cannot set user {uid}:{gid}: {e.strerror}")


def _setgroups_allowed() -> bool:
    try:
        with open("/proc/self/setgroups") as f:
            return f.read().strip() != "deny"
    except OSError:
        return True


def chdir(cwd: str) -> None:
    """chdir inside the container root and refuse a cwd that resolves outside it."""
    try:
        os.chdir(cwd)
    except OSError as e:
        raise MinidockerError(f"cannot change to cwd {cwd}: {e.strerror}")
    try:
        here = os.getcwd()  # ENOENT when cwd is not reachable from our root
    except FileNotFoundError:
        here = ""
    except OSError:  # getcwd denied by a seccomp profile: walk up with stat instead
        here = "/" if _reaches_root(cwd) else ""
    if not here.startswith("/"):
        raise MinidockerError(f"cwd {cwd} resolves outside the container root")


def _reaches_root(cwd: str) -> bool:
    """Whether following ".." from the cwd ends at our root (the kernel stops there) rather
    than at another filesystem root."""
    try:
        root = os.stat("/")
        cur = os.stat(".")
        up = ".."
        for _ in range(1024):
            if (cur.st_dev, cur.st_ino) == (root.st_dev, root.st_ino):
                return True
            parent = os.stat(up)
            if (parent.st_dev, parent.st_ino) == (cur.st_dev, cur.st_ino):
                return False
            cur, up = parent, up + "/.."
    except OSError as e:
        raise MinidockerError(f"cannot verify cwd {cwd}: {e.strerror}")
    return False


def reset_signals() -> None:
    """Every signal back at its default action and none blocked, as the container's
    process must start: execve keeps ignored signals and the mask, and we have Python's
    (SIGPIPE and SIGXFSZ ignored) and the caller's (a script run in the background
    ignores SIGINT and SIGQUIT; anyone may block signals). Done before any seccomp
    filter is loaded, which might deny rt_sigaction."""
    for sig in signal.valid_signals():
        if sig not in (signal.SIGKILL, signal.SIGSTOP):
            signal.signal(sig, signal.SIG_DFL)
    for sig in range(signal.SIGSYS + 1, signal.SIGRTMIN):
        libc.rt_sigaction(sig)  # the C library's own (32, 33), which signal() refuses
    signal.pthread_sigmask(signal.SIG_SETMASK, ())


def load_seccomp(prepared: Prepared) -> int | None:
    if prepared.seccomp_filter is None:
        return None
    from minidocker.linux import seccomp as seccomp_mod
    listener = seccomp_mod.load(prepared.seccomp_filter)
    if minidocker.TRACE:  # (lost if the filter denies write(2): nothing to do about it)
        minidocker.TRACE.seccomp(prepared.seccomp, listener=listener is not None)
    return listener


def close_fds(keep_up_to: int, procfd: int | None = None) -> None:
    """Mark every fd above `keep_up_to` close-on-exec, so nothing of ours leaks in.

    A seccomp profile loaded before this point (no noNewPrivileges) may deny close_range
    (EPERM), and old kernels lack it: then walk the open fds, as runc does.
    """
    try:
        libc.close_range(keep_up_to + 1, 0xFFFFFFFF, libc.CLOSE_RANGE_CLOEXEC)
        return
    except OSError:
        pass
    try:
        if procfd is not None:
            dfd = os.open("self/fd", os.O_RDONLY | os.O_DIRECTORY, dir_fd=procfd)
            try:
                fds = [int(n) for n in os.listdir(dfd)]
            finally:
                os.close(dfd)
        else:
            fds = [int(n) for n in os.listdir("/proc/self/fd")]
    except OSError:
        fds = list(range(keep_up_to + 1, resource.getrlimit(resource.RLIMIT_NOFILE)[0]))
    for fd in fds:
        if fd > keep_up_to:
            try:
                os.set_inheritable(fd, False)
            except OSError:
                pass  # closed meanwhile (the listing's own fd)


def release_inherited(keep_up_to: int, keep: set[int], procfd: int) -> None:
    """Let go, now, of the close-on-exec fds this process got from whoever forked it.

    They would go at execve anyway; but the init waits for `start` before that, and may
    wait for ever if its creator dies meanwhile. runc's init never holds them (it is a
    new executable, and execve closed them); ours is forked from the runtime, which may be
    the engine's monitor: the monitor's end of its report pipe, held by an init blocked on
    the exec fifo after the monitor was killed, was never closed, and the `run` waiting
    for that report waited for ever. Each such fd is replaced, not closed: a Python object
    of the forking process that owns the number may still close it, and must not close
    an fd of ours that reused it. Fds up to `keep_up_to` (stdio, preserved ones) and
    those in `keep` (what the init still uses) stay as they are."""
    blank = -1
    try:
        dfd = os.open("self/fd", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=procfd)
        try:
            fds = [int(n) for n in os.listdir(dfd)]
        finally:
            os.close(dfd)
        for fd in fds:
            if fd <= keep_up_to or fd in keep or fd == blank:  # blank: may reuse the
                continue                                       # listing's number
            try:
                if os.get_inheritable(fd):
                    continue  # not close-on-exec: close_fds() sees to it before execve
            except OSError:
                continue  # the listing's own fd, closed by now
            if blank < 0:
                blank, w = os.pipe()  # a read end with no writer: holds nothing
                os.close(w)
            os.dup2(blank, fd, inheritable=False)
    except OSError:
        pass  # best effort: what is left goes at execve, as before
    finally:
        if blank >= 0:
            os.close(blank)


def execve(path: str, process: dict[str, Any], env: dict[str, str]) -> None:
    args = process.get("args") or []
    if minidocker.TRACE:
        minidocker.TRACE.execve(path, args, env)
    try:
        os.execve(path, args, env)
    except OSError as e:
        code = 127 if e.errno == 2 else 126
        raise ExecError(f"exec {args[0]!r}: {e.strerror}", exit_code=code)
