"""Callers with odd signal settings: a script in the background (SIGINT and SIGQUIT
ignored), a shell that ignores SIGPIPE, a process that blocks signals. Whatever the
caller's settings, a container's processes (run, exec, health checks) start with every
signal at its default action and an empty mask, and the commands still work."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

from tests.conftest import run_captured
from tests.faults.harness import IMAGE, TRIALS, FaultRoot

# what each caller does before it execs minidocker; "clean" is the baseline: a shell in
# the container may ignore signals of its own (busybox sh ignores SIGQUIT), so what the
# others give must equal what a caller with every signal at its default gives
CALLERS = {
    "clean": "[signal.signal(s, signal.SIG_DFL) for s in signal.valid_signals() "
             "if s not in (signal.SIGKILL, signal.SIGSTOP)]; "
             "signal.pthread_sigmask(signal.SIG_SETMASK, ())",
    "background script": "signal.signal(signal.SIGINT, signal.SIG_IGN); "
                         "signal.signal(signal.SIGQUIT, signal.SIG_IGN)",
    # the C library's own 32 and 33 too, which signal() refuses: GNU make ignores them
    "ignores everything": "[signal.signal(s, signal.SIG_IGN) for s in signal.valid_signals() "
                          "if s not in (signal.SIGKILL, signal.SIGSTOP, signal.SIGCHLD)]; "
                          "from minidocker.linux import libc; "
                          "[libc.rt_sigaction(s, libc.SIG_IGN) for s in (32, 33)]",
    "blocks signals": "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, "
                      "signal.SIGTERM, signal.SIGUSR1, signal.SIGPIPE, signal.SIGHUP})",
}
SHOW = "grep -E '^Sig(Ign|Blk)' /proc/self/status"


def as_caller(env: FaultRoot, caller: str, *args: str, timeout: float = 60
              ) -> tuple[int, str, str]:
    code = (f"import os, signal, sys; {CALLERS[caller]}; "
            "os.execv(sys.argv[1], sys.argv[1:])")
    proc = run_captured([sys.executable, "-c", code, *env.cmd(*args)], timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


def masks(text: str) -> dict[str, int]:
    return {line.split(":")[0]: int(line.split()[1], 16)
            for line in text.splitlines() if line.startswith(("SigIgn", "SigBlk"))}


def test_containers_start_with_default_signals_whatever_the_caller(faults: FaultRoot) -> None:
    problems: list[str] = []
    clean: dict[str, dict[str, int]] = {}
    for caller in CALLERS:
        for _ in range(TRIALS):
            found = []
            code, out, err = as_caller(faults, caller, "run", "--rm", "--network", "none",
                                       IMAGE, "grep", "^Sig", "/proc/self/status")
            if code != 0 or masks(out) != {"SigBlk": 0, "SigIgn": 0}:
                found.append(f"run: {code} {out!r} {err.strip()}")
            # SIGPIPE at its default: `yes | head` ends (it spun forever when ignored)
            code, out, err = as_caller(faults, caller, "run", "--rm", "--network", "none",
                                       IMAGE, "sh", "-c", "yes | head -n 2", timeout=30)
            if (code, out) != (0, "y\ny\n"):
                found.append(f"yes | head: {code} {out!r} {err.strip()}")
            code, _, err = as_caller(faults, caller, "run", "-d", "--name", "s", "--network",
                                     "none", "--health-cmd", SHOW, "--health-interval", "300ms",
                                     IMAGE, "sh", "-c", "trap 'exit 42' INT; sleep 600 & wait")
            if code != 0:
                found.append(f"run -d: {code} {err.strip()}")
            else:
                code, out, err = as_caller(faults, caller, "exec", "s", "sh", "-c", SHOW)
                if code != 0 or masks(out) != clean.setdefault("exec", masks(out)):
                    found.append(f"exec: {code} {out!r} {err.strip()}")
                faults.wait_for(lambda: (faults.inspect("s")["State"].get("Health") or {})
                                .get("Log"), timeout=30)
                log = faults.inspect("s")["State"]["Health"]["Log"][0]
                if masks(log["Output"]) != clean.setdefault("health", masks(log["Output"])):
                    found.append(f"health check: {json.dumps(log)}")
                # a container started from a background script can trap SIGINT
                as_caller(faults, caller, "kill", "-s", "INT", "s")
                try:
                    faults.wait_for(lambda: faults.status("s") == "exited", timeout=20)
                except AssertionError:
                    found.append("trap INT: SIGINT did not reach the trap")
                else:
                    if faults.inspect("s")["State"]["ExitCode"] != 42:
                        found.append("trap INT: exit "
                                     f"{faults.inspect('s')['State']['ExitCode']}")
            problems += faults.verify("odd caller", caller, found=found)
    assert not problems, problems


def test_the_cli_honours_a_callers_sigterm_only_when_not_ignored(faults: FaultRoot) -> None:
    """A caller that ignores SIGTERM keeps it ignored in commands that hold temp state
    (they would otherwise turn it into an interrupt)."""
    code = ("import os, signal, sys; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "os.execv(sys.argv[1], sys.argv[1:])")
    proc = subprocess.Popen([sys.executable, "-c", code, *faults.cmd(
        "import", str(faults.rootfs), "sigterm:ignored")], stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ingest = faults.root / "image" / "ingest"
    deadline = time.monotonic() + 30
    while not any(p.name.startswith("import-") for p in ingest.iterdir()):
        assert proc.poll() is None and time.monotonic() < deadline, "import ended early"
        time.sleep(0.002)
    proc.send_signal(signal.SIGTERM)  # while it holds a temp file
    assert proc.wait(timeout=60) == 0
    problems = faults.verify("odd caller", "SIGTERM ignored")
    assert not problems, problems
