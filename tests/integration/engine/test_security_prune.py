"""--privileged, --security-opt, signal proxying of a foreground run, and prune."""

from __future__ import annotations

import signal
import subprocess
import time

from tests.integration.engine.conftest import Engine


def test_seccomp_default_blocks_and_unconfined_allows(engine: Engine) -> None:
    # unshare(2) needs CAP_SYS_ADMIN, which Docker's profile and capabilities both deny
    assert engine.run("run", "--rm", engine.image, "unshare", "-U", "true").returncode != 0
    out = engine.ok("run", "--rm", engine.image, "grep", "Seccomp:", "/proc/self/status")
    assert out.split()[1] == "2"
    out = engine.ok("run", "--rm", "--security-opt", "seccomp=unconfined", engine.image,
                    "grep", "Seccomp:", "/proc/self/status")
    assert out.split()[1] == "0"


def test_no_new_privileges(engine: Engine) -> None:
    out = engine.ok("run", "--rm", "--security-opt", "no-new-privileges", engine.image,
                    "grep", "NoNewPrivs", "/proc/self/status")
    assert out.split()[1] == "1"


def test_privileged(engine: Engine) -> None:
    out = engine.ok("run", "--rm", "--privileged", engine.image, "sh", "-c",
                    "grep -E 'CapEff|Seccomp:' /proc/self/status; "
                    "grep ' /sys ' /proc/mounts | cut -d' ' -f4")
    lines = out.splitlines()
    assert int(lines[0].split()[1], 16) >> 21 & 1  # CAP_SYS_ADMIN
    assert lines[1].split()[1] == "0"
    assert lines[2].startswith("rw")


def test_masked_paths(engine: Engine) -> None:
    out = engine.ok("run", "--rm", engine.image, "sh", "-c",
                    "cat /proc/keys | wc -c; touch /proc/sysrq-trigger 2>&1 || echo ro")
    assert out.split()[0] == "0"
    assert "ro" in out.split()


def test_sigint_to_a_foreground_run_reaches_the_container(engine: Engine) -> None:
    proc = subprocess.Popen(engine.cmd("run", "--rm", engine.image, "sh", "-c",
                                       "trap 'echo caught; exit 7' INT; echo ready; "
                                       "while true; do sleep 0.1; done"),
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline() == "ready\n"
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=20)
    assert out == "caught\n"
    assert proc.returncode == 7


def test_system_and_volume_prune(engine: Engine) -> None:
    engine.ok("run", "--name", "done", "-v", "/anon", engine.image, "true")
    engine.ok("volume", "create", "named")
    engine.ok("run", "-d", "--name", "live", engine.image, "sleep", "60")
    engine.ok("network", "create", "unused-net")
    engine.ok("network", "create", "used-net")
    engine.ok("run", "-d", "--name", "on-net", "--network", "used-net", engine.image,
              "sleep", "60")
    asked = engine.run("system", "prune", input=b"n\n")  # asks first, as Docker does
    assert "Are you sure" in asked.stdout and "unused-net" in engine.ok("network", "ls")
    out = engine.ok("system", "prune", "-f", "--volumes")
    assert "Deleted Containers:" in out and "Total reclaimed space" in out
    assert "Deleted Networks:\nunused-net" in out
    names = engine.ok("network", "ls", "--format", "{{.Name}}").split()
    assert "unused-net" not in names and "used-net" in names and "bridge" in names
    assert sorted(engine.ok("ps", "-a", "--format", "{{.Names}}").split()) == \
        ["live", "on-net"]
    engine.ok("rm", "-f", "on-net")
    assert engine.ok("volume", "ls", "-q") == "named\n"  # named volumes stay
    assert "named" in engine.ok("volume", "prune", "-f", "--all")
    assert engine.ok("volume", "ls", "-q") == ""
