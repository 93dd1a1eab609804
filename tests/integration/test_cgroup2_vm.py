"""The cgroup v2 integration tests, run in one boot of the test VM (tests/vm): a pure
cgroup v2 hierarchy that this cgroup v1 host cannot offer. On a v2 host they run natively
and this module is skipped."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time

import pytest

from minidocker.linux import cgroups
from tests.conftest import REPO
from tests.vm import harness

# a run takes about a minute here (software emulation); a boot that takes five is stuck
BOOT_TIMEOUT = 300
# test paths run inside the VM (v1-only tests skip themselves there)
VM_TESTS = ["tests/integration/cgroups",
            # a rootless user's limits in a delegated subtree (docs/rootless.md)
            "tests/integration/rootless/test_cgroup2_delegated.py"]


@pytest.mark.skipif(cgroups.detect() == "unified",
                    reason="this host is cgroup v2: the v2 tests run natively")
def test_cgroup_v2_integration_tests_pass_in_the_vm() -> None:
    missing = harness.missing_tools()
    if missing:
        pytest.fail(f"the cgroup v2 VM needs: {' '.join(missing)} (run scripts/setup --dev)")
    try:
        harness.setup()
    except harness.VMError as exc:
        pytest.fail(f"cannot build the VM: {exc}")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/root",
           "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}
    # a test hung for 2 minutes prints every thread's stack (faulthandler) into the log
    argv = [sys.executable, "-m", "pytest", "-q", "-rs", "--color=no", "-p", "no:cacheprovider",
            "-o", "faulthandler_timeout=120", *VM_TESTS]
    for boot in (1, 2):
        with tempfile.TemporaryFile(mode="w+") as out:
            start = time.monotonic()
            rc = harness.run(argv, env=env, cwd=str(REPO), output=out.fileno(),
                             timeout=BOOT_TIMEOUT, disk_mb=64)
            elapsed = time.monotonic() - start
            out.seek(0)
            log = out.read()
        print(f"VM run {boot}: {elapsed:.1f} s, exit {rc}\n{log}")
        if rc != harness.EXIT_TIMEOUT:
            break
        # the emulated machine stalled (once in CI: both vCPUs busy for 15 minutes in
        # the CPU quota test, which takes seconds): one more boot, and the stall is shown
    assert rc == 0, f"v2 tests in the VM failed (exit {rc}):\n{log[-6000:]}"
    summary = re.search(r"(\d+) passed", log)
    assert summary and int(summary.group(1)) > 0, log[-3000:]
    assert "needs a pure cgroup v2 host" not in log, "the v2-only tests did not run"


def test_the_vm_sees_a_pure_cgroup_v2_hierarchy() -> None:
    """A quick check of the harness itself (one boot): cgroup2 at /sys/fs/cgroup, no v1."""
    if cgroups.detect() == "unified" or harness.missing_tools():
        pytest.skip("no VM needed or possible here")
    harness.setup()
    script = ("stat -fc %T /sys/fs/cgroup && cat /sys/fs/cgroup/cgroup.controllers && "
              "! grep -q ' cgroup ' /proc/mounts && exit 7")
    proc = subprocess.run([sys.executable, "-m", "tests.vm.harness", "run", "sh", "-c", script],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 7, proc.stdout + proc.stderr  # the guest's status comes back
    assert proc.stdout.splitlines()[0] == "cgroup2fs"
    assert {"cpu", "memory", "pids", "io"} <= set(proc.stdout.splitlines()[1].split())
