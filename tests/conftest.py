"""Fixtures shared by every test: a busybox rootfs, OCI bundles, and a private runtime root."""

from __future__ import annotations

import copy
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """Path of a console script of the project (installed in the same venv as pytest)."""
    path = BIN / name
    return str(path) if path.exists() else name


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="integration tests need root")
    for item in items:
        if "integration" in item.path.parts:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def busybox_rootfs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A busybox rootfs built from the host's busybox-static (read it, copy to change it)."""
    dest = tmp_path_factory.mktemp("image") / "busybox"
    subprocess.run([str(REPO / "scripts" / "build-busybox-rootfs"), str(dest)], check=True)
    return dest


def test_spec(args: list[str]) -> dict[str, Any]:
    from minidocker.runtime.spec import default_spec

    spec = default_spec()
    spec["process"]["terminal"] = False
    spec["process"]["args"] = args
    spec["root"]["readonly"] = False
    return spec


class Bundle:
    """An OCI bundle in a temporary directory: `config` is written by `write()`."""

    def __init__(self, path: Path, config: dict[str, Any]):
        self.path = path
        self.config = config
        self.rootfs = path / "rootfs"

    def write(self) -> Bundle:
        (self.path / "config.json").write_text(json.dumps(self.config, indent=2))
        return self

    def __str__(self) -> str:
        return str(self.path)


@pytest.fixture
def make_bundle(busybox_rootfs: Path, tmp_path: Path) -> Callable[..., Bundle]:
    """make_bundle(args=[...]) -> Bundle with a private copy of the busybox rootfs."""
    counter = iter(range(1000))

    def make(args: list[str] | None = None, **changes: Any) -> Bundle:
        path = tmp_path / f"bundle{next(counter)}"
        path.mkdir()
        subprocess.run(["cp", "-a", str(busybox_rootfs), str(path / "rootfs")], check=True)
        config = test_spec(args or ["true"])
        for key, value in changes.items():
            config[key] = copy.deepcopy(value)
        return Bundle(path, config).write()

    return make


def at_a_terminal() -> None:
    """preexec_fn for a command a test interrupts as a user's Ctrl-C would: SIGINT and
    SIGQUIT at their defaults, as a terminal's foreground job has them, even when the
    tests run from a script in the background (which ignores both, and its children
    inherit that: the command would rightly not be interrupted)."""
    import signal
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)


def run_captured(cmd: list[str], *, check: bool = False, timeout: float = 60,
                 **kw: Any) -> subprocess.CompletedProcess[str]:
    """Run a command with its output captured through files, not pipes: a container
    started by it (`create`, `run -d`) keeps its stdio open long after it exits."""
    if "input" not in kw:
        kw.setdefault("stdin", subprocess.DEVNULL)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.run(cmd, stdout=out, stderr=err, timeout=timeout, **kw)
        out.seek(0)
        err.seek(0)
        result = subprocess.CompletedProcess(proc.args, proc.returncode,
                                             out.read().decode(errors="replace"),
                                             err.read().decode(errors="replace"))
    if check and result.returncode != 0:
        raise AssertionError(f"{shlex.join(cmd)} failed ({result.returncode}): {result.stderr}")
    return result


class Runtime:
    """Runs minidocker-runtime (or another OCI runtime) with a private --root."""

    def __init__(self, binary: str, root: Path):
        self.binary = binary
        self.root = root
        self.ids: list[str] = []

    def new_id(self) -> str:
        cid = "t" + uuid.uuid4().hex[:12]
        self.ids.append(cid)
        return cid

    def cmd(self, *args: str) -> list[str]:
        return [self.binary, "--root", str(self.root), *args]

    def run(self, *args: str, check: bool = False, timeout: float = 60,
            **kw: Any) -> subprocess.CompletedProcess[str]:
        return run_captured(self.cmd(*args), check=check, timeout=timeout, **kw)

    def state(self, cid: str) -> dict[str, Any]:
        return json.loads(self.run("state", cid, check=True).stdout)

    def cleanup(self) -> None:
        if not self.root.exists():
            return
        for cid in os.listdir(self.root):
            self.run("delete", "--force", cid)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    rt = Runtime(tool("minidocker-runtime"), tmp_path / "state")
    try:
        yield rt
    finally:
        rt.cleanup()


def drive_pty(argv: list[str], lines: list[bytes], rows_cols: tuple[int, int] = (30, 100),
              env: dict[str, str] | None = None, pause: float = 0.5,
              timeout: float = 60) -> tuple[bytes, int]:
    """Run `argv` on a pseudo-terminal of `rows_cols`, typing `lines` one by one, each
    once the program has written and gone quiet for `pause` seconds; what it wrote and
    its exit code. Killed after `timeout` seconds."""
    import fcntl
    import pty
    import select
    import signal
    import struct
    import termios
    import time
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child execs
        try:
            if env is None:
                os.execv(argv[0], argv)
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows_cols[0], rows_cols[1], 0, 0))
    out = b""
    closed = False

    def read_for(seconds: float) -> None:
        nonlocal out, closed
        end = time.monotonic() + seconds
        while time.monotonic() < end and not closed:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                try:
                    data = os.read(fd, 4096)
                except OSError:  # EIO: the program and its children are gone
                    data = b""
                closed = not data
                out += data

    def settle() -> None:
        """Until it has written something and then been quiet for `pause` seconds (a
        loaded machine may take long to show a prompt: typing before it loses input)."""
        nonlocal out
        end = time.monotonic() + timeout / 2
        seen = len(out)
        while len(out) == seen and time.monotonic() < end and not closed:
            read_for(0.1)
        while time.monotonic() < end and not closed:
            before = len(out)
            read_for(pause)
            if len(out) == before:
                return

    settle()
    for line in lines:
        os.write(fd, line)
        settle()
    deadline = time.monotonic() + timeout
    while True:
        got, status = os.waitpid(pid, os.WNOHANG)
        if got:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(fd)
            raise AssertionError(f"{argv} did not end: {out!r}")
        read_for(0.1)
    read_for(0.2)
    os.close(fd)
    return out, os.waitstatus_to_exitcode(status)


def error_lines(stderr: str) -> list[str]:
    """The lines of a `minidocker` error, without the hint Docker adds to a usage error
    ("See 'minidocker run --help'.")."""
    return [line for line in stderr.strip().splitlines()
            if not (line.startswith("See 'minidocker") and line.endswith("--help'."))]
