"""The host's cgroup mounts that `create` keeps in its root (runtime/cgroup.py,
host_cgroup_mountinfo) are read again when a hierarchy's mount point changes: what the
cache is checked by (device and inode of each mount point) changes with a real mount,
made here in a private mount namespace (the host's mounts are not touched)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

from tests.conftest import REPO

PROBE = """
import json, os, subprocess, sys
sys.path.insert(0, sys.argv[1])
from minidocker.runtime import cgroup
root, sub = sys.argv[2], sys.argv[3]
first, doc = cgroup.host_cgroup_mountinfo(root)
cgroup.save_cgroup_mounts(root, doc)
cache = os.path.join(root, cgroup.CACHE)
before = json.load(open(cache))
# one of the container's possible parents mounted over the hierarchy's mount point, as a
# nested runtime's host would show it
subprocess.run(["mount", "--bind", sub, "/sys/fs/cgroup/pids"], check=True)
second, doc = cgroup.host_cgroup_mountinfo(root)
cgroup.save_cgroup_mounts(root, doc)
after = json.load(open(cache))
print(json.dumps({"first": first, "second": second, "before": before["keys"],
                  "after": after["keys"]}))
"""


def test_a_mount_over_a_hierarchy_makes_create_read_mountinfo_again(tmp_path: Path) -> None:
    import json
    sub = f"/sys/fs/cgroup/pids/rtspeed-test-{uuid.uuid4().hex[:8]}"
    os.mkdir(sub)  # a cgroup of the host's, removed below
    try:
        proc = subprocess.run(["unshare", "--mount", "--propagation", "private",
                               sys.executable, "-S", "-c", PROBE, str(REPO / "src"),
                               str(tmp_path), sub],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=60)
    finally:
        os.rmdir(sub)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    point = "/sys/fs/cgroup/pids"
    assert got["before"][point] != got["after"][point]
    root_of = {line.split()[4]: line.split()[3] for line in got["second"].splitlines()}
    assert root_of[point] == sub[len(point):]  # the new mount's line, not the cached one
    assert got["first"] != got["second"]
