"""minidocker-runtime --trace FILE: every step of a container start, in a valid order, with
the values the runtime used, as valid trace-event JSON; and nothing at all when off."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import REPO, Bundle, Runtime, tool
from tests.trace_schema import check_trace

LIMIT = 48 * 1024 * 1024
SECCOMP = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
           "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                         "errnoRet": 1},
                        {"names": ["reboot"], "action": "SCMP_ACT_KILL"}]}


def traced_bundle(make_bundle: Any, tmp_path: Path, args: list[str]) -> Bundle:
    shared = tmp_path / "shared"
    shared.mkdir(exist_ok=True)
    bundle = make_bundle(args)
    cfg = bundle.config
    cfg["hostname"] = "traced"
    cfg["mounts"].append({"destination": "/data", "type": "bind", "source": str(shared),
                          "options": ["rbind", "ro"]})
    cfg["linux"]["resources"]["memory"] = {"limit": LIMIT}
    cfg["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
    cfg["linux"]["seccomp"] = SECCOMP
    cfg["process"]["noNewPrivileges"] = True
    cfg["hooks"] = {"prestart": [{"path": "/bin/true", "args": ["true", "prestart"]}],
                    "startContainer": [{"path": "/bin/true", "args": ["true", "inside"]}]}
    return bundle.write()


def steps_of(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Complete and instant events in the order they ended (each process writes its own
    in that order)."""
    return sorted((e for e in events if e["ph"] in ("X", "i")), key=end)


def processes(events: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {e["pid"]: e["args"] for e in events
            if e["ph"] == "M" and e["name"] == "process_name"}


def in_order(steps: list[dict[str, Any]], wanted: list[tuple[str, str]]) -> list[dict]:
    """The steps matching `wanted` (category, name) as a subsequence; fails naming the
    first one missing or out of order."""
    found, i = [], 0
    for cat, name in wanted:
        while i < len(steps) and (steps[i]["cat"], steps[i]["name"]) != (cat, name):
            i += 1
        assert i < len(steps), f"step {cat}: {name} missing or out of order"
        found.append(steps[i])
        i += 1
    return found


def end(step: dict[str, Any]) -> float:
    return float(step["ts"] + step.get("dur", 0))


def test_traced_run_has_every_step_in_order_with_its_values(
        runtime: Runtime, make_bundle: Any, tmp_path: Path) -> None:
    bundle = traced_bundle(make_bundle, tmp_path, ["sh", "-c", "mkdir /tmp/x || exit 3"])
    trace = tmp_path / "run.json"
    proc = runtime.run("--trace", str(trace), "run", "--bundle", str(bundle),
                       runtime.new_id())
    assert proc.returncode == 3, proc.stderr  # mkdir denied by the profile: it was loaded
    events = check_trace(trace)
    procs = processes(events)
    parent = next(p for p, a in procs.items() if a["name"] == "minidocker-runtime run")
    init = next(p for p, a in procs.items() if a["name"] == "init")
    assert procs[init]["ppid"] == parent and parent == proc_pid_of(events, parent)
    steps = steps_of(events)
    mine = [s for s in steps if s["pid"] == init]
    theirs = [s for s in steps if s["pid"] == parent]

    (loaded, fork, mkdir, limit, done, hook, ready_in, state, fifo, exited, removed,
     gone) = in_order(theirs, [
         ("runtime", "bundle loaded"), ("process", "fork"), ("cgroup", "mkdir"),
         ("cgroup", "write"), ("sync", "CGROUPS_DONE"), ("hook", "prestart"),
         ("sync", "READY received"), ("runtime", "state.json written"),
         ("sync", "exec.fifo read: the init goes on to exec"), ("process", "container exited"),
         ("cgroup", "removed"), ("runtime", "state removed")])
    assert loaded["args"]["bundle"] == str(bundle.path)
    assert fork["args"]["child"] == init
    limits = {s["args"]["path"].rsplit("/", 1)[1]: s["args"]["value"] for s in theirs
              if s["name"] == "write"}
    assert limits.get("memory.limit_in_bytes", limits.get("memory.max")) == str(LIMIT)
    assert hook["args"]["args"] == ["true", "prestart"]
    assert exited["args"]["exit_code"] == 3

    (unshare, bind, joined, mknod, sysctl, mask, readonly, pivot, hostname, rlimit, nnp,
     caps, ready, started, inside, seccomp, execve) = in_order(mine, [
         ("namespace", "unshare"), ("mount", "mount"), ("cgroup", "joined: CGROUPS_DONE "
                                                        "received"),
         ("device", "mknod"), ("kernel", "sysctl"), ("mount", "mask"), ("mount", "read-only"),
         ("mount", "pivot_root"), ("uts", "sethostname"), ("process", "setrlimit"),
         ("security", "no_new_privs"), ("security", "capabilities"),
         ("sync", "READY: the init blocks on exec.fifo until start"),
         ("sync", "start: exec.fifo read by `start`"), ("hook", "startContainer"),
         ("security", "seccomp"), ("process", "execve")])
    assert set(unshare["args"]["flags"]) >= {"CLONE_NEWNS", "CLONE_NEWUTS", "CLONE_NEWIPC",
                                             "CLONE_NEWNET"}
    assert unshare["args"]["namespaces"]["mnt"].startswith("mnt:[")
    data = next(s for s in mine if s["name"] == "mount" and s["args"]["target"] == "/data")
    assert data["args"]["source"] == str(tmp_path / "shared")
    assert "MS_BIND" in data["args"]["flags"] and "MS_RDONLY" in data["args"]["flags"]
    assert [s["args"]["target"] for s in mine if s["name"] == "mount"][:3] == \
        ["/proc", "/dev", "/dev/pts"]
    assert sysctl["args"] == {"key": "net.ipv4.ip_forward", "value": "1",
                              "path": "/proc/sys/net/ipv4/ip_forward",
                              "at": "minidocker/runtime/init.py:_sysctl"}
    assert mask["args"]["path"] in bundle.config["linux"]["maskedPaths"]
    assert pivot["args"]["new_root"] == str(bundle.rootfs)
    assert hostname["args"]["hostname"] == "traced"
    assert (rlimit["args"]["type"], rlimit["args"]["soft"]) == ("RLIMIT_NOFILE", 1024)
    assert sorted(caps["args"]["effective"]) == \
        sorted(bundle.config["process"]["capabilities"]["effective"])
    assert "CAP_SYS_ADMIN" in caps["args"]["dropped_from_bounding"]
    assert inside["args"]["args"] == ["true", "inside"]
    assert seccomp["args"]["syscalls_by_action"] == {"SCMP_ACT_ERRNO": 2, "SCMP_ACT_KILL": 1}
    assert seccomp["args"]["default_action"] == "SCMP_ACT_ALLOW"
    assert execve["args"]["path"] == "/bin/sh"
    assert execve["args"]["argv"] == ["sh", "-c", "mkdir /tmp/x || exit 3"]

    # across the processes: each waits for what the other did
    assert end(mkdir) <= end(limit) <= end(done) <= end(joined)
    assert end(ready) <= end(ready_in) <= end(state)
    assert fifo["ts"] <= end(started) and started["ts"] <= end(fifo)  # they met at the fifo
    assert end(started) <= end(execve) <= end(exited) <= end(removed) <= end(gone)
    # each process's span holds its steps
    for pid in (parent, init):
        span = next(s for s in steps if s["pid"] == pid and s["cat"] == "process"
                    and s["name"] == procs[pid]["name"] and s["ph"] == "X")
        for s in steps:
            if s["pid"] == pid and s is not span:
                assert span["ts"] <= s["ts"] and end(s) <= end(span) + 1


def proc_pid_of(events: list[dict[str, Any]], pid: int) -> int:
    """The pid of the first process of the trace, as its metadata names it."""
    return next(e["pid"] for e in events if e["ph"] == "M" and e["pid"] == pid)


def test_create_start_exec_delete_trace_into_one_timeline(
        runtime: Runtime, make_bundle: Any, tmp_path: Path) -> None:
    bundle = make_bundle(["sleep", "100"])
    trace = tmp_path / "t.json"
    cid = runtime.new_id()
    for args in (["create", "--bundle", str(bundle), cid], ["start", cid],
                 ["exec", cid, "true"]):
        runtime.run("--trace", str(trace), *args, check=True)
    pid = runtime.state(cid)["pid"]
    inodes = {ns: os.readlink(f"/proc/{pid}/ns/{ns}") for ns in ("mnt", "uts", "net")}
    runtime.run("--trace", str(trace), "delete", "--force", cid, check=True)

    events = check_trace(trace)
    procs = processes(events)
    names = [procs[p]["name"] for p in sorted(procs, key=lambda p: first_ts(events, p))]
    assert names[:2] == ["minidocker-runtime create", "init"]
    assert {"minidocker-runtime start", "minidocker-runtime exec", "exec: joins the "
            "namespaces", "exec", "minidocker-runtime delete"} <= set(names)
    init = next(p for p, a in procs.items() if a["name"] == "init")
    assert init == pid  # the host pid, not 1 as the init sees itself
    steps = steps_of(events)
    unshare = next(s for s in steps if s["pid"] == init and s["name"] == "unshare")
    assert {k: unshare["args"]["namespaces"][k] for k in inodes} == inodes
    joiner = next(p for p, a in procs.items() if a["name"] == "exec: joins the namespaces")
    joined = {s["args"]["type"]: s["args"]["namespace"] for s in steps
              if s["pid"] == joiner and s["name"] == "setns"}
    assert joined["mount"] == inodes["mnt"] and joined["network"] == inodes["net"]
    exec_pid = next(p for p, a in procs.items() if a["name"] == "exec")
    execve = [s for s in steps if s["pid"] == exec_pid and s["name"] == "execve"]
    assert execve[0]["args"]["argv"] == ["true"]
    # the init's exec comes after `start` read the fifo, in another command
    start_read = next(s for s in steps if s["name"] == "exec.fifo read: the init goes on "
                      "to exec")
    init_exec = next(s for s in steps if s["pid"] == init and s["name"] == "execve")
    assert start_read["ts"] <= end(init_exec)
    assert Path(trace).read_text().count("[") >= 1


def first_ts(events: list[dict[str, Any]], pid: int) -> float:
    return min(e["ts"] for e in events if e["pid"] == pid and "ts" in e)


def test_trace_show_lists_the_steps(runtime: Runtime, make_bundle: Any,
                                    tmp_path: Path) -> None:
    bundle = traced_bundle(make_bundle, tmp_path, ["true"])
    trace = tmp_path / "t.json"
    runtime.run("--trace", str(trace), "run", "--bundle", str(bundle), runtime.new_id(),
                check=True)
    out = subprocess.run([tool("minidocker"), "trace", "show", str(trace)], check=True,
                         capture_output=True, text=True).stdout
    lines = out.splitlines()
    assert lines[0].startswith("2 processes, ")
    init = next(i for i, line in enumerate(lines) if " init [pid " in line)
    pivot = next(i for i, line in enumerate(lines) if "mount: pivot_root" in line)
    indent = [len(lines[i][21:]) - len(lines[i][21:].lstrip()) for i in (init, pivot)]
    assert pivot > init and indent[1] > indent[0]
    assert any("sethostname  hostname=traced" in line for line in lines)
    assert any(f"value={LIMIT}" in line for line in lines)


def test_tracing_off_imports_no_trace_in_any_process(runtime: Runtime, make_bundle: Any,
                                                     tmp_path: Path) -> None:
    bundle = make_bundle(["true"])
    code = "import sys; sys.argv[0] = 'minidocker-runtime'; " \
           "from minidocker.runtime.cli import entry; entry()"
    proc = subprocess.run(
        [sys.executable, "-S", "-X", "importtime", "-c", code, "--root", str(runtime.root),
         "run", "--bundle", str(bundle), runtime.new_id()], capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")}, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    assert "minidocker.runtime.create" in proc.stderr  # importtime reported the run
    assert "minidocker.trace" not in proc.stderr


def test_an_unwritable_trace_file_is_one_line_and_nothing_runs(
        runtime: Runtime, make_bundle: Any, tmp_path: Path) -> None:
    bundle = make_bundle(["true"])
    cid = runtime.new_id()
    proc = runtime.run("--trace", str(tmp_path / "missing" / "t.json"), "run", "--bundle",
                       str(bundle), cid)
    assert proc.returncode == 1
    assert proc.stderr.startswith("minidocker-runtime: error: --trace ")
    assert len(proc.stderr.splitlines()) == 1
    assert not (runtime.root / cid).exists()


def test_a_user_namespace_trace_has_stage1_and_the_id_maps(runtime: Runtime, make_bundle: Any,
                                                           tmp_path: Path) -> None:
    bundle = make_bundle(["true"])
    bundle.config["linux"]["namespaces"].append({"type": "user"})
    bundle.config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000,
                                              "size": 65536}]
    bundle.config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000,
                                              "size": 65536}]
    bundle.write()
    subprocess.run(["chown", "-R", "100000:100000", str(bundle.rootfs)], check=True)
    for parent in bundle.rootfs.parents:  # the test's own temp dirs: let the mapped root in
        if parent == Path("/tmp"):
            break
        parent.chmod(parent.stat().st_mode | 0o011)
    trace = tmp_path / "t.json"
    runtime.run("--trace", str(trace), "run", "--bundle", str(bundle), runtime.new_id(),
                check=True)
    events = check_trace(trace)
    procs = processes(events)
    names = {a["name"]: p for p, a in procs.items()}
    parent, stage1, init = (names["minidocker-runtime run"], names["stage 1"], names["init"])
    assert procs[stage1]["ppid"] == parent and procs[init]["ppid"] == stage1
    steps = steps_of(events)
    (userns, maps, synced) = in_order([s for s in steps if s["pid"] in (parent, stage1)], [
        ("namespace", "unshare"), ("user", "id maps written"),
        ("sync", "USERNS_DONE received: id maps written")])
    assert userns["pid"] == stage1 and userns["args"]["flags"] == ["CLONE_NEWUSER"]
    assert maps["pid"] == parent and maps["args"]["pid"] == stage1
    assert maps["args"]["uid_map"] == bundle.config["linux"]["uidMappings"]
    assert end(userns) <= end(maps) <= end(synced)
    fork = next(s for s in steps if s["pid"] == stage1 and s["name"] == "fork")
    assert fork["args"]["child"] == init
