"""Resources from flags: memory limit and OOMKilled, pids limit, cpus, ulimits."""

from __future__ import annotations

from tests.integration.engine.conftest import Engine


def test_memory_hog_reports_oom_killed(engine: Engine) -> None:
    cid = engine.ok("run", "-d", "-m", "16m", "--memory-swap", "16m", engine.image, "sh",
                    "-c", "x=a; while true; do x=$x$x; done").strip()
    assert engine.ok("wait", cid, timeout=60).strip() == "137"
    state = engine.inspect(cid)["State"]
    assert state["OOMKilled"] is True
    assert state["ExitCode"] == 137


def test_normal_exit_is_not_oom(engine: Engine) -> None:
    cid = engine.ok("run", "-d", "-m", "64m", engine.image, "true").strip()
    engine.ok("wait", cid)
    assert engine.inspect(cid)["State"]["OOMKilled"] is False


def test_limits_are_applied(engine: Engine) -> None:
    out = engine.ok("run", "--rm", "-m", "32m", "--pids-limit", "20", "--cpus", "0.5",
                    "--ulimit", "nofile=256:512", engine.image, "sh", "-c",
                    "cat /sys/fs/cgroup/memory/memory.limit_in_bytes "
                    "/sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us "
                    "2>/dev/null || cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max; "
                    "ulimit -n; ulimit -Hn")
    values = out.split()
    assert str(32 * 1024 * 1024) in values
    assert "20" in values
    assert values[-2:] == ["256", "512"]


def test_inspect_shows_host_config(engine: Engine) -> None:
    cid = engine.ok("create", "-m", "64m", "--cpus", "1.5", "--restart", "on-failure:3",
                    "--label", "tier=web", engine.image, "true").strip()
    doc = engine.inspect(cid)
    assert doc["HostConfig"]["Memory"] == 64 * 1024 * 1024
    assert doc["HostConfig"]["NanoCpus"] == 1_500_000_000
    assert doc["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert engine.ok("inspect", "-f", "{{.Config.Labels.tier}} {{.State.Status}}",
                     cid) == "web created\n"
    assert engine.ok("inspect", "-f", '{{index .Config.Labels "tier"}}', cid) == "web\n"
    assert engine.ok("inspect", "-f", "{{json .Config.Labels}}", cid) == '{"tier":"web"}\n'
    assert engine.run("inspect", "-f", "{{.NoSuchField}}", cid).returncode != 0
