"""attach, top, stats --no-stream, logs --since, and -d --rm."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from tests.integration.engine.conftest import Engine


def test_attach_sees_new_output_and_the_exit_code(engine: Engine) -> None:
    cid = engine.ok("run", "-d", engine.image, "sh", "-c",
                    "sleep 1; echo late; exit 4").strip()
    result = engine.run("attach", cid, timeout=20)
    assert (result.returncode, result.stdout) == (4, "late\n")
    assert engine.run("attach", cid).returncode != 0  # stopped: cannot attach


def test_attach_with_stdin(engine: Engine) -> None:
    cid = engine.ok("run", "-d", "-i", engine.image, "sh", "-c", "read x; echo got-$x").strip()
    result = engine.run("attach", cid, input=b"hi\n", timeout=20)
    assert result.stdout == "got-hi\n"


def test_top_lists_the_container_processes(engine: Engine) -> None:
    cid = engine.ok("run", "-d", engine.image, "sh", "-c", "sleep 61 & sleep 62").strip()
    engine.wait_for(lambda: "sleep 61" in engine.ok("top", cid))
    out = engine.ok("top", cid)
    assert out.splitlines()[0].split()[:2] == ["UID", "PID"]
    assert "sleep 62" in out and "sleep 61" in out
    assert "pytest" not in out


def test_stats_no_stream(engine: Engine) -> None:
    cid = engine.ok("run", "-d", "-m", "64m", "--name", "st", engine.image,
                    "sleep", "60").strip()
    out = engine.ok("stats", "--no-stream", cid)
    header, row = out.splitlines()
    assert header.split()[:3] == ["CONTAINER", "ID", "NAME"]
    assert row.startswith(cid[:12]) and " st " in row and "64MiB" in row
    fmt = engine.ok("stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", "st")
    assert fmt == "st 1\n"
    assert "NET I/O" in header


def test_stats_network_io(engine: Engine) -> None:
    # traffic on the test's own bridge: a ping of its gateway (made by this test's network)
    busy = engine.ok("run", "-d", engine.image, "sh", "-c",
                     "ping -c 3 -W 1 $(ip route | awk '/default/ {print $3}'); "
                     "sleep 60").strip()
    quiet = engine.ok("run", "-d", "--network", "none", engine.image, "sleep", "60").strip()
    engine.wait_for(lambda: engine.ok("stats", "--no-stream", "--format", "{{.NetIO}}",
                                      busy).strip() != "0B / 0B")
    rx, tx = engine.ok("stats", "--no-stream", "--format", "{{.NetIO}}", busy).split(" / ")
    assert rx != "0B" and tx != "0B"
    assert engine.ok("stats", "--no-stream", "--format", "{{.NetIO}}", quiet) == "0B / 0B\n"


def test_logs_since(engine: Engine) -> None:
    cid = engine.ok("run", "-d", engine.image, "sh", "-c",
                    "echo early; sleep 1.5; echo late").strip()
    engine.ok("wait", cid)
    assert engine.ok("logs", "--since", "1s", cid) == "late\n"
    assert engine.ok("logs", "--since", "1h", cid) == "early\nlate\n"


def test_detached_rm_removes_itself(engine: Engine) -> None:
    cid = engine.ok("run", "-d", "--rm", engine.image, "sleep", "0.3").strip()
    engine.wait_for(lambda: cid not in engine.ok("ps", "-aq", "--no-trunc"))
    assert engine.container_dirs() == []


def test_wait_on_several(engine: Engine) -> None:
    a = engine.ok("run", "-d", engine.image, "sh", "-c", "exit 1").strip()
    b = engine.ok("run", "-d", engine.image, "sh", "-c", "sleep 0.5; exit 2").strip()
    start = time.monotonic()
    out = subprocess.run(engine.cmd("wait", a, b), capture_output=True, text=True,
                         timeout=20).stdout
    assert out.split() == ["1", "2"]
    assert time.monotonic() - start < 10


def test_detach_keys_leave_the_container_running(engine: Engine, tmp_path: Path) -> None:
    """Docker's Ctrl-P Ctrl-Q detaches run -it, attach and start -ai (exit 0, "read
    escape sequence", the container goes on); --detach-keys and config.json's detachKeys
    choose others; a key of the sequence followed by another key reaches the container;
    a malformed sequence is refused before anything is created."""
    from tests.conftest import drive_pty
    out, code = drive_pty(engine.cmd("run", "-it", "--name", "box", engine.image, "sh"),
                          [b"echo one-$((1+1))\r", b"\x10\x11"])
    assert code == 0 and b"one-2" in out and b"read escape sequence" in out, out
    assert engine.status("box") == "running"
    # attach shows nothing until typed to: drive_pty waits for output half its timeout
    out, code = drive_pty(engine.cmd("attach", "--detach-keys", "z,q", "box"),
                          [b"\r", b"echo az-z1\r", b"zq"], timeout=12)
    assert code == 0 and b"az-z1" in out and b"read escape sequence" in out, out
    assert engine.status("box") == "running"
    engine.ok("stop", "-t", "1", "box")
    config = tmp_path / "docker"
    config.mkdir()
    (config / "config.json").write_text('{"detachKeys": "ctrl-a,d"}')
    out, code = drive_pty(engine.cmd("--config", str(config), "start", "-ai", "box"),
                          [b"\r", b"echo three-$((1+2))\r", b"\x01d"])
    assert code == 0 and b"three-3" in out and b"read escape sequence" in out, out
    assert engine.status("box") == "running"
    out, code = drive_pty(engine.cmd("attach", "box"), [b"\r", b"exit 7\r"], timeout=12)
    assert code == 7, out
    before = engine.ok("ps", "-aq")
    for args, code in ((("run", "--detach-keys", "ctrl-1", engine.image), 125),
                       (("run", "--detach-keys", "ab", engine.image), 125),
                       (("start", "--detach-keys", "", "box"), 1)):
        result = engine.run(*args, "true")
        assert result.returncode == code and "Invalid detach keys" in result.stderr, \
            result.stderr
    assert engine.ok("ps", "-aq") == before
