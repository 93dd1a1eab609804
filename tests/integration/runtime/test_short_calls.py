"""What the short runtime calls import. containerd's shim and podman start a runtime
process for each state, start, kill and delete of every container: each module they
import is paid on every call (docs/runtime.md, Speed). Not timed: the modules are the
contract."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import REPO, Runtime

# runs minidocker-runtime's main as its launcher does (-S), then lists the modules
PROBE = """
import os, sys
sys.path.insert(0, sys.argv.pop(1))
out = sys.argv.pop(1)
from minidocker.runtime.cli import main
code = main(sys.argv[1:])
with open(out, "w") as f:
    f.write("\\n".join(sorted(sys.modules)))
sys.stdout.flush()
os._exit(code)
"""

# heavy on every call, needed by none of these: ctypes (~2 ms with our libc), json and
# what it brings (re, enum), typing, argparse, the hooks runner
NEVER = {"ctypes", "json", "re", "enum", "typing", "argparse", "minidocker.linux.libc",
         "minidocker.runtime.hooks", "minidocker.linux.userns"}


def imported_by(runtime: Runtime, args: list[str], out: Path) -> set[str]:
    proc = subprocess.run([sys.executable, "-S", "-c", PROBE, str(REPO / "src"), str(out),
                           "--root", str(runtime.root), *args],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    return set(out.read_text().split())


def test_state_start_kill_delete_import_only_what_they_need(
        runtime: Runtime, make_bundle, tmp_path: Path) -> None:
    cid = runtime.new_id()
    runtime.run("create", "--bundle", str(make_bundle(["sleep", "100"])), cid, check=True)
    seen = {}
    seen["state created"] = imported_by(runtime, ["state", cid], tmp_path / "m1")
    seen["start"] = imported_by(runtime, ["start", cid], tmp_path / "m2")
    # a running container's status asks whether its cgroup is frozen: no cgroup manager
    seen["state running"] = imported_by(runtime, ["state", cid], tmp_path / "m3")
    assert runtime.state(cid)["status"] == "running"
    seen["kill"] = imported_by(runtime, ["kill", cid, "KILL"], tmp_path / "m4")
    deadline = time.monotonic() + 10
    while runtime.state(cid)["status"] != "stopped" and time.monotonic() < deadline:
        time.sleep(0.02)
    seen["delete"] = imported_by(runtime, ["delete", cid], tmp_path / "m5")
    assert not (runtime.root / cid).exists()  # the probe saw the calls do their work

    for call, modules in seen.items():
        assert "minidocker.runtime.operations" in modules, call
        assert sorted(modules & NEVER) == [], call
        if call != "delete":  # delete removes the cgroups: it needs their manager
            assert not {m for m in modules if m.startswith("minidocker.linux.cgroups")}, call
    assert "minidocker.linux.cgroups.v1" in seen["delete"] or \
        "minidocker.linux.cgroups.v2" in seen["delete"]
