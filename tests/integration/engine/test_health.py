"""Healthchecks (--health-*): the monitor runs the test in the container every interval
and records State.Health as Docker does; ps shows it in STATUS."""

from __future__ import annotations

import time

from tests.conftest import error_lines
from tests.integration.engine.conftest import Engine

FAST = ["--health-interval", "0.2s"]


def _health(engine: Engine, cid: str) -> dict:
    return engine.inspect(cid)["State"].get("Health") or {}


def test_starting_then_healthy_with_a_log(engine: Engine) -> None:
    cid = engine.ok("run", "-d", "--health-cmd", "cat /tmp/ok", *FAST,
                    "--health-retries", "100", engine.image, "sh", "-c",
                    "sleep 0.6; echo fine > /tmp/ok; sleep 60").strip()
    assert _health(engine, cid)["Status"] == "starting"
    assert "(health: starting)" in engine.ok("ps", "--format", "{{.Status}}")
    engine.wait_for(lambda: _health(engine, cid)["Status"] == "healthy", timeout=20)
    health = _health(engine, cid)
    assert health["FailingStreak"] == 0
    log = health["Log"]
    assert 1 <= len(log) <= 5 and log[-1]["ExitCode"] == 0 and log[-1]["Output"] == "fine\n"
    assert {"Start", "End"} <= set(log[-1])
    assert "(healthy)" in engine.ok("ps", "--format", "{{.Status}}")
    assert engine.inspect(cid)["Config"]["Healthcheck"]["Test"] == ["CMD-SHELL", "cat /tmp/ok"]


def test_failing_checks_make_it_unhealthy_after_the_retries(engine: Engine) -> None:
    cid = engine.ok("run", "-d", "--health-cmd", "echo sick; exit 3", *FAST,
                    "--health-retries", "2", engine.image, "sleep", "60").strip()
    engine.wait_for(lambda: _health(engine, cid)["Status"] == "unhealthy", timeout=20)
    health = _health(engine, cid)
    assert health["FailingStreak"] >= 2
    assert health["Log"][-1]["ExitCode"] == 3 and health["Log"][-1]["Output"] == "sick\n"
    assert "(unhealthy)" in engine.ok("ps", "--format", "{{.Status}}")


def test_a_check_past_its_timeout_is_killed_and_fails(engine: Engine) -> None:
    cid = engine.ok("run", "-d", "--health-cmd", "sleep 30", *FAST, "--health-timeout",
                    "0.3s", "--health-retries", "1", engine.image, "sleep", "60").strip()
    engine.wait_for(lambda: _health(engine, cid)["Status"] == "unhealthy", timeout=20)
    entry = _health(engine, cid)["Log"][-1]
    assert entry["ExitCode"] == -1 and "exceeded timeout" in entry["Output"]


def test_failures_in_the_start_period_do_not_count(engine: Engine) -> None:
    cid = engine.ok("run", "-d", "--health-cmd", "false", *FAST, "--health-retries", "1",
                    "--health-start-period", "1.5s", engine.image, "sleep", "60").strip()
    time.sleep(1)
    health = _health(engine, cid)
    assert health["Status"] == "starting" and health["Log"], health  # checked, not counted
    engine.wait_for(lambda: _health(engine, cid)["Status"] == "unhealthy", timeout=20)


def test_no_healthcheck_and_bad_flags(engine: Engine) -> None:
    cid = engine.ok("run", "-d", "--no-healthcheck", engine.image, "sleep", "60").strip()
    assert "Health" not in engine.inspect(cid)["State"]
    assert "(" not in engine.ok("ps", "--format", "{{.Status}}")
    for bad, why in ((["--health-cmd", "true", "--health-interval", "soon"], "invalid"),
                     (["--health-cmd", "true", "--health-interval", "0.5us"], "less than"),
                     (["--health-cmd", "true", "--no-healthcheck"], "conflicts")):
        result = engine.run("run", "--rm", *bad, engine.image, "true")
        assert result.returncode == 125 and why in result.stderr, result.stderr
        assert len(error_lines(result.stderr)) == 1


def test_a_check_starts_with_default_signals_whatever_started_the_container(
        engine: Engine) -> None:
    """The monitor may hold what the command that started it was given (a background
    script ignores SIGINT and SIGQUIT, a caller may block signals): the check's own
    process starts with every signal at its default and none blocked."""
    import os
    import sys

    from tests.conftest import run_captured
    caller = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
              "signal.signal(signal.SIGQUIT, signal.SIG_IGN); "
              "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGUSR1}); "
              "os.execv(sys.argv[1], sys.argv[1:])")
    cid = run_captured([sys.executable, "-c", caller, *engine.cmd(
        "run", "-d", "--health-cmd", "sleep 3", *FAST, engine.image, "sleep", "60")],
        check=True).stdout.strip()

    def check_process() -> int:
        for pid in os.listdir("/proc"):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if cid.encode() in argv and b"sleep 3" in b" ".join(argv) and \
                    str(engine.root).encode() in argv:
                return int(pid)
        return 0

    engine.wait_for(lambda: check_process() != 0, timeout=20)
    with open(f"/proc/{check_process()}/status") as f:
        masks = {line.split(":")[0]: int(line.split()[1], 16) for line in f
                 if line.startswith(("SigIgn", "SigBlk"))}
    assert masks["SigBlk"] == 0, masks
    assert not masks["SigIgn"] & ((1 << 1) | (1 << 2)), masks  # SIGINT, SIGQUIT
    engine.ok("rm", "-f", cid)
