"""logs (json-file, -f, --tail, -t), exec, and -it under a pseudo-terminal."""

from __future__ import annotations

import json
import subprocess

from tests.conftest import drive_pty, error_lines
from tests.integration.engine.conftest import Engine


def test_log_file_is_docker_json_file(engine: Engine) -> None:
    cid = engine.ok("run", "-d", engine.image, "sh", "-c",
                    "echo out; echo err >&2; printf 'no newline'").strip()
    engine.ok("wait", cid)
    path = engine.inspect(cid)["LogPath"]
    with open(path) as f:
        entries = [json.loads(line) for line in f]
    assert [(e["log"], e["stream"]) for e in entries] == [
        ("out\n", "stdout"), ("err\n", "stderr"), ("no newline", "stdout")]
    assert all(e["time"].endswith("Z") for e in entries)
    result = engine.run("logs", cid)
    assert result.stdout == "out\nno newline" and result.stderr == "err\n"


def test_logs_tail_and_timestamps(engine: Engine) -> None:
    cid = engine.ok("run", "-d", engine.image, "sh", "-c",
                    "for i in 1 2 3 4 5; do echo line$i; done").strip()
    engine.ok("wait", cid)
    assert engine.ok("logs", "--tail", "2", cid) == "line4\nline5\n"
    stamped = engine.ok("logs", "-t", "--tail", "1", cid)
    assert stamped.startswith("20") and stamped.endswith(" line5\n")


def test_logs_follow_a_running_container(engine: Engine) -> None:
    cid = engine.ok("run", "-d", engine.image, "sh", "-c",
                    "for i in 1 2 3; do echo tick$i; sleep 0.3; done").strip()
    proc = subprocess.Popen(engine.cmd("logs", "-f", cid), stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert first == "tick1\n"
    out, _ = proc.communicate(timeout=20)  # ends when the container does
    assert out == "tick2\ntick3\n"


def test_log_opts_rotate_the_json_file(engine: Engine) -> None:
    """--log-opt max-size/max-file: the file is rotated between entries, at most max-file
    files are kept, and `logs` reads them in order (what was rotated away is gone)."""
    cid = engine.ok("run", "-d", "--log-opt", "max-size=1k", "--log-opt", "max-file=3",
                    engine.image, "sh", "-c",
                    "i=0; while [ $i -lt 200 ]; do echo line-$i; i=$((i+1)); done").strip()
    engine.ok("wait", cid)
    log = engine.root / "containers" / cid / f"{cid}-json.log"
    kept = [log.with_name(f"{log.name}.2"), log.with_name(f"{log.name}.1"), log]
    assert all(p.exists() and 0 < p.stat().st_size <= 1024 for p in kept)
    assert not log.with_name(f"{log.name}.3").exists()
    lines = engine.ok("logs", cid).split()
    in_files = sum(len(p.read_text().splitlines()) for p in kept)
    assert lines == [f"line-{i}" for i in range(200 - in_files, 200)]
    doc = engine.inspect(cid)["HostConfig"]["LogConfig"]
    assert doc == {"Type": "json-file", "Config": {"max-size": "1k", "max-file": "3"}}


def test_logs_follow_across_rotations(engine: Engine) -> None:
    cid = engine.ok("run", "-d", "--log-opt", "max-size=1k", "--log-opt", "max-file=3",
                    engine.image, "sh", "-c", "sleep 0.3; i=0; while [ $i -lt 100 ]; "
                    "do echo line-$i; i=$((i+1)); usleep 10000; done").strip()
    out = engine.ok("logs", "-f", cid, timeout=30).split()
    assert out == [f"line-{i}" for i in range(100)]


def test_log_driver_none_and_bad_log_options(engine: Engine) -> None:
    cid = engine.ok("run", "-d", "--log-driver", "none", engine.image, "echo", "hi").strip()
    engine.ok("wait", cid)
    result = engine.run("logs", cid)
    assert result.returncode != 0 and "does not support reading" in result.stderr
    assert not (engine.root / "containers" / cid / f"{cid}-json.log").exists()
    for bad, why in ((["--log-opt", "max-file=2"], "max-file can only be used"),
                     (["--log-opt", "max-size=lots"], "invalid max-size"),
                     (["--log-opt", "color=red"], "unknown log opt"),
                     (["--log-driver", "syslog"], "unknown log driver")):
        result = engine.run("run", "--rm", *bad, engine.image, "true")
        assert result.returncode == 125 and why in result.stderr, result.stderr
        assert len(error_lines(result.stderr)) == 1


def test_exec_output_exit_code_and_flags(engine: Engine) -> None:
    cid = engine.ok("run", "-d", "-e", "A=1", engine.image, "sleep", "60").strip()
    result = engine.run("exec", "-e", "B=2", "-w", "/etc", "-u", "nobody", cid, "sh", "-c",
                        'echo "$A $B $(pwd) $(id -u)"; exit 4')
    assert (result.returncode, result.stdout) == (4, "1 2 /etc 65534\n")
    assert engine.run("exec", cid, "no-such").returncode == 127
    engine.ok("exec", "-d", cid, "sh", "-c", "echo detached > /tmp/mark")
    engine.wait_for(lambda: engine.run("exec", cid, "cat", "/tmp/mark").stdout == "detached\n")
    result = engine.run("exec", "-i", cid, "cat", input=b"piped\n")
    assert result.stdout == "piped\n"


def test_exec_in_stopped_container_fails(engine: Engine) -> None:
    cid = engine.ok("create", engine.image, "true").strip()
    result = engine.run("exec", cid, "true")
    assert result.returncode != 0 and "not running" in result.stderr


def test_run_it_under_a_pty(engine: Engine) -> None:
    out, code = drive_pty(engine.cmd("run", "-it", "--rm", engine.image, "sh"),
                       [b"tty; stty size; echo $((6*7))\r", b"exit 5\r"])
    text = out.decode(errors="replace")
    assert "/dev/pts/0" in text
    assert "30 100" in text
    assert "42" in text
    assert code == 5
    assert engine.ok("ps", "-aq") == ""


def test_exec_it_under_a_pty(engine: Engine) -> None:
    cid = engine.ok("run", "-d", engine.image, "sleep", "60").strip()
    out, code = drive_pty(engine.cmd("exec", "-it", cid, "sh"),
                       [b"tty; echo $((2*21))\r", b"exit 3\r"])
    text = out.decode(errors="replace")
    assert "/dev/pts/" in text and "42" in text
    assert code == 3
