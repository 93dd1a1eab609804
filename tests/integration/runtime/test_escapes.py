"""Regression tests for the escapes that hit runc and crun, and the rootless runtime."""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import shutil
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import REPO, Runtime


def digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_cve_2019_5736_runtime_exe_is_out_of_reach(runtime: Runtime, make_bundle) -> None:
    """A container process sharing the pid namespace of a container whose init is still
    the runtime (host Python) cannot open /proc/1/exe, so cannot overwrite the runtime."""
    a = make_bundle(["true"])
    a_id = runtime.new_id()
    runtime.run("create", "-b", str(a), a_id, check=True)
    a_pid = runtime.state(a_id)["pid"]
    python = os.path.realpath(f"/proc/{a_pid}/exe")
    assert "python" in python
    before = digest(python)
    b = make_bundle(["sh", "-c", "cat /proc/1/exe > /dev/null 2>&1; echo read=$?; "
                                 "echo x 2>/dev/null >> /proc/1/exe; echo write=$?"])
    for ns in b.config["linux"]["namespaces"]:
        if ns["type"] == "pid":
            ns["path"] = f"/proc/{a_pid}/ns/pid"
    b.write()
    proc = runtime.run("run", "-b", str(b), runtime.new_id())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["read=1", "write=1"]
    assert digest(python) == before


def test_cve_2019_5736_exec_is_out_of_reach(runtime: Runtime, make_bundle) -> None:
    """While `exec` enters a container, the container cannot open the entering
    process's /proc/<pid>/exe (which is host Python until it execs)."""
    b = make_bundle(["sh", "-c",
                     "while :; do for e in /proc/[0-9]*/exe; do "
                     "head -c 4 $e >/dev/null 2>&1 && readlink $e >> /tmp/opened; done; done"])
    cid = runtime.new_id()
    runtime.run("run", "-d", "-b", str(b), cid, check=True)
    for _ in range(15):
        runtime.run("exec", cid, "true", check=True)
    pid = runtime.state(cid)["pid"]
    opened = Path(f"/proc/{pid}/root/tmp/opened")
    seen = set(opened.read_text().split()) if opened.exists() else set()
    assert not any("python" in exe for exe in seen), seen


def test_cve_2021_30465_mount_destination_symlink_stays_inside(
        runtime: Runtime, make_bundle, tmp_path: Path) -> None:
    host_dir = tmp_path / "host-victim"
    host_dir.mkdir()
    src = tmp_path / "src"
    src.mkdir()
    (src / "payload").write_text("mounted\n")
    b = make_bundle(["sh", "-c", f"cat /evil/sub/payload; ls {host_dir}/sub"])
    os.symlink(f"/../../../../../../../..{host_dir}", b.rootfs / "evil")
    b.config["mounts"].append({"destination": "/evil/sub", "type": "bind",
                               "source": str(src), "options": ["bind"]})
    b.write()
    proc = runtime.run("run", "-b", str(b), runtime.new_id())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["mounted", "payload"]
    # the mount and the directory were made inside the rootfs, never on the host
    assert list(host_dir.iterdir()) == []
    assert (b.rootfs / str(host_dir).lstrip("/") / "sub").is_dir()
    with open("/proc/self/mountinfo") as f:
        assert str(host_dir) not in f.read()


def test_cve_2024_45310_swapped_directory_never_leads_outside(
        runtime: Runtime, make_bundle, tmp_path: Path) -> None:
    """A directory swapped for a symlink to the host while mounts are made under it."""
    host_dir = tmp_path / "host-victim"
    host_dir.mkdir()
    b = make_bundle(["true"])
    b.config["mounts"].append({"destination": "/swap/a/b", "type": "tmpfs",
                               "source": "tmpfs", "options": ["size=1k"]})
    b.write()
    stop = threading.Event()
    swap = b.rootfs / "swap"

    def swapper() -> None:
        while not stop.is_set():
            tmp = b.rootfs / f"link{uuid.uuid4().hex[:6]}"
            try:
                os.symlink(str(host_dir), tmp)
                if swap.is_dir() and not swap.is_symlink():
                    shutil.rmtree(swap, ignore_errors=True)
                os.rename(tmp, swap)
            except OSError:
                pass
            finally:
                if tmp.is_symlink():
                    tmp.unlink()
            try:
                swap.unlink()
            except OSError:
                pass

    thread = threading.Thread(target=swapper, daemon=True)
    thread.start()
    try:
        for _ in range(20):
            runtime.run("run", "-b", str(b), runtime.new_id())
    finally:
        stop.set()
        thread.join()
    assert list(host_dir.iterdir()) == []
    with open("/proc/self/mountinfo") as f:
        assert str(host_dir) not in f.read()


def test_cve_2025_31133_masks_use_the_real_dev_null(runtime: Runtime, make_bundle) -> None:
    """The image's /dev/null is a symlink to a sensitive file: masking still uses the
    host's real /dev/null, and never binds the symlink's target over a masked path."""
    core_pattern = Path("/proc/sys/kernel/core_pattern").read_text()
    b = make_bundle(["sh", "-c", "stat -c %t:%T /proc/timer_list; "
                                 "echo '|/tmp/pwn' > /proc/timer_list; echo done"])
    b.config["mounts"] = [m for m in b.config["mounts"] if m["destination"] != "/dev"
                          and not m["destination"].startswith("/dev/")]
    b.config["linux"]["maskedPaths"] = ["/proc/timer_list"]
    b.config["linux"]["readonlyPaths"] = []
    b.write()
    (b.rootfs / "dev").mkdir(exist_ok=True)
    os.symlink("/proc/sys/kernel/core_pattern", b.rootfs / "dev" / "null")
    proc = runtime.run("run", "-b", str(b), runtime.new_id())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[0] == "1:3"
    assert Path("/proc/sys/kernel/core_pattern").read_text() == core_pattern


def test_malicious_dev_symlinks_do_not_write_outside(runtime: Runtime, make_bundle,
                                                     tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("host data\n")
    b = make_bundle(["sh", "-c", "ls -l /dev/zero; stat -c %t:%T /dev/null"])
    b.config["mounts"] = [m for m in b.config["mounts"] if m["destination"] != "/dev"
                          and not m["destination"].startswith("/dev/")]
    b.config["linux"]["devices"] = [{"path": "/dev/zero", "type": "c", "major": 1,
                                     "minor": 5, "fileMode": 0o666},
                                    {"path": "/dev/sub/fuse", "type": "c", "major": 10,
                                     "minor": 229}]
    b.write()
    (b.rootfs / "dev").mkdir(exist_ok=True)
    os.symlink(str(victim), b.rootfs / "dev" / "zero")
    os.symlink(str(tmp_path), b.rootfs / "dev" / "sub")
    proc = runtime.run("run", "-b", str(b), runtime.new_id())
    assert proc.returncode == 0, proc.stderr
    assert victim.read_text() == "host data\n"
    assert not (tmp_path / "fuse").exists()
    assert proc.stdout.split()[-1] == "1:3"  # /dev/null was created as a real node


def test_proc_writes_go_only_to_a_real_procfs(runtime: Runtime, make_bundle) -> None:
    """A fake /proc (a tmpfs) in the config cannot catch the runtime's writes."""
    b = make_bundle(["sh", "-c", "find /proc | wc -l"])
    b.config["mounts"] = [m for m in b.config["mounts"] if m["destination"] != "/proc"]
    b.config["mounts"].insert(0, {"destination": "/proc", "type": "tmpfs",
                                  "source": "tmpfs", "options": ["size=1m"]})
    b.config["linux"]["maskedPaths"] = []
    b.config["linux"]["readonlyPaths"] = []
    b.config["linux"]["sysctl"] = {"kernel.msgmax": "5151"}
    b.config["process"]["oomScoreAdj"] = 77
    b.write()
    cid = runtime.new_id()
    runtime.run("create", "-b", str(b), cid, check=True)
    pid = runtime.state(cid)["pid"]
    assert Path(f"/proc/{pid}/oom_score_adj").read_text().strip() == "77"
    runtime.run("start", cid, check=True)
    deadline = time.monotonic() + 5
    while runtime.state(cid)["status"] != "stopped" and time.monotonic() < deadline:
        time.sleep(0.02)


def _subid_range(path: str, name: str) -> int:
    for line in Path(path).read_text().splitlines():
        owner, start, _count = line.split(":")
        if owner == name:
            return int(start)
    raise AssertionError(f"{name} has no range in {path}")


@pytest.fixture
def unprivileged_user():
    """A user of the test's own, with subordinate id ranges (useradd adds them)."""
    name = f"mdt{uuid.uuid4().hex[:6]}"
    for path in ("/etc/subuid", "/etc/subgid"):
        Path(path).touch()
    subprocess.run(["useradd", "--no-create-home", "--shell", "/bin/sh", name], check=True)
    try:
        yield pwd.getpwnam(name)
    finally:
        subprocess.run(["userdel", name], check=False)
        for path in ("/etc/subuid", "/etc/subgid"):  # userdel may leave the range
            lines = Path(path).read_text().splitlines(keepends=True)
            Path(path).write_text("".join(x for x in lines if not x.startswith(name + ":")))


def test_rootless_run_as_ordinary_user(unprivileged_user, busybox_rootfs: Path,
                                       reachable_dir: Path) -> None:
    """An ordinary user runs a container: own uid mapped to root, no cgroups, no root."""
    python = shutil.which("python3", path="/usr/bin:/bin")
    if python is None:
        pytest.fail("the rootless test needs a python3 that any user can execute")
    user = unprivileged_user
    work = reachable_dir / "rootless"
    work.mkdir()
    shutil.copytree(REPO / "src" / "minidocker", work / "src" / "minidocker",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (work / "bundle").mkdir()
    subprocess.run(["cp", "-a", str(busybox_rootfs), str(work / "bundle" / "rootfs")],
                   check=True)
    subprocess.run(["chown", "-R", f"{user.pw_uid}:{user.pw_gid}", str(work)], check=True)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(work / "src"),
           "XDG_RUNTIME_DIR": str(work / "run"), "HOME": str(work)}

    def as_user(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([python, "-m", "minidocker.runtime.cli", *args],
                              cwd=work / "bundle", env=env, capture_output=True, text=True,
                              user=user.pw_uid, group=user.pw_gid, extra_groups=[],
                              stdin=subprocess.DEVNULL, timeout=60)

    assert as_user("spec", "--rootless").returncode == 0
    config = (work / "bundle" / "config.json").read_text()
    config = config.replace('"terminal": true', '"terminal": false').replace(
        '"readonly": true', '"readonly": false').replace(
        '"sh"\n', '"sh", "-c", "id -u; cat /proc/self/uid_map; touch /f; stat -c %u /f"\n')
    (work / "bundle" / "config.json").write_text(config)
    proc = as_user("run", "r1")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "0"
    assert lines[1].split() == ["0", str(user.pw_uid), "1"]
    assert lines[2] == "0"
    assert (work / "bundle" / "rootfs" / "f").stat().st_uid == user.pw_uid
    # more than the own id: the ranges of /etc/subuid, written by newuidmap/newgidmap
    sub_uid = _subid_range("/etc/subuid", user.pw_name)
    sub_gid = _subid_range("/etc/subgid", user.pw_name)
    doc = json.loads(config)
    doc["linux"]["uidMappings"].append({"containerID": 1, "hostID": sub_uid, "size": 1000})
    doc["linux"]["gidMappings"].append({"containerID": 1, "hostID": sub_gid, "size": 1000})
    doc["process"]["args"] = ["cat", "/proc/self/uid_map", "/proc/self/gid_map"]
    (work / "bundle" / "config.json").write_text(json.dumps(doc))
    proc = as_user("run", "r3")
    assert proc.returncode == 0, proc.stderr
    maps = [line.split() for line in proc.stdout.splitlines()]
    assert maps == [["0", str(user.pw_uid), "1"], ["1", str(sub_uid), "1000"],
                    ["0", str(user.pw_gid), "1"], ["1", str(sub_gid), "1000"]]
    # what needs root is refused with a clear line
    config = config.replace('"uidMappings"', '"uidMappings_unused"')
    bad = (work / "bundle" / "config.json")
    bad.write_text(config.replace('"linux": {', '"linux": {"resources": '
                                  '{"pids": {"limit": 10}},', 1))
    proc = as_user("run", "r2")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) <= 2


def test_resolution_in_the_rootfs_survives_mounts_elsewhere(tmp_path: Path) -> None:
    """openat2(RESOLVE_IN_ROOT) fails with EAGAIN when any mount or rename on the host
    races a ".." of the lookup (seen as 'openat2 etc/resolv.conf: Resource temporarily
    unavailable' under load): the runtime tries again. Mounts churn meanwhile in a
    private mount namespace of the test's own."""
    from minidocker.linux import libc
    root = tmp_path / "root"
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    (tmp_path / "mnt").mkdir()
    churn = subprocess.Popen(
        ["unshare", "-m", "--propagation", "private", "sh", "-c",
         f"while :; do mount -t tmpfs none {tmp_path}/mnt; umount {tmp_path}/mnt; done"])
    fd = os.open(root, os.O_PATH | os.O_DIRECTORY)
    failures = []
    try:
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            try:
                os.close(libc.openat2(fd, "a/../b/../a/../b", os.O_PATH, libc.RESOLVE_IN_ROOT))
            except OSError as e:
                failures.append(e.strerror)
    finally:
        churn.kill()
        churn.wait()
        os.close(fd)
    assert failures == []
