"""minidocker run --trace FILE: a container with a memory limit, a bind mount, a published
port and a custom seccomp profile; its trace holds every step from the CLI through the
monitor to the container's init, in a valid order, with the values used; it is valid
trace-event JSON; and explain of the same container agrees with the trace and /proc."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tests.integration.engine.conftest import Engine
from tests.integration.engine.test_explain import facts, free_port
from tests.trace_schema import check_trace

PROFILE = {"defaultAction": "SCMP_ACT_ALLOW",
           "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}
LIMIT = 48 * 1024 * 1024


def end(e: dict[str, Any]) -> float:
    return float(e["ts"] + e.get("dur", 0))


def roles(events: list[dict[str, Any]]) -> dict[str, int]:
    return {e["args"]["name"]: e["pid"] for e in events
            if e["ph"] == "M" and e["name"] == "process_name"}


def steps(events: list[dict[str, Any]], pid: int) -> list[dict[str, Any]]:
    return sorted((e for e in events if e["pid"] == pid and e["ph"] in ("X", "i")
                   and not (e["cat"] == "process" and e["name"].startswith(("minidocker ",
                                                                            "monitor", "init")))),
                  key=end)


def subsequence(found: list[dict[str, Any]], wanted: list[str]) -> list[dict[str, Any]]:
    """The events named `cat: name` in `wanted`, in that order (each after the last)."""
    out, i = [], 0
    for item in wanted:
        while i < len(found) and f"{found[i]['cat']}: {found[i]['name']}" != item:
            i += 1
        assert i < len(found), f"{item} missing or out of order"
        out.append(found[i])
        i += 1
    return out


def test_traced_run_then_explain(engine: Engine, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    profile = tmp_path / "profile.json"
    profile.write_text(json.dumps(PROFILE))
    port = free_port()
    trace = tmp_path / "run.json"
    cid = engine.ok("run", "-d", "--trace", str(trace), "--name", "traced", "-m", "48m",
                    "-v", f"{shared}:/data:ro", "-p", f"127.0.0.1:{port}:80",
                    "--security-opt", f"seccomp={profile}", engine.image,
                    "sleep", "100").strip()
    events = check_trace(trace)
    pids = roles(events)
    cli, monitor, init = pids["minidocker run"], pids["monitor (forked early)"], pids["init"]
    state = engine.inspect(cid)["State"]
    assert state["Pid"] == init  # the track of the init is the container's process

    subsequence(steps(events, cli), [
        "image: resolved", "engine: record created", "network: prepared",
        "mount: rootfs: overlay", "sync: the monitor reported"])
    (_, _, fork, mkdir, limit, done, ready, state_json, veth, address, route, dnat,
     started, running) = subsequence(steps(events, monitor), [
         "engine: runtime imported", "sync: hand-over received", "process: fork",
         "cgroup: mkdir", "cgroup: write", "sync: CGROUPS_DONE", "sync: READY received",
         "runtime: state.json written", "network: veth pair", "network: address",
         "network: route", "network: published ports (DNAT)",
         "sync: exec.fifo read: the init goes on to exec", "engine: state: running"])
    (unshare, data, joined, pivot, seccomp, caps, fifo, execve) = subsequence(
        steps(events, init), [
            "namespace: unshare", "mount: mount", "cgroup: joined: CGROUPS_DONE received",
            "mount: pivot_root", "security: seccomp", "security: capabilities",
            "sync: start: exec.fifo read by `start`", "process: execve"])

    # the values used
    assert fork["args"]["child"] == init
    writes = {e["args"]["path"].rsplit("/", 1)[1]: e["args"]["value"]
              for e in steps(events, monitor) if e["name"] == "write"}
    assert writes["memory.limit_in_bytes"] == str(LIMIT)
    mounts = {e["args"]["target"]: e["args"] for e in steps(events, init)
              if e["name"] == "mount"}
    assert mounts["/data"]["source"] == str(shared)
    assert "MS_RDONLY" in mounts["/data"]["flags"]
    ip = engine.inspect(cid)["NetworkSettings"]["IPAddress"]
    assert address["args"]["address"].startswith(f"{ip}/")
    assert route["args"]["destination"] == "default"
    assert any(f"tcp dport {port} dnat to {ip}:80" in rule for rule in dnat["args"]["rules"])
    assert seccomp["args"]["syscalls_by_action"] == {"SCMP_ACT_ERRNO": 2}
    assert execve["args"]["argv"] == ["sleep", "100"]
    assert unshare["args"]["namespaces"]["net"] == os.readlink(f"/proc/{init}/ns/net")

    # across the processes
    assert end(mkdir) <= end(limit) <= end(done) <= end(joined)
    assert end(caps) <= end(ready) <= end(state_json) <= end(veth)
    assert started["ts"] <= end(fifo) and fifo["ts"] <= end(started)
    assert end(fifo) <= end(execve) <= end(running)
    assert pivot["ts"] < seccomp["ts"] < execve["ts"]
    assert data["ts"] < pivot["ts"]

    # explain reads the same facts from the kernel
    doc = json.loads(engine.ok("explain", "traced", "--format", "json"))
    limit_fact = next(f for f in facts(doc, "cgroups") if f["Subject"] == "memory.limit_in_bytes")
    assert limit_fact["Raw"] == writes["memory.limit_in_bytes"]
    assert limit_fact["File"] == next(e["args"]["path"] for e in steps(events, monitor)
                                      if e["name"] == "write"
                                      and e["args"]["path"].endswith("memory.limit_in_bytes"))
    www = next(f for f in facts(doc, "mounts") if f["Target"] == "/data")
    assert www["Root"] == mounts["/data"]["source"] and www["ReadOnly"]
    [published] = [f for f in facts(doc, "network") if f["Subject"] == "published port"]
    assert (published["HostPort"], published["ContainerIp"]) == (port, ip)
    effective = next(f for f in facts(doc, "capabilities") if f["Subject"] == "effective")
    assert effective["Capabilities"] == caps["args"]["effective"]
    ns = {f["Subject"].split()[0]: f["Namespace"] for f in facts(doc, "namespaces")}
    assert {k: ns[k] for k in ("mnt", "uts", "ipc", "net")} == \
        {k: unshare["args"]["namespaces"][k] for k in ("mnt", "uts", "ipc", "net")}
    security = {f["Subject"]: f for f in facts(doc, "security")}
    assert security["seccomp"]["Mode"] == "filter"


def test_exec_and_start_trace(engine: Engine, tmp_path: Path) -> None:
    engine.ok("create", "--name", "later", engine.image, "sleep", "100")
    trace = tmp_path / "t.json"
    engine.ok("start", "--trace", str(trace), "later")
    engine.ok("exec", "--trace", str(trace), "later", "true")
    events = check_trace(trace)
    names = set(roles(events))
    assert {"minidocker start", "minidocker exec", "init", "exec"} <= names
    exec_pid = roles(events)["exec"]
    [execve] = [e for e in events if e["pid"] == exec_pid and e["name"] == "execve"]
    assert execve["args"]["argv"] == ["true"]


def test_trace_to_an_unwritable_file_is_one_error_line(engine: Engine, tmp_path: Path) -> None:
    result = engine.run("run", "--rm", "--trace", str(tmp_path / "no" / "t.json"),
                        engine.image, "true")
    assert result.returncode == 125
    assert result.stderr.startswith("minidocker: error: --trace ")
    assert engine.container_dirs() == []
