"""attach, top, stats --no-stream, logs --since, and -d --rm."""

from __future__ import annotations

import subprocess
import time

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
