"""seccomp in the real kernel: for each action, a child process loads a filter and makes the
call; the test observes what the kernel did (errno, signal, audit log, notification)."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHILD = Path(__file__).with_name("seccomp_child.py")
SIGSYS = signal.SIGSYS


def child(profile: dict[str, Any], call: str, args: list[int] | None = None,
          **extra: Any) -> subprocess.CompletedProcess[str]:
    request = {"profile": profile, "call": call, "args": args or [], **extra}
    return subprocess.run([sys.executable, str(CHILD), json.dumps(request)],
                          capture_output=True, text=True, timeout=60)


def result(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert proc.returncode == 0, f"child failed ({proc.returncode}): {proc.stderr}"
    return json.loads(proc.stdout)


def allow_but(rule: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [rule], **fields}


def test_errno_action_fails_the_call_with_eperm_by_default() -> None:
    out = result(child(allow_but({"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}), "mkdir"))
    assert out == {"ret": -1, "errno": errno.EPERM, "trapped": False}


def test_errno_action_with_errno_ret(tmp_path: Path) -> None:
    target = tmp_path / "never"
    rule = {"names": ["mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EXDEV}
    out = result(child(allow_but(rule), "mkdirat", [-100, 0]))
    assert out["errno"] == errno.EXDEV
    assert not target.exists()


def test_unfiltered_calls_still_work() -> None:
    out = result(child(allow_but({"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}), "getppid"))
    assert out["ret"] == os.getpid()


@pytest.mark.parametrize("action", ["SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD",
                                    "SCMP_ACT_KILL_PROCESS"])
def test_kill_actions_end_the_process_with_sigsys(action: str) -> None:
    proc = child(allow_but({"names": ["getppid"], "action": action}), "getppid", trap=True)
    assert proc.returncode == -SIGSYS, proc.stderr
    assert proc.stdout == ""


def test_trap_delivers_sigsys_to_the_process() -> None:
    out = result(child(allow_but({"names": ["getppid"], "action": "SCMP_ACT_TRAP"}), "getppid",
                       trap=True))
    assert out["trapped"] is True
    untrapped = child(allow_but({"names": ["getppid"], "action": "SCMP_ACT_TRAP"}), "getppid")
    assert untrapped.returncode == -SIGSYS


def test_trace_without_a_tracer_fails_with_enosys() -> None:
    out = result(child(allow_but({"names": ["getppid"], "action": "SCMP_ACT_TRACE"}),
                       "getppid"))
    assert out["ret"] == -1 and out["errno"] == errno.ENOSYS


@contextlib.contextmanager
def kernel_log() -> Iterator[list[str]]:
    """Records written to /dev/kmsg while the block runs."""
    lines: list[str] = []
    fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
    try:
        os.lseek(fd, 0, os.SEEK_END)
        yield lines
        deadline = 50
        while deadline:
            try:
                lines.append(os.read(fd, 8192).decode(errors="replace"))
            except BlockingIOError:
                if any("type=1326" in line for line in lines):
                    break
                deadline -= 1
                select.select([], [], [], 0.02)
            except OSError as exc:
                if exc.errno != errno.EPIPE:  # records overwritten while reading
                    raise
    finally:
        os.close(fd)


def test_log_action_allows_the_call_and_logs_it() -> None:
    logged = Path("/proc/sys/kernel/seccomp/actions_logged").read_text().split()
    if "log" not in logged:
        pytest.skip("kernel.seccomp.actions_logged does not include log on this host")
    with kernel_log() as lines:
        proc = child(allow_but({"names": ["getppid"], "action": "SCMP_ACT_LOG"}), "getppid")
    out = result(proc)
    assert out["ret"] == os.getpid()  # the call ran
    nr = 110 if os.uname().machine == "x86_64" else 173
    records = [line for line in lines if "type=1326" in line and f"syscall={nr} " in line
               and "code=0x7ffc0000" in line]
    assert records, "no seccomp audit record for the logged call:\n" + "".join(lines[-5:])


def test_argument_condition_allows_one_value_and_denies_another() -> None:
    rule = {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EACCES,
            "args": [{"index": 0, "value": 0xFFFFFFFF, "op": "SCMP_CMP_NE"}]}
    query = result(child(allow_but(rule), "personality", [0xFFFFFFFF]))
    assert query["ret"] >= 0  # the current persona
    change = result(child(allow_but(rule), "personality", [0x0040000]))
    assert change == {"ret": -1, "errno": errno.EACCES, "trapped": False}


def docker_profile(**changes: Any) -> dict[str, Any]:
    from minidocker.runtime import defaults

    profile = defaults.docker_seccomp_profile(defaults.DOCKER_CAPABILITIES)
    profile.update(changes)
    return profile


def test_default_action_with_default_errno_ret() -> None:
    # Docker's allow list keeps Python alive; what it does not list gets the default
    profile = docker_profile(defaultErrnoRet=errno.ENOTBLK)
    assert result(child(profile, "mount", [0, 0, 0, 0, 0]))["errno"] == errno.ENOTBLK
    assert result(child(profile, "getppid"))["ret"] == os.getpid()


def test_docker_profile_in_a_real_process() -> None:
    profile = docker_profile()
    assert result(child(profile, "getppid"))["ret"] == os.getpid()
    assert result(child(profile, "unshare", [0x10000000]))["errno"] == errno.EPERM
    assert result(child(profile, "mount", [0, 0, 0, 0, 0]))["errno"] == errno.EPERM
    # clone3 answers ENOSYS so that libc falls back to clone, which the profile checks
    assert result(child(profile, "clone3", [0, 0]))["errno"] == errno.ENOSYS
    # a call newer than every call the profile names: ENOSYS, not EPERM (runc's rule)
    assert result(child(profile, "", nr=1000))["errno"] == errno.ENOSYS


# ---- NOTIFY: the listener fd goes to an agent, which answers --------------------------------

NOTIF_RECV = 0xC0502100  # _IOWR('!', 0, struct seccomp_notif)
NOTIF_SEND = 0xC0182101  # _IOWR('!', 1, struct seccomp_notif_resp)


class Agent(threading.Thread):
    """A seccomp agent on a unix socket: receives the state and the fd, answers one call."""

    def __init__(self, path: Path, answer: int):
        super().__init__(daemon=True)
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(path))
        self.server.listen(1)
        self.server.settimeout(30)
        self.answer = answer
        self.message: dict[str, Any] = {}
        self.nr = -1
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            conn, _ = self.server.accept()
            with conn:
                data, ancdata, _, _ = conn.recvmsg(65536, socket.CMSG_SPACE(4))
                while True:
                    more = conn.recv(65536)
                    if not more:
                        break
                    data += more
            self.message = json.loads(data)
            (level, kind, fd_bytes), = ancdata
            assert (level, kind) == (socket.SOL_SOCKET, socket.SCM_RIGHTS)
            listener = struct.unpack("i", fd_bytes[:4])[0]
            try:
                self.handle(listener)
            finally:
                os.close(listener)
        except BaseException as exc:  # reported by the test
            self.error = exc
        finally:
            self.server.close()

    def stop(self) -> None:
        """Wake a pending accept (the runtime failed before connecting) and wait."""
        if self.is_alive():
            with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as poke:
                poke.connect(self.server.getsockname())
        self.join(10)

    def handle(self, listener: int) -> None:
        poller = select.poll()
        poller.register(listener, select.POLLIN)
        assert poller.poll(30_000), "no notification arrived"
        notif = bytearray(80)
        fcntl.ioctl(listener, NOTIF_RECV, notif, True)
        notif_id = struct.unpack_from("Q", notif, 0)[0]
        self.nr = struct.unpack_from("i", notif, 16)[0]
        response = struct.pack("QqiI", notif_id, self.answer, 0, 0)
        fcntl.ioctl(listener, NOTIF_SEND, bytearray(response), True)


def test_notify_sends_the_listener_to_the_agent_which_answers(tmp_path: Path) -> None:
    sock = tmp_path / "agent.sock"
    agent = Agent(sock, answer=4242)
    agent.start()
    profile = allow_but({"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"},
                        listenerPath=str(sock), listenerMetadata="MKNOD=/dev/null")
    state = {"ociVersion": "1.2.0", "id": "c1", "status": "creating", "pid": 0,
             "bundle": "/b", "annotations": {"k": "v"}}
    proc = child(profile, "getppid", listener={"state": state})
    agent.join(30)
    assert agent.error is None, repr(agent.error)
    out = result(proc)
    assert out["ret"] == 4242  # the agent's answer, not the real parent pid
    nr = 110 if os.uname().machine == "x86_64" else 173
    assert agent.nr == nr
    message = agent.message
    assert message["fds"] == ["seccompFd"]
    assert message["metadata"] == "MKNOD=/dev/null"
    assert message["state"] == state
    assert message["ociVersion"] == "1.2.0"


def test_notify_with_no_agent_listening_is_a_clear_error(tmp_path: Path) -> None:
    profile = allow_but({"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"},
                        listenerPath=str(tmp_path / "nobody.sock"))
    proc = child(profile, "getppid", listener={"state": {"pid": 1}})
    assert proc.returncode != 0
    assert "seccomp listener" in proc.stderr and "nobody.sock" in proc.stderr
