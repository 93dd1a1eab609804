"""A rootless user's limits on a cgroup v2 host with a delegated subtree (the test makes
one and chowns it to the user, as systemd's user@.service does). This host is cgroup v1:
the test runs in the cgroup v2 VM (tests/integration/test_cgroup2_vm.py lists it), or
natively on a v2 host."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest

from minidocker.linux import cgroups
from tests.integration.rootless.conftest import User, Users

pytestmark = pytest.mark.skipif(cgroups.detect() != cgroups.UNIFIED,
                                reason="needs a pure cgroup v2 host (the VM of "
                                "tests/integration/test_cgroup2_vm.py runs it)")
CGROUP = Path("/sys/fs/cgroup")
WANTED = ("cpuset", "cpu", "io", "memory", "pids")


def in_cli(user: User, cli: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`minidocker ARGS` as the user, started in the delegated `cli` cgroup: a shell that
    waits until we moved it there (a user cannot move itself out of root's cgroup)."""
    proc = subprocess.Popen(["sh", "-c", 'read go; exec "$@"', "sh", *user.cmd(*args)],
                            cwd=user.home, env=user.env, user=user.uid, group=user.gid,
                            extra_groups=[], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    (cli / "cgroup.procs").write_text(str(proc.pid))
    out, err = proc.communicate("go\n", timeout=180)
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


def test_limits_apply_in_a_delegated_subtree(rootless_src: Path, busybox_tar: bytes) -> None:
    users = Users(rootless_src)
    sub = CGROUP / f"mdrl{uuid.uuid4().hex[:6]}"
    enabled = set((CGROUP / "cgroup.subtree_control").read_text().split())
    added = [c for c in WANTED if c not in enabled]
    try:
        for ctrl in added:
            (CGROUP / "cgroup.subtree_control").write_text(f"+{ctrl}")
        user = users.make(ranges=False)  # the VM's own id alone is enough for busybox
        sub.mkdir()
        cli = sub / "cli"
        cli.mkdir()
        for path in (sub, sub / "cgroup.procs", sub / "cgroup.subtree_control",
                     sub / "cgroup.threads", cli, cli / "cgroup.procs", cli / "cgroup.threads"):
            os.chown(path, user.uid, user.gid)
        tar = user.give("bb.tar", busybox_tar)
        assert in_cli(user, cli, "import", str(tar), "bb:1").returncode == 0
        proc = in_cli(user, cli, "run", "--rm", "--network", "none", "-m", "64m",
                      "--pids-limit", "20", "--cpus", "0.5", "bb:1", "sh", "-c",
                      "cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max "
                      "/sys/fs/cgroup/cpu.max /proc/self/cgroup")
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.split("\n")[:4] == ["67108864", "20", "50000 100000", "0::/"]
        # the container's cgroup is in the delegated subtree, next to the caller's
        proc = in_cli(user, cli, "run", "-d", "--name", "limited", "--network", "none",
                      "--pids-limit", "7", "bb:1", "sleep", "300")
        assert proc.returncode == 0, proc.stderr
        cid = proc.stdout.strip()
        assert (sub / "minidocker" / cid / "pids.max").read_text().strip() == "7"
        stats = in_cli(user, cli, "stats", "--no-stream", "--format", "{{.PIDs}}", "limited")
        assert stats.returncode == 0 and stats.stdout.strip() == "1", stats.stderr
        assert in_cli(user, cli, "rm", "-f", "limited").returncode == 0
        assert not (sub / "minidocker" / cid).exists()
    finally:
        users.remove()  # its processes first: then the cgroups are empty
        for path in (sub / "minidocker", sub / "cli", sub):
            for child in sorted(path.glob("*/"), reverse=True) if path.exists() else []:
                if child.is_dir():
                    child.rmdir()
            if path.exists():
                path.rmdir()
        for ctrl in added:
            try:
                (CGROUP / "cgroup.subtree_control").write_text(f"-{ctrl}")
            except OSError:
                pass
