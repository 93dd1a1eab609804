"""Users made by the tests, who run `minidocker` without root (docs/rootless.md).

Each user gets a private home under /tmp with its own copy of the source (the checkout
may not be readable by others), XDG_RUNTIME_DIR inside it, and runs the launcher's
Debian python3. `useradd` gives a user subordinate id ranges; `plain` users get none.
Teardown kills every process of the user and of its subordinate ids (its session holder,
slirp4netns, monitors, forwarders and containers: their namespaces and mounts go with them),
deletes the user, its ranges and its files."""

from __future__ import annotations

import io
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, tool

PYTHON = shutil.which("python3", path="/usr/bin:/bin")
LAUNCH = "import sys; sys.path.insert(0, sys.argv.pop(1)); " \
    "from minidocker.cli.main import entry; sys.argv[0] = 'minidocker'; entry()"


def _ranges(path: str, name: str) -> list[tuple[int, int]]:
    out = []
    for line in Path(path).read_text().splitlines():
        parts = line.split(":")
        if len(parts) == 3 and parts[0] == name:
            out.append((int(parts[1]), int(parts[2])))
    return out


class User:
    """A user of the test's own: `run("ps", "-a")` is `minidocker ps -a` as that user."""

    def __init__(self, name: str, home: Path, src: Path):
        entry = pwd.getpwnam(name)
        self.name, self.uid, self.gid = name, entry.pw_uid, entry.pw_gid
        self.home, self.src = home, src
        self.subuids = _ranges("/etc/subuid", name)
        self.run_dir = home / "run"
        self.root = home / ".local" / "share" / "minidocker"
        self.env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(home),
                    "XDG_RUNTIME_DIR": str(self.run_dir), "LANG": "C.UTF-8",
                    "MINIDOCKER_NETWORK_FALLBACK": "0"}

    def cmd(self, *args: str) -> list[str]:
        assert PYTHON is not None
        return [PYTHON, "-S", "-c", LAUNCH, str(self.src), *args]

    def run(self, *args: str, check: bool = False, timeout: float = 90,
            input: str | None = None, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess[str]:
        return self.exec(self.cmd(*args), check=check, timeout=timeout, input=input, env=env)

    def exec(self, argv: list[str], check: bool = False, timeout: float = 90,
             input: str | None = None, env: dict[str, str] | None = None
             ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(argv, cwd=self.home, env={**self.env, **(env or {})},
                              capture_output=True, text=True, user=self.uid, group=self.gid,
                              extra_groups=[], timeout=timeout,
                              stdin=subprocess.DEVNULL if input is None else None,
                              input=input)
        if check and proc.returncode != 0:
            raise AssertionError(f"{argv[5:]} exited {proc.returncode}:\n{proc.stderr}")
        return proc

    def ok(self, *args: str, **kw: Any) -> str:
        return self.run(*args, check=True, **kw).stdout

    def give(self, name: str, data: bytes) -> Path:
        """A file of the user's in its home, holding `data`."""
        path = self.home / name
        path.write_bytes(data)
        os.chown(path, self.uid, self.gid)
        return path

    def owned_ids(self) -> list[range]:
        return [range(self.uid, self.uid + 1)] + [range(a, a + n) for a, n in self.subuids]

    def processes(self) -> list[int]:
        """Every process of the user or of its subordinate ids."""
        ids = self.owned_ids()
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                uid = os.stat(f"/proc/{entry}").st_uid
            except OSError:
                continue
            if any(uid in r for r in ids):
                found.append(int(entry))
        return found

    def kill_all(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            pids = [p for p in self.processes() if not _zombie(p)]
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.1)
        raise AssertionError(f"processes of {self.name} survive: {self.processes()}")


def _sbin(tool: str) -> str:
    return shutil.which(tool, path="/usr/sbin:/usr/bin:/sbin:/bin") or tool


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return True
    return data[data.rindex(b")") + 2:][:1] in (b"Z", b"X")


@pytest.fixture(scope="session")
def rootless_src(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A copy of the source that every test user can read, byte-compiled."""
    if PYTHON is None:
        pytest.fail("the rootless tests need Debian's python3 (any user can execute it)")
    base = Path(tempfile.mkdtemp(prefix="mdrl-src-", dir="/tmp"))
    try:
        base.chmod(0o755)
        shutil.copytree(REPO / "src" / "minidocker", base / "minidocker",
                        ignore=shutil.ignore_patterns("__pycache__"))
        subprocess.run([PYTHON, "-m", "compileall", "-q", str(base)], check=True,
                       env={"PATH": "/usr/bin:/bin"})
        for path in [base, *base.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


class Users:
    """Makes users; removes them, their processes, ranges and files at the end."""

    def __init__(self, src: Path):
        self.src = src
        self.made: list[User] = []

    def make(self, ranges: bool = True) -> User:
        name = f"mdrl{uuid.uuid4().hex[:6]}"
        for path in ("/etc/subuid", "/etc/subgid"):
            Path(path).touch()
        home = Path(tempfile.mkdtemp(prefix=f"{name}-", dir="/tmp"))
        args = [_sbin("useradd"), "--no-create-home", "--home-dir", str(home), "--shell", "/bin/sh"]
        if not ranges:
            args += ["-K", "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0"]
        subprocess.run([*args, name], check=True, capture_output=True)
        user = User(name, home, self.src)
        self.made.append(user)
        os.chown(home, user.uid, user.gid)
        home.chmod(0o755)
        user.run_dir.mkdir(mode=0o700)  # what pam_systemd makes at login
        os.chown(user.run_dir, user.uid, user.gid)
        if ranges:
            assert user.subuids, "useradd gave no subordinate ids"
        else:
            assert not user.subuids
        return user

    def remove(self) -> None:
        errors = []
        for user in self.made:
            try:
                user.kill_all()
            except AssertionError as e:
                errors.append(str(e))
            subprocess.run([_sbin("userdel"), user.name], capture_output=True)
            for path in ("/etc/subuid", "/etc/subgid"):  # userdel may leave the range
                lines = Path(path).read_text().splitlines(keepends=True)
                Path(path).write_text("".join(x for x in lines
                                              if not x.startswith(user.name + ":")))
            shutil.rmtree(user.home, ignore_errors=True)
            if user.home.exists():
                errors.append(f"{user.home} is left")
        self.made = []
        assert not errors, errors


@pytest.fixture(scope="module")
def users(rootless_src: Path) -> Iterator[Users]:
    made = Users(rootless_src)
    try:
        yield made
    finally:
        made.remove()


@pytest.fixture(scope="module")
def busybox_tar(busybox_rootfs: Path, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The busybox rootfs as a tar with numeric owners (root's files stay 0:0)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        tf.add(str(busybox_rootfs), arcname=".", filter=_numeric)
    return buf.getvalue()


def _numeric(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uname = info.gname = ""
    return info


def with_owned_files(base: bytes) -> bytes:
    """`base` plus /owned/* belonging to several users and groups (and a setgid dir)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(base)) as src, \
            tarfile.open(fileobj=out, mode="w") as tf:
        for member in src:
            tf.addfile(member, src.extractfile(member) if member.isreg() else None)
        for path, uid, gid, mode, kind in (("owned", 0, 0, 0o755, tarfile.DIRTYPE),
                                           ("owned/www", 33, 33, 0o2775, tarfile.DIRTYPE),
                                           ("owned/www/index.html", 33, 33, 0o644,
                                            tarfile.REGTYPE),
                                           ("owned/user", 1000, 1000, 0o600, tarfile.REGTYPE),
                                           ("owned/nobody", 65534, 65534, 0o644,
                                            tarfile.REGTYPE),
                                           ("owned/mixed", 0, 42, 0o640, tarfile.REGTYPE)):
            info = tarfile.TarInfo(path)
            info.uid, info.gid, info.mode, info.type = uid, gid, mode, kind
            data = f"{path}\n".encode() if kind == tarfile.REGTYPE else b""
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data) if data else None)
    return out.getvalue()


def docker_archive(tar: bytes, ref: str, workdir: Path) -> Path:
    """A `docker save` archive of an image made from `tar` (by root's minidocker on a
    private root, removed afterwards)."""
    root = workdir / "root-store"
    layer = workdir / "layer.tar"
    layer.write_bytes(tar)
    archive = workdir / "archive.tar"
    try:
        binary = tool("minidocker")
        subprocess.run([binary, "--root", str(root), "import", str(layer), ref], check=True,
                       capture_output=True)
        subprocess.run([binary, "--root", str(root), "save", "-o", str(archive), ref],
                       check=True, capture_output=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
        layer.unlink(missing_ok=True)
    return archive


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DevOpen:
    """A device usable by every user (0666, as most distributions ship /dev/net/tun and
    /dev/fuse) for as long as the `with` block lasts; its mode is put back after."""

    def __init__(self, path: str):
        self.path = path

    def __enter__(self) -> DevOpen:
        self.mode = os.stat(self.path).st_mode & 0o7777
        os.chmod(self.path, 0o666)
        return self

    def __exit__(self, *exc: object) -> None:
        os.chmod(self.path, self.mode)


def TunOpen() -> DevOpen:  # noqa: N802 - reads as the class it makes
    return DevOpen("/dev/net/tun")
