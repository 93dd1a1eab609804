"""`run` and `create`/`start`: output, exit codes, --rm, names, flags applied in the
container, and nothing left behind by a failed run."""

from __future__ import annotations

import concurrent.futures
import glob
import os
import time
from collections.abc import Iterator

import pytest

from tests.integration.engine.conftest import Engine, mounts_under


def test_seed_form_prints_and_keeps_the_record(engine: Engine) -> None:
    out = engine.ok("run", "--name", "my-container", engine.image, "/bin/sh", "-c",
                    "echo Hello, container!")
    assert out == "Hello, container!\n"
    ps = engine.ok("ps", "--all", "--format", "{{.Names}} {{.State}}")
    assert ps == "my-container exited\n"
    assert engine.ok("ps", "--format", "{{.Names}}") == ""
    assert engine.run("remove", "my-container").returncode == 0
    assert engine.ok("ps", "-aq") == ""


@pytest.mark.parametrize("code", [0, 1, 3, 42])
def test_exit_code_is_the_containers(engine: Engine, code: int) -> None:
    result = engine.run("run", "--rm", engine.image, "sh", "-c", f"exit {code}")
    assert result.returncode == code


def test_not_found_is_127_and_leaves_nothing(engine: Engine) -> None:
    result = engine.run("run", "--rm", engine.image, "no-such-program")
    assert result.returncode == 127
    assert "no-such-program" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2
    assert engine.ok("ps", "-aq") == ""
    assert mounts_under(engine.root) == []


def test_not_executable_is_126(engine: Engine) -> None:
    result = engine.run("run", "--rm", engine.image, "/etc/passwd")
    assert result.returncode == 126


def test_engine_errors_are_125(engine: Engine) -> None:
    assert engine.run("run", "--rm", "/no/such/dir").returncode == 125
    assert engine.run("run", "--rm", "--memory", "lots", engine.image, "true").returncode == 125
    assert engine.run("run", "--no-such-flag", engine.image, "true").returncode == 125
    result = engine.run("start", "nonexistent")
    assert result.returncode != 0 and "no such container" in result.stderr


def test_exit_codes_are_dockers_clients(engine: Engine) -> None:
    """Docker's client exits 125 when run or create fails and 1 when any other command
    does (logs, port, top, rename, exec, rmi ... of nothing); a flag error is 125."""
    for args in (("run", "nosuch/image:1"), ("create", "--memory", "lots", engine.image),
                 ("container", "run", "--cpus", "99", engine.image), ("logs", "--foo", "x")):
        result = engine.run(*args)
        assert result.returncode == 125, (args, result.stderr)
    for args in (("logs", "nosuch"), ("port", "nosuch"), ("top", "nosuch"),
                 ("rename", "nosuch", "x"), ("exec", "nosuch", "true"), ("rmi", "nosuch"),
                 ("stop", "nosuch"), ("network", "create", "--subnet", "bad", "n"),
                 ("volume", "inspect", "nosuch"), ("ps", "--filter", "bad=1")):
        result = engine.run(*args)
        assert result.returncode == 1, (args, result.stderr)
        assert result.stderr.startswith("minidocker: error: ") and "Traceback" not in \
            result.stderr
    assert engine.run("run", "--rm", engine.image, "nosuchcommand").returncode == 127
    assert engine.run("run", "--rm", engine.image, "/etc").returncode == 126


def test_an_error_before_start_leaves_no_preforked_monitor(engine: Engine) -> None:
    """`run` forks the container's monitor before it makes the record; when the record
    can't be made, that process must go (it would hold the CLI's stdout open)."""
    marker = f"prefork-{os.getpid()}"
    for bad in (["/no/such/dir", "true"], ["--memory", "lots", engine.image, "true"]):
        result = engine.run("run", "--rm", "--name", marker, *bad)
        assert result.returncode == 125, result.stderr
    deadline = time.monotonic() + 5
    while True:
        left = [pid for pid in os.listdir("/proc") if pid.isdigit() and
                marker.encode() in _cmdline(pid)]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert left == []
    assert engine.container_dirs() == []


def _cmdline(pid: str) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


def test_rm_removes_record_mount_and_cgroup(engine: Engine) -> None:
    engine.ok("run", "--rm", "--name", "gone", "-m", "32m", engine.image, "true")
    assert engine.ok("ps", "-aq") == ""
    assert engine.container_dirs() == []
    assert mounts_under(engine.root) == []
    assert not [d for d in os.listdir("/sys/fs/cgroup/memory/minidocker")
                if d.startswith("gone")] if os.path.isdir(
        "/sys/fs/cgroup/memory/minidocker") else True


def test_detached_runs_after_the_cli_exits(engine: Engine) -> None:
    cid = engine.ok("run", "-d", engine.image, "sleep", "30").strip()
    assert len(cid) == 64
    assert engine.status(cid[:8]) == "running"
    engine.ok("rm", "-f", cid[:12])
    assert engine.container_dirs() == []


def test_name_conflict(engine: Engine) -> None:
    engine.ok("create", "--name", "twin", engine.image, "true")
    result = engine.run("create", "--name", "twin", engine.image, "true")
    assert result.returncode == 125
    assert "already in use" in result.stderr
    assert len(engine.container_dirs()) == 1


def test_flags_reach_the_process(engine: Engine) -> None:
    out = engine.ok("run", "--rm", "-e", "FOO=bar", "-w", "/tmp", "-u", "nobody",
                    "--hostname", "box", engine.image, "sh", "-c",
                    'echo "$FOO $(pwd) $(id -u) $(hostname) $(cat /etc/hostname)"')
    assert out.split() == ["bar", "/tmp", "65534", "box", "box"]


def test_read_only_and_tmpfs(engine: Engine) -> None:
    result = engine.run("run", "--rm", "--read-only", "--tmpfs", "/scratch", engine.image,
                        "sh", "-c", "touch /scratch/ok && touch /nope")
    assert result.returncode != 0
    assert "Read-only file system" in result.stderr


def test_docker_default_capabilities(engine: Engine) -> None:
    out = engine.ok("run", "--rm", engine.image, "grep", "CapBnd", "/proc/self/status")
    assert int(out.split()[1], 16) == 0xa80425fb  # Docker's 14 default capabilities
    out = engine.ok("run", "--rm", "--cap-drop", "ALL", "--cap-add", "CHOWN", engine.image,
                    "grep", "CapBnd", "/proc/self/status")
    assert int(out.split()[1], 16) == 1


def test_stdin_with_interactive(engine: Engine) -> None:
    result = engine.run("run", "--rm", "-i", engine.image, "sh", "-c", "tr a-z A-Z",
                        input=b"hello\n")
    assert result.stdout == "HELLO\n"


def test_create_then_start_attach(engine: Engine) -> None:
    cid = engine.ok("create", engine.image, "sh", "-c", "echo from-start; exit 7").strip()
    assert engine.status(cid) == "created"
    result = engine.run("start", "-a", cid)
    assert result.stdout == "from-start\n"
    assert result.returncode == 7
    assert engine.inspect(cid)["State"]["ExitCode"] == 7


def test_concurrent_detached_runs_get_distinct_names(engine: Engine) -> None:
    def one(_: int) -> str:
        return engine.ok("run", "-d", engine.image, "sleep", "60", timeout=120).strip()

    with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
        ids = list(pool.map(one, range(50)))
    assert len(set(ids)) == 50
    names = engine.ok("ps", "-a", "--format", "{{.Names}}").split()
    assert len(names) == 50 and len(set(names)) == 50
    assert sorted(engine.ok("ps", "-q", "--no-trunc").split()) == sorted(ids)


@pytest.fixture
def runc_parent_cgroups() -> Iterator[None]:
    """runc removes a container's own cgroup but never the /minidocker parent it made:
    remove the parents this test brought into being (when empty)."""
    before = set(glob.glob("/sys/fs/cgroup/*/minidocker"))
    yield
    for parent in set(glob.glob("/sys/fs/cgroup/*/minidocker")) - before:
        try:
            os.rmdir(parent)
        except OSError:
            pass


def test_runtime_runc(engine: Engine, runc_parent_cgroups: None) -> None:
    result = engine.run("run", "--rm", "--runtime", "runc", engine.image, "sh", "-c",
                        "echo via-runc; exit 5")
    assert (result.returncode, result.stdout) == (5, "via-runc\n")
    assert engine.run("run", "--rm", "--runtime", "runc", engine.image,
                      "nope").returncode == 127
    cid = engine.ok("run", "-d", "--runtime", "runc", engine.image, "sleep", "30").strip()
    assert engine.ok("exec", cid, "echo", "hi") == "hi\n"
    engine.ok("stop", "-t", "1", cid)
    assert engine.status(cid) == "exited"


def test_a_runtime_that_is_not_a_program_is_refused(engine: Engine) -> None:
    """--runtime naming a directory (executable to access()) is refused before anything
    is made, as an unknown name is; it was recorded, failed at start, and then `rm -f`
    failed on it with 'Permission denied' (the fault suite's flag fuzzing found it)."""
    for name in ("/proc", "/", "no-such-runtime"):
        proc = engine.run("run", "--runtime", name, "--network", "none", engine.image, "true")
        assert (proc.returncode, proc.stderr.splitlines()[0]) == (
            125, f"minidocker: error: unknown or invalid runtime name: {name}")
        assert engine.container_dirs() == []


def test_run_attach_shows_only_the_streams_asked_for(engine: Engine) -> None:
    """Docker's run -a STDOUT|STDERR: the other stream is not shown (it was accepted and
    ignored)."""
    script = "echo out; echo err >&2"
    only_out = engine.run("run", "--rm", "-a", "stdout", engine.image, "sh", "-c", script)
    assert (only_out.returncode, only_out.stdout, only_out.stderr) == (0, "out\n", "")
    only_err = engine.run("run", "--rm", "-a", "STDERR", engine.image, "sh", "-c", script)
    assert (only_err.stdout, only_err.stderr) == ("", "err\n")
    both = engine.run("run", "--rm", "-a", "stdout", "-a", "stderr", engine.image, "sh", "-c",
                      script)
    assert (both.stdout, both.stderr) == ("out\n", "err\n")
    bad = engine.run("run", "-d", "-a", "stdout", engine.image, "true")
    assert bad.returncode == 125 and "-a and -d" in bad.stderr
    bad = engine.run("run", "-a", "stdio", engine.image, "true")
    assert bad.returncode == 125 and "valid streams" in bad.stderr
    assert engine.container_dirs() == []
