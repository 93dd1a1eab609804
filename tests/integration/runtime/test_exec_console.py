"""exec into a running container, and terminals passed over --console-socket."""

from __future__ import annotations

import array
import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Runtime


@pytest.fixture
def running(runtime: Runtime, make_bundle) -> Iterator[str]:
    b = make_bundle(["sleep", "1000"])
    b.config["process"]["env"].append("FROM_CONFIG=1")
    b.write()
    cid = runtime.new_id()
    runtime.run("run", "-d", "-b", str(b), cid, check=True)
    yield cid
    runtime.run("delete", "--force", cid)


def test_exec_runs_in_the_container(runtime: Runtime, running: str) -> None:
    init_pid = runtime.state(running)["pid"]
    proc = runtime.run("exec", running, "sh", "-c",
                       "echo $FROM_CONFIG $EXTRA; hostname; readlink /proc/self/ns/mnt; "
                       "cat /proc/self/cgroup | head -1; pwd; id -u", "-e", "ignored")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "1"
    assert lines[1] == "minidocker"
    assert lines[2] == os.readlink(f"/proc/{init_pid}/ns/mnt")
    assert lines[3].endswith(":/")
    assert lines[4:] == ["/", "0"]


def test_exec_joins_every_cgroup_of_the_container(runtime: Runtime, running: str) -> None:
    # on v1 the exec'd process moves itself through the `tasks` fds the runtime sends;
    # seen from its cgroup namespace, the container's cgroup is "/" in each hierarchy
    init = Path(f"/proc/{runtime.state(running)['pid']}/cgroup").read_text().splitlines()
    proc = runtime.run("exec", running, "cat", "/proc/self/cgroup")
    assert proc.returncode == 0, proc.stderr
    inside = proc.stdout.splitlines()
    v1 = [line for line in inside if not line.startswith("0::")]
    assert v1 and all(line.endswith(":/") for line in v1), inside
    assert len(inside) == len(init)


def test_exec_flags(runtime: Runtime, running: str) -> None:
    proc = runtime.run("exec", "-e", "EXTRA=2", "--cwd", "/tmp", "-u", "1000:1000",
                       running, "sh", "-c", "echo $EXTRA; pwd; id -u; id -g")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["2", "/tmp", "1000", "1000"]


def test_exec_exit_code_and_missing_program(runtime: Runtime, running: str) -> None:
    assert runtime.run("exec", running, "sh", "-c", "exit 42").returncode == 42
    proc = runtime.run("exec", running, "nosuchprogram")
    assert proc.returncode == 127 and "not found" in proc.stderr


def test_exec_process_file_and_detach(runtime: Runtime, running: str, tmp_path: Path) -> None:
    process = {"args": ["sh", "-c", "echo detached > /tmp/out; sleep 100"], "cwd": "/",
               "env": ["PATH=/bin"], "user": {"uid": 0, "gid": 0}, "terminal": False}
    pfile = tmp_path / "process.json"
    pfile.write_text(json.dumps(process))
    pidfile = tmp_path / "exec.pid"
    runtime.run("exec", "--process", str(pfile), "--detach", "--pid-file", str(pidfile),
                running, check=True)
    pid = int(pidfile.read_text())
    assert pid > 0
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        out = runtime.run("exec", running, "cat", "/tmp/out").stdout
        if out:
            break
        time.sleep(0.05)
    assert out == "detached\n"
    pids = json.loads(runtime.run("ps", "--format", "json", running, check=True).stdout)
    assert pid in pids


def test_exec_in_stopped_container_fails(runtime: Runtime, make_bundle) -> None:
    b = make_bundle(["true"])
    cid = runtime.new_id()
    runtime.run("run", "-d", "-b", str(b), cid, check=True)
    deadline = time.monotonic() + 5
    while runtime.state(cid)["status"] != "stopped" and time.monotonic() < deadline:
        time.sleep(0.02)
    proc = runtime.run("exec", cid, "true")
    assert proc.returncode == 1 and "it is stopped" in proc.stderr


class ConsoleSocket:
    """A unix socket server that receives the pty master like containerd's shim does."""

    def __init__(self, path: Path):
        self.path = path
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(path))
        self.server.listen(1)
        self.master: int | None = None
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        conn, _ = self.server.accept()
        fds = array.array("i")
        _, anc, _, _ = conn.recvmsg(1024, socket.CMSG_SPACE(fds.itemsize))
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(data[:fds.itemsize])
        conn.close()
        if fds:
            self.master = fds[0]

    def read_until(self, text: bytes, timeout: float = 10) -> bytes:
        self.thread.join(timeout)
        assert self.master is not None, "no pty master received"
        out = b""
        deadline = time.monotonic() + timeout
        while text not in out and time.monotonic() < deadline:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        return out

    def close(self) -> None:
        if self.master is not None:
            os.close(self.master)
        self.server.close()


def test_terminal_over_console_socket(runtime: Runtime, make_bundle, tmp_path: Path) -> None:
    b = make_bundle(["sh", "-c", "tty; test -t 0 && echo interactive; ls -l /dev/console; "
                                 "read line; echo got-$line"])
    b.config["process"]["terminal"] = True
    b.write()
    cs = ConsoleSocket(tmp_path / "console.sock")
    cid = runtime.new_id()
    try:
        runtime.run("create", "-b", str(b), "--console-socket", str(cs.path), cid,
                    check=True)
        runtime.run("start", cid, check=True)
        out = cs.read_until(b"console")
        assert b"/dev/pts/0" in out and b"interactive" in out
        os.write(cs.master, b"hello\n")
        out = cs.read_until(b"got-hello")
        assert b"got-hello" in out
    finally:
        cs.close()


def test_terminal_without_console_socket_is_an_error(runtime: Runtime, make_bundle) -> None:
    b = make_bundle(["true"])
    b.config["process"]["terminal"] = True
    b.write()
    proc = runtime.run("create", "-b", str(b), runtime.new_id())
    assert proc.returncode == 1 and "--console-socket" in proc.stderr


def test_planted_console_symlink_is_not_followed(runtime: Runtime, make_bundle,
                                                 tmp_path: Path) -> None:
    """CVE-2025-52565: a /dev/console symlink in the image must not redirect the pty mount."""
    victim = tmp_path / "victim"
    victim.write_text("host file\n")
    b = make_bundle(["sh", "-c", "echo ok"])
    b.config["process"]["terminal"] = True
    b.config["mounts"] = [m for m in b.config["mounts"] if m["destination"] != "/dev"]
    b.write()
    (b.rootfs / "dev").mkdir(exist_ok=True)
    os.symlink(str(victim), b.rootfs / "dev" / "console")
    cs = ConsoleSocket(tmp_path / "c.sock")
    try:
        proc = runtime.run("run", "-d", "-b", str(b), "--console-socket", str(cs.path),
                           runtime.new_id())
        # either refused, or the console went somewhere inside the rootfs; never the host
        assert victim.read_text() == "host file\n"
        assert proc.returncode in (0, 1)
        with open("/proc/self/mountinfo") as f:
            assert str(victim) not in f.read()
    finally:
        cs.close()


def test_run_with_terminal_proxies_io(runtime: Runtime, make_bundle) -> None:
    """`run` in the foreground with terminal: true gives the container a pty of its own."""
    b = make_bundle(["sh", "-c", "test -t 1 && echo on-a-tty; exit 5"])
    b.config["process"]["terminal"] = True
    b.write()
    proc = subprocess.run(runtime.cmd("run", "-b", str(b), runtime.new_id()),
                          capture_output=True, stdin=subprocess.DEVNULL, timeout=30)
    assert proc.returncode == 5, proc.stderr
    assert b"on-a-tty" in proc.stdout


def test_exec_tty_in_the_foreground(runtime: Runtime, running: str) -> None:
    """exec -t without --console-socket: the runtime gives the process a pty of the
    container's devpts and proxies it to its own terminal (here a pty the test drives)."""
    import pty
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(runtime.binary, [runtime.binary, "--root", str(runtime.root), "exec", "-t",
                                  running, "sh", "-c", "tty; echo done"])
    out = b""
    deadline = time.monotonic() + 15
    try:
        while b"done" not in out and time.monotonic() < deadline:
            try:
                chunk = os.read(fd, 1024)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0
    assert b"/dev/pts/" in out and b"done" in out
