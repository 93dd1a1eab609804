"""`run` and `exec` in the foreground: wait for the process, forward signals, proxy a tty.

We become a child subreaper, so the container's init (whose parent, stage 1, exits at
once) is reparented to us and can be waited for; its exit status becomes ours.
"""

from __future__ import annotations

import _signal as signal  # the signal module's IntEnums import enum: 3 ms
import os

import minidocker
from minidocker import jsonfast as json
from minidocker.errors import MinidockerError, UsageError
from minidocker.linux import libc
from minidocker.runtime.create import CreateOptions, create

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

FORWARDED = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
             signal.SIGUSR2, signal.SIGWINCH, signal.SIGCONT, signal.SIGTSTP]


def run(root: str, cid: str, opts: CreateOptions, *, detach: bool, keep: bool) -> int:
    from minidocker.runtime import operations
    if not detach:
        libc.prctl(libc.PR_SET_CHILD_SUBREAPER, 1, what="prctl(PR_SET_CHILD_SUBREAPER)")
    ours = theirs = None
    if not detach and not opts.console_socket and _wants_terminal(opts.bundle):
        import socket
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        opts.console_pair = theirs
    opts.while_waiting = _load_what_start_needs
    try:
        container = create(root, cid, opts)
    finally:
        if theirs is not None:
            theirs.close()
    try:
        master = _take_terminal(ours)
        operations.start(container)
        if detach:
            return 0
        code = _wait_and_forward(container.state.pid, master)
        if minidocker.TRACE:
            minidocker.TRACE.step("process", "container exited", exit_code=code)
        return code
    finally:
        if not detach and not keep:
            try:
                operations.delete(container, force=True)
            except MinidockerError:
                pass


def _load_what_start_needs() -> None:
    """`start` waits for the init's byte with select.poll: loading the extension takes
    ~0.4 ms, done while the init finishes its setup instead of after."""
    import select  # noqa: F401


def _wants_terminal(bundle: str) -> bool:
    try:
        with open(os.path.join(bundle, "config.json")) as f:
            return bool((json.loads(f.read()).get("process") or {}).get("terminal"))
    except (OSError, ValueError, AttributeError):
        return False


def _wait_and_forward(pid: int, master: int | None) -> int:
    """Wait for `pid` (our child through the subreaper), forwarding signals to it."""

    def forward(signum: int, _frame: Any) -> None:
        if signum == signal.SIGWINCH:
            if master is not None:
                from minidocker.runtime import console
                console.copy_window_size(0, master)
            return
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    old = {s: signal.signal(s, forward) for s in FORWARDED}
    try:
        if master is not None:
            import threading

            from minidocker.runtime import console
            done_r, done_w = os.pipe2(os.O_CLOEXEC)
            proxy = threading.Thread(target=console.proxy, args=(master, done_r), daemon=True)
            try:
                with console.RawTerminal(0):
                    proxy.start()
                    status = _reap(pid)
                    os.write(done_w, b"x")
                    proxy.join(2)
            finally:
                os.close(done_r)
                os.close(done_w)
        else:
            status = _reap(pid)
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else \
        128 + os.WTERMSIG(status)


wait_and_forward = _wait_and_forward  # public: the engine's foreground exec uses it


def _reap(pid: int) -> int:
    """Reap every child until `pid` exits (signal handlers run in between); its status."""
    while True:
        try:
            got, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return 0
        if got == pid:
            return status


def exec_command(root: str, cid: str, args: list[str], flags: dict[str, Any]) -> int:
    from minidocker.runtime import operations
    from minidocker.runtime.exec import exec_process, process_from_args
    from minidocker.runtime.flags import last
    container = operations.load(root, cid)
    process_file = last(flags, "process")
    if process_file:
        try:
            with open(process_file) as f:
                proc = json.loads(f.read())
        except OSError as e:
            raise MinidockerError(f"--process {process_file}: {e.strerror}")
        except ValueError as e:
            raise MinidockerError(f"--process {process_file}: not valid JSON: {e}")
        if not isinstance(proc, dict):
            raise MinidockerError(f"--process {process_file}: must be a JSON object")
    else:
        if not args:
            raise UsageError("exec needs a command (or --process FILE)")
        proc = process_from_args(container.state.config, args,
                                 env=flags.get("env") or [], cwd=last(flags, "cwd"),
                                 user=last(flags, "user"), caps=flags.get("cap") or [],
                                 tty=bool(flags.get("tty")),
                                 no_new_privs=True if flags.get("no-new-privs") else None,
                                 apparmor=last(flags, "apparmor"),
                                 process_label=last(flags, "process-label"),
                                 additional_gids=flags.get("additional-gids"))
    if last(flags, "cgroup"):
        raise UsageError("exec --cgroup (a sub-cgroup) is not supported by this runtime")
    detach = bool(flags.get("detach"))
    console_socket = last(flags, "console-socket")
    ours = theirs = None
    if proc.get("terminal") and not console_socket:
        if detach:
            raise UsageError("exec --detach with a terminal needs --console-socket")
        import socket
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    from minidocker.runtime.flags import int_flag
    preserve = int_flag(flags, "preserve-fds")
    if not detach:
        libc.prctl(libc.PR_SET_CHILD_SUBREAPER, 1, what="prctl(PR_SET_CHILD_SUBREAPER)")
    try:
        pid = exec_process(container, proc, console_socket=console_socket,
                           console_pair=theirs, preserve_fds=preserve)
    finally:
        if theirs is not None:
            theirs.close()
    pid_file = last(flags, "pid-file")
    if pid_file:
        from minidocker.runtime.state import write_atomic
        write_atomic(os.path.abspath(pid_file), str(pid).encode(), 0o644,
                     durable=False)
    if detach:
        return 0
    return _wait_and_forward(pid, _take_terminal(ours))


def _take_terminal(ours: Any) -> int | None:
    """The pty master the container sent over our end of the console socketpair, sized
    like our own terminal; None when the container has no terminal."""
    if ours is None:
        return None
    from minidocker.runtime import console
    master = console.receive_master(ours)
    ours.close()
    if os.isatty(0):
        console.copy_window_size(0, master)
    return master

