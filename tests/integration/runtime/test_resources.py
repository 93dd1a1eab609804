"""pause / resume / update / events, cgroup limits from config.json, and the keyring."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from tests.conftest import Runtime


def start(runtime: Runtime, make_bundle, args: list[str], **linux) -> str:
    b = make_bundle(args)
    b.config["linux"].update(linux)
    b.write()
    cid = runtime.new_id()
    runtime.run("run", "-d", "-b", str(b), cid, check=True)
    return cid


def cgroup_dir(runtime: Runtime, cid: str, controller: str) -> str:
    pid = runtime.state(cid)["pid"]
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, ctrls, path = line.rstrip("\n").split(":", 2)
        if controller in ctrls.split(","):
            return f"/sys/fs/cgroup/{controller}{path}"
    raise AssertionError(f"no {controller} cgroup")


def test_pause_and_resume(runtime: Runtime, make_bundle) -> None:
    cid = start(runtime, make_bundle, ["sh", "-c", "while :; do echo x >> /tmp/t; "
                                                   "sleep 0.02; done"])
    runtime.run("pause", cid, check=True)
    assert runtime.state(cid)["status"] == "paused"
    refused = runtime.run("exec", cid, "true")  # a paused container takes no exec
    assert refused.returncode != 0 and "paused" in refused.stderr
    proc = runtime.run("pause", cid)
    assert proc.returncode == 1 and "paused" in proc.stderr
    runtime.run("resume", cid, check=True)
    assert runtime.state(cid)["status"] == "running"
    proc = runtime.run("resume", cid)
    assert proc.returncode == 1 and "running" in proc.stderr


def test_paused_container_makes_no_progress(runtime: Runtime, make_bundle) -> None:
    # renamed into place: a read never sees the file between truncation and write
    cid = start(runtime, make_bundle, ["sh", "-c", "i=0; while :; do i=$((i+1)); "
                                                   "echo $i > /tmp/m; mv /tmp/m /tmp/n; "
                                                   "sleep 0.01; done"])
    time.sleep(0.2)
    runtime.run("pause", cid, check=True)
    pid = runtime.state(cid)["pid"]
    counter = Path(f"/proc/{pid}/root/tmp/n")
    first = counter.read_text()
    time.sleep(0.3)
    assert counter.read_text() == first
    runtime.run("resume", cid, check=True)
    time.sleep(0.3)
    assert counter.read_text() != first


def test_delete_force_of_paused_container(runtime: Runtime, make_bundle) -> None:
    cid = start(runtime, make_bundle, ["sleep", "100"])
    runtime.run("pause", cid, check=True)
    runtime.run("delete", "--force", cid, check=True)
    assert not (runtime.root / cid).exists()


def test_limits_from_config_and_update(runtime: Runtime, make_bundle) -> None:
    cid = start(runtime, make_bundle, ["sleep", "100"],
                resources={"memory": {"limit": 64 << 20}, "pids": {"limit": 20},
                           "devices": [{"allow": False, "access": "rwm"}]})
    mem = cgroup_dir(runtime, cid, "memory")
    assert int(Path(f"{mem}/memory.limit_in_bytes").read_text()) == 64 << 20
    pids = cgroup_dir(runtime, cid, "pids")
    assert Path(f"{pids}/pids.max").read_text().strip() == "20"
    runtime.run("update", "--memory", "32m", "--pids-limit", "10", cid, check=True)
    assert int(Path(f"{mem}/memory.limit_in_bytes").read_text()) == 32 << 20
    assert Path(f"{pids}/pids.max").read_text().strip() == "10"
    saved = json.loads((runtime.root / cid / "state.json").read_text())
    assert saved["config"]["linux"]["resources"]["pids"]["limit"] == 10
    proc = runtime.run("update", "--resources", "-", cid,
                       input=json.dumps({"pids": {"limit": 7}}).encode())
    assert proc.returncode == 0, proc.stderr
    assert Path(f"{pids}/pids.max").read_text().strip() == "7"
    for bad in (["--memory", "lots"], ["--pids-limit", "x"], ["--bogus", "1"]):
        proc = runtime.run("update", *bad, cid)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, bad
    runtime.run("delete", "--force", cid, check=True)
    assert not os.path.exists(mem)


def test_events_stats_and_oom(runtime: Runtime, make_bundle) -> None:
    cid = start(runtime, make_bundle, ["sleep", "100"],
                resources={"memory": {"limit": 32 << 20}})
    stats = json.loads(runtime.run("events", "--stats", cid, check=True).stdout)
    assert stats["type"] == "stats" and stats["id"] == cid
    assert stats["data"]["memory"]["usage"]["usage"] > 0
    assert stats["data"]["pids"]["current"] >= 1
    watcher = subprocess.Popen(runtime.cmd("events", "--interval", "10s", cid),
                               stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        hog = runtime.run("exec", cid, "sh", "-c",
                          "x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo $x | wc -c")
        assert hog.returncode != 0  # the OOM killer ended it
        deadline = time.monotonic() + 10
        lines = []
        while time.monotonic() < deadline:
            line = watcher.stdout.readline()
            if not line:
                break
            lines.append(json.loads(line))
            if any(e["type"] == "oom" for e in lines):
                break
        assert any(e["type"] == "oom" and e["id"] == cid for e in lines), lines
    finally:
        watcher.kill()
        watcher.wait()


def test_own_session_keyring(runtime: Runtime, make_bundle) -> None:
    b = make_bundle(["cat", "/proc/keys"])
    b.config["linux"]["maskedPaths"] = []
    b.write()
    cid = runtime.new_id()
    proc = runtime.run("run", "-b", str(b), cid)
    assert proc.returncode == 0 and f"_ses.{cid}" in proc.stdout
    other = runtime.new_id()
    proc = runtime.run("run", "--no-new-keyring", "-b", str(b), other)
    assert proc.returncode == 0 and f"_ses.{other}" not in proc.stdout


HYBRID = os.path.exists("/sys/fs/cgroup/unified/cgroup.controllers") and \
    not os.path.exists("/sys/fs/cgroup/cgroup.controllers")


def test_init_joins_every_v1_hierarchy_and_no_idle_cgroup2_one(runtime: Runtime,
                                                                make_bundle) -> None:
    """On a v1 host the init moves itself into its cgroups (through the `tasks` fds the
    runtime sends), and on a hybrid host it gets no cgroup in the cgroup2 hierarchy, which
    it neither needs nor sees inside, unless a limit lives there."""
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        import pytest
        pytest.skip("cgroup v1 or hybrid host only (the VM tests cover v2)")
    cid = start(runtime, make_bundle, ["sh", "-c", "ls /sys/fs/cgroup; sleep 30"])
    pid = runtime.state(cid)["pid"]
    lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    v1 = [line for line in lines if not line.startswith("0::") and ":name=" not in line]
    assert v1 and all(line.endswith(f"/minidocker/{cid}") for line in v1), lines
    inside = runtime.run("exec", cid, "ls", "/sys/fs/cgroup", check=True).stdout.split()
    assert "memory" in inside and "pids" in inside
    state = json.loads((Path(runtime.root) / cid / "cgroup.json").read_text())
    if HYBRID:
        assert not any(line.startswith("0::") and cid in line for line in lines), lines
        assert "unified" not in inside
        assert "" not in state["dirs"]
        assert not Path(f"/sys/fs/cgroup/unified/minidocker/{cid}").exists()
