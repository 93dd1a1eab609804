"""The rootless session: one user namespace per user, entered by every command.

An unprivileged user's engine runs inside a user namespace where the user is root: the
user's own id maps to 0 and the ranges of /etc/subuid and /etc/subgid (written by the
setuid helpers newuidmap/newgidmap, Debian's `uidmap`) to 1, 2, ... So an image's files
owned by uid 0, 1, 33 ... are stored with the host ids user, sub+0, sub+32 ..., and
every command must see the store through the same map: the namespace is made once and
kept by a small holder process (podman's pause process), whose user and mount
namespaces every later command enters with setns(2). Its mount namespace holds the
containers' overlay mounts (a user namespace's mounts cannot be seen from the host's);
its network namespace is the rootless network (network.rootless), where the bridges
live. The holder's pid and start time are in <run dir>/session.

Without a range in /etc/subuid the namespace maps the user's own id alone, with a
warning: images whose files belong to other ids cannot be unpacked.
"""

from __future__ import annotations

import os

from minidocker.errors import MinidockerError
from minidocker.linux import userns
from minidocker.linux.proc import start_time

SESSION_FILE = "session"
PR_SET_SECUREBITS = 28
SECBIT_NOROOT = 1 << 0
SECBIT_NOROOT_LOCKED = 1 << 1
HOLDER = ("import _signal as s\n"
          "for n in (1, 2, 3, 10, 12, 13, 15): s.signal(n, s.SIG_IGN)\n"
          "while True: s.pause()\n")


def holder(run_dir: str) -> int | None:
    """The pid of this user's live holder process, or None."""
    try:
        with open(os.path.join(run_dir, SESSION_FILE)) as f:
            pid_text, start_text = f.read().split()[:2]
        pid, start = int(pid_text), int(start_text)
    except (OSError, ValueError):
        return None
    return pid if start_time(pid) == start else None


def inside(pid: int) -> bool:
    """Whether this process is already in the user namespace of `pid`."""
    try:
        a = os.stat(f"/proc/{pid}/ns/user")
        b = os.stat("/proc/self/ns/user")
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def enter(run_dir: str) -> list[str]:
    """Enter the user's session (making it first if there is none): afterwards this
    process is root of the session's user namespace and in its mount namespace, in the
    same working directory. Returns warnings to show (a session with a single id).
    Must be called while the process has one thread."""
    pid = holder(run_dir)
    if pid is not None and inside(pid):
        return []
    warnings: list[str] = []
    if pid is None:
        from minidocker.engine.records import Lock
        with Lock(os.path.join(run_dir, "session.lock")):
            pid = holder(run_dir)
            if pid is None:
                pid, warnings = _create(run_dir)
    _join(pid)
    return warnings


def _join(pid: int) -> None:
    from minidocker.linux import libc
    try:
        cwd: str | None = os.getcwd()
    except OSError:
        cwd = None
    fds = []
    try:
        for name in ("user", "mnt"):
            fds.append(os.open(f"/proc/{pid}/ns/{name}", os.O_RDONLY | os.O_CLOEXEC))
        libc.setns(fds[0], libc.CLONE_NEWUSER, what="into the rootless session's user namespace")
        libc.setns(fds[1], libc.CLONE_NEWNS, what="into the rootless session's mount namespace")
    except OSError as e:
        raise MinidockerError(f"cannot enter the rootless session (holder pid {pid}): "
                              f"{e.strerror}") from None
    finally:
        for fd in fds:
            os.close(fd)
    userns.forget()
    if cwd is not None:
        try:
            os.chdir(cwd)  # setns(CLONE_NEWNS) moved us to the namespace's root
        except OSError:
            pass


# ---- making the session -------------------------------------------------------------------


def subid_ranges(path: str, name: str, uid: int) -> list[tuple[int, int]]:
    """[(first, count)] given to the user (by name or uid) in /etc/subuid or /etc/subgid."""
    out = []
    try:
        with open(path) as f:
            for line in f:
                parts = line.strip().split(":")
                if len(parts) != 3 or parts[0] not in (name, str(uid)):
                    continue
                try:
                    first, count = int(parts[1]), int(parts[2])
                except ValueError:
                    continue
                if count > 0:
                    out.append((first, count))
    except OSError:
        pass
    return out


def id_maps() -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int]], list[str]]:
    """The session's uid and gid maps [(inside, outside, count)], and warnings: the
    user's own id as 0, then the user's subordinate ranges from 1 on."""
    import pwd
    uid, gid = os.getuid(), os.getgid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        name = str(uid)
    maps = []
    warnings = []
    for own, path in ((uid, "/etc/subuid"), (gid, "/etc/subgid")):
        ranges = subid_ranges(path, name, uid)
        entries = [(0, own, 1)]
        nxt = 1
        for first, count in ranges:
            entries.append((nxt, first, count))
            nxt += count
        maps.append(entries)
    if len(maps[0]) == 1 or len(maps[1]) == 1:
        which = "/etc/subuid" if len(maps[0]) == 1 else "/etc/subgid"
        warnings.append(
            f"no subordinate ids for {name} in {which}: only your own id is mapped, so "
            "images with files owned by other users or groups cannot be used (add a "
            f"range: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {name}, "
            "then `minidocker system migrate`)")
        maps = [maps[0][:1], maps[1][:1]]
    elif not _have("newuidmap") or not _have("newgidmap"):
        warnings.append("newuidmap/newgidmap not found (apt-get install uidmap): only your "
                        "own id is mapped, so images with files owned by other users or "
                        "groups cannot be used")
        maps = [maps[0][:1], maps[1][:1]]
    return maps[0], maps[1], warnings


def _have(tool: str) -> bool:
    return any(os.access(os.path.join(d, tool), os.X_OK)
               for d in ("/usr/bin", "/usr/sbin", "/bin", "/sbin"))


def _create(run_dir: str) -> tuple[int, list[str]]:
    """Fork the holder: a child unshares a user namespace, we write its id maps, it
    unshares a mount and a network namespace, forks the holder (which execs a pause loop
    in a new session) and exits. Returns the holder's pid."""
    uid_map, gid_map, warnings = id_maps()
    to_parent_r, to_parent_w = os.pipe()
    to_child_r, to_child_w = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the forked process
        try:
            os.close(to_parent_r)
            os.close(to_child_w)
            _child(to_parent_w, to_child_r)
        finally:
            os._exit(1)
    os.close(to_parent_w)
    os.close(to_child_r)
    try:
        with os.fdopen(to_parent_r, "rb") as reports:
            first = reports.readline()
            if first != b"unshared\n":
                raise MinidockerError("cannot make the rootless session's user namespace: "
                                      + (first[6:].decode().strip() or "the child died"))
            try:
                _write_maps(child, uid_map, gid_map)
            except BaseException:
                os.write(to_child_w, b"x")
                raise
            os.write(to_child_w, b"m")
            os.close(to_child_w)
            to_child_w = -1
            answer = reports.read().decode()
    finally:
        if to_child_w >= 0:
            os.close(to_child_w)
        os.waitpid(child, 0)
    if not answer.startswith("ok "):
        raise MinidockerError("cannot make the rootless session: "
                              + (answer[6:].strip() or "the child died"))
    pid = int(answer.split()[1])
    start = start_time(pid)
    if start is None:
        raise MinidockerError("the rootless session's holder died at once")
    _write_atomic(os.path.join(run_dir, SESSION_FILE), f"{pid} {start}\n".encode())
    return pid, warnings


def _write_atomic(path: str, data: bytes) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.rename(tmp, path)


def _child(report: int, go: int) -> None:  # pragma: no cover - runs in the forked process
    import sys

    from minidocker.linux import libc
    try:
        libc.unshare(libc.CLONE_NEWUSER)
    except OSError as e:
        os.write(report, f"error {e.strerror}\n".encode())
        return
    os.write(report, b"unshared\n")
    if os.read(go, 1) != b"m":
        return
    try:
        libc.unshare(libc.CLONE_NEWNS | libc.CLONE_NEWNET)
        # the host's mounts still reach us; ours (overlays) never reach the host
        libc.mount(None, "/", None, libc.MS_REC | libc.MS_SLAVE, what="/ (make rslave)")
        libc.loopback_up()
        pid = os.fork()
        if pid == 0:
            # the holder keeps no capability (uid 0 gets none at exec): it needs none, and
            # a helper with fewer capabilities (pasta drops some) may then open its
            # namespaces, which ptrace's rules refuse towards a more capable process
            libc.prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED,
                       what="prctl(PR_SET_SECUREBITS)")
            os.setsid()
            os.chdir("/")
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            os.execv(sys.executable, [sys.executable, "-S", "-I", "-c", HOLDER])
    except OSError as e:
        os.write(report, f"error {e.strerror}\n".encode())
        return
    os.write(report, f"ok {pid}\n".encode())
    os._exit(0)


def _write_maps(pid: int, uid_map: list[tuple[int, int, int]],
                gid_map: list[tuple[int, int, int]]) -> None:
    if len(uid_map) == 1 and len(gid_map) == 1:
        try:
            with open(f"/proc/{pid}/setgroups", "w") as f:
                f.write("deny")
            for kind, entries in (("uid", uid_map), ("gid", gid_map)):
                with open(f"/proc/{pid}/{kind}_map", "w") as f:
                    f.write("".join(f"{a} {b} {c}\n" for a, b, c in entries))
        except OSError as e:
            raise MinidockerError(f"cannot write the session's id maps: {e.strerror}") from None
        return
    import subprocess
    for tool, entries in (("newuidmap", uid_map), ("newgidmap", gid_map)):
        args = [tool, str(pid)] + [str(n) for entry in entries for n in entry]
        proc = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
        if proc.returncode != 0:
            why = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
            raise MinidockerError(f"{tool} failed: {why}",
                                  hint="check your ranges in /etc/subuid and /etc/subgid")


def stop(run_dir: str) -> bool:
    """End the holder (`system migrate`: the next command makes a new session, with the
    id ranges /etc/subuid and /etc/subgid give now). Containers still running keep the
    namespace they were started in. False when there was no session."""
    import signal
    pid = holder(run_dir)
    if pid is None:
        return False
    os.kill(pid, signal.SIGKILL)
    try:
        os.unlink(os.path.join(run_dir, SESSION_FILE))
    except FileNotFoundError:
        pass
    return True
