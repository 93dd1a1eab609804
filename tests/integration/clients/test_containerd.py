"""containerd 1.6 and its runc v2 shim on each runtime: `ctr run --runc-binary`, tasks
(exec, ps, pause, kill --all, metrics, delete), and a spec shaped as the CRI plugin makes
it for a Kubernetes pod (cgroup mount, sandbox namespaces joined by path, cgroup parent)."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

from tests.integration.clients.daemons import IMAGE, PAUSE_IMAGE, Containerd, wait_until
from tests.integration.clients.scenarios import run_with_tty


def task_id() -> str:
    return "t" + uuid.uuid4().hex[:10]


def task_status(ctrd: Containerd, tid: str) -> str:
    for line in ctrd.ok("tasks", "ls").splitlines()[1:]:
        fields = line.split()
        if fields[0] == tid:
            return fields[-1]
    return ""


def task_pid(ctrd: Containerd, tid: str) -> int:
    for line in ctrd.ok("tasks", "ls").splitlines()[1:]:
        fields = line.split()
        if fields[0] == tid:
            return int(fields[1])
    raise AssertionError(f"no task {tid}")


def remove_task(ctrd: Containerd, tid: str) -> None:
    ctrd.ctr("tasks", "kill", "--all", "-s", "9", tid)
    ctrd.ctr("tasks", "delete", "--force", tid, timeout=60)
    ctrd.ctr("containers", "delete", tid)


def test_run_rm_exit_code_and_output(containerd: Containerd, runtime: str) -> None:
    tid = task_id()
    res = containerd.ctr("run", "--rm", *containerd.run_args(runtime), IMAGE, tid, "sh", "-c",
                         "echo out; echo err >&2; exit 3")
    assert (res.returncode, res.stdout, res.stderr) == (3, "out\n", "err\n")
    # the shim deletes the container, then `delete --force` it once more, after it is
    # gone (that must exit 0): no state is left in the runtime's root
    wait_until(lambda: tid not in containerd.ok("containers", "ls", "-q").split(), 30,
               "container removed")
    assert not (containerd.runc_root / runtime / containerd.namespace / tid).exists()


def test_run_error_reaches_the_user(containerd: Containerd, runtime: str) -> None:
    """The runtime's cause, from the last error line of its --log file."""
    tid = task_id()
    res = containerd.ctr("run", "--rm", *containerd.run_args(runtime), IMAGE, tid,
                         "/no/such/command")
    assert res.returncode != 0
    assert "/no/such/command" in res.stderr and "OCI runtime" in res.stderr, res.stderr
    containerd.ctr("containers", "delete", tid)


def test_task_exec_ps_pause_kill_metrics(containerd: Containerd, runtime: str) -> None:
    tid = task_id()
    containerd.ok("run", "-d", *containerd.run_args(runtime), "--memory-limit",
                  str(64 << 20), IMAGE, tid, "sleep", "1000")
    try:
        wait_until(lambda: task_status(containerd, tid) == "RUNNING", 30, "task running")
        pid = task_pid(containerd, tid)
        # exec, without and with a terminal
        assert containerd.ok("tasks", "exec", "--exec-id", "e1", tid, "echo",
                             "hello") == "hello\n"
        res = containerd.ctr("tasks", "exec", "--exec-id", "e2", tid, "sh", "-c", "exit 4")
        assert res.returncode == 4
        # the process outlives ctr's pty resize, which ctr sends once it started: a `tty`
        # that had already exited made containerd answer "cannot resize a stopped
        # container" and its output was lost (once in ~17 runs here, on a loaded machine)
        rc, tty = run_with_tty(containerd.ctr_cmd("tasks", "exec", "-t", "--exec-id", "e3",
                                                  tid, "sh", "-c", "tty; sleep 1"), b"")
        assert rc == 0 and tty.strip().startswith("/dev/pts/"), tty
        # ps: the runtime's `ps --format json`, host pids
        pids = [int(ln.split()[0]) for ln in containerd.ok("tasks", "ps", tid).splitlines()[1:]]
        assert pids == [pid]
        # pause and resume
        containerd.ok("tasks", "pause", tid)
        assert task_status(containerd, tid) == "PAUSED"
        containerd.ok("tasks", "resume", tid)
        assert task_status(containerd, tid) == "RUNNING"
        # metrics: from the cgroup the runtime made at cgroupsPath /<namespace>/<id>
        metrics = containerd.ok("tasks", "metrics", tid)
        rows = dict(ln.split(None, 1) for ln in metrics.splitlines() if ln.strip())
        assert rows["memory.limit_in_bytes"].strip() == str(64 << 20), metrics
        assert int(rows["pids.current"]) == 1 and int(rows["memory.usage_in_bytes"]) > 0
        with open(f"/proc/{pid}/cgroup") as f:
            assert f":/{containerd.namespace}/{tid}\n" in f.read()
        # kill --all with a signal the init does not ignore
        containerd.ctr("tasks", "exec", "-d", "--exec-id", "e4", tid, "sleep", "1000")
        containerd.ok("tasks", "kill", "--all", "-s", "9", tid)
        wait_until(lambda: task_status(containerd, tid) == "STOPPED", 30, "task stopped")
        containerd.ok("tasks", "delete", tid)
        assert not os.path.exists(f"/proc/{pid}")
    finally:
        remove_task(containerd, tid)
    wait_until(lambda: tid not in containerd.ok("containers", "ls", "-q").split(), 5,
               "container gone")
    assert not (containerd.runc_root / runtime / containerd.namespace / tid).exists()


# --- a spec as the CRI plugin writes it ------------------------------------------------

def cri_spec(base: dict[str, Any], rootfs: Path, sandbox_pid: int, cgroups_path: str,
             args: list[str]) -> dict[str, Any]:
    """ctr's default spec reshaped as containerd's CRI plugin makes one for a pod's
    container on cgroup v1: the sandbox's pid, ipc, uts and network namespaces by path,
    a read-only cgroup mount without a cgroup namespace, the cgroup parent of the pod,
    resources as kubelet asks them."""
    spec = json.loads(json.dumps(base))
    spec["process"]["args"] = args
    spec["process"]["env"] = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    spec["root"] = {"path": str(rootfs), "readonly": True}
    spec["process"]["noNewPrivileges"] = False
    spec["process"]["oomScoreAdj"] = 1000
    spec["hostname"] = ""
    spec["mounts"] = [m for m in spec["mounts"] if m["destination"] != "/sys/fs/cgroup"]
    spec["mounts"].append({"destination": "/sys/fs/cgroup", "type": "cgroup",
                           "source": "cgroup",
                           "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]})
    linux = spec["linux"]
    linux["namespaces"] = [{"type": "mount"}] + [
        {"type": kind, "path": f"/proc/{sandbox_pid}/ns/{name}"}
        for kind, name in (("pid", "pid"), ("ipc", "ipc"), ("uts", "uts"),
                           ("network", "net"))]
    linux["cgroupsPath"] = cgroups_path
    linux["resources"] = {
        "devices": [{"allow": False, "access": "rwm"}],
        "memory": {"limit": 48 << 20},
        "cpu": {"shares": 2, "period": 100000, "quota": 50000},
        "blockIO": {"weight": 0},
    }
    spec["annotations"] = {"io.kubernetes.cri.container-type": "container",
                           "io.kubernetes.cri.sandbox-id": "sandbox"}
    return spec


def test_cri_shaped_spec(containerd: Containerd, runtime: str, tmp_path: Path,
                         busybox_rootfs: Path) -> None:
    sandbox = task_id()
    containerd.ok("run", "-d", *containerd.run_args(runtime), PAUSE_IMAGE, sandbox)
    pod = f"{containerd.namespace}/pod{uuid.uuid4().hex[:6]}"
    try:
        wait_until(lambda: task_status(containerd, sandbox) == "RUNNING", 30, "sandbox up")
        spid = task_pid(containerd, sandbox)
        base = json.loads(containerd.ok("oci", "spec"))
        script = ("cat /sys/fs/cgroup/memory/memory.limit_in_bytes "
                  "/sys/fs/cgroup/cpu/cpu.shares; "
                  "ps -o comm | grep -c sleep; "
                  "readlink /proc/self/ns/net; readlink /proc/self/ns/ipc; "
                  "touch /sys/fs/cgroup/memory/x 2>&1 | grep -c 'Read-only'; "
                  "grep :memory: /proc/self/cgroup")
        # kubelet's cgroupfs form: /<qos>/<pod>/<id>, and a container directly under the
        # namespace's parent. (A relative path is taken relative to the runtime's own
        # cgroup by runc and by ours alike: here that is the machine's, not to be touched.)
        for n, cgroups_path in enumerate((f"/{pod}/ctr", f"/{containerd.namespace}/solo")):
            tid = task_id()
            spec_file = tmp_path / f"spec{n}.json"
            spec_file.write_text(json.dumps(cri_spec(base, busybox_rootfs, spid, cgroups_path,
                                                     ["sh", "-c", script])))
            res = containerd.ctr("run", "--rm", *containerd.run_args(runtime),
                                 "--config", str(spec_file), tid)
            assert res.returncode == 0, res.stderr
            lines = res.stdout.split()
            assert lines[:3] == [str(48 << 20), "2", "1"], res.stdout
            assert lines[3:5] == [os.readlink(f"/proc/{spid}/ns/net"),
                                  os.readlink(f"/proc/{spid}/ns/ipc")], res.stdout
            assert lines[5] == "1", res.stdout
            assert lines[6].split(":", 1)[1] == f"memory:{cgroups_path}", res.stdout
            wait_until(lambda t=tid: t not in containerd.ok("containers", "ls", "-q").split(),
                       30, "container removed")  # type: ignore[misc]
    finally:
        remove_task(containerd, sandbox)
