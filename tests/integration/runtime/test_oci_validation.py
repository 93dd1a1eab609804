"""Regressions found by the OCI runtime-tools validation suite (docs/oci-validation.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import Runtime


def test_seccomp_denying_close_range_without_no_new_privs(runtime: Runtime,
                                                           make_bundle) -> None:
    # runtime-tools' default config: a seccomp allow-list without close_range and no
    # noNewPrivileges, so the filter is loaded before the fds are marked close-on-exec.
    b = make_bundle(["sh", "-c", "echo hi; ls /proc/self/fd"])
    b.config["process"]["noNewPrivileges"] = False
    b.config["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["close_range"], "action": "SCMP_ACT_ERRNO",
                      "errnoRet": 1}],
    }
    b.write()
    proc = runtime.run("run", "-b", str(b), runtime.new_id())
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.split()
    assert lines[0] == "hi"
    assert sorted(lines[1:]) == ["0", "1", "2", "3"]  # 3: ls's own directory fd


def _without(config: dict, kind: str) -> None:
    config["linux"]["namespaces"] = [ns for ns in config["linux"]["namespaces"]
                                     if ns["type"] != kind]


@pytest.fixture
def holder() -> Iterator[Callable[[str], str]]:
    """holder("--mount") -> /proc/PID/ns/... of a sleeping process in a new namespace."""
    procs: list[subprocess.Popen[bytes]] = []

    def make(flag: str) -> str:
        p = subprocess.Popen(["unshare", flag, "sleep", "60"])
        procs.append(p)
        kind = {"--mount": "mnt", "--uts": "uts"}[flag]
        deadline = time.monotonic() + 5
        while os.readlink(f"/proc/{p.pid}/ns/{kind}") == os.readlink(f"/proc/self/ns/{kind}"):
            assert time.monotonic() < deadline, "unshare did not start"
            time.sleep(0.01)
        return f"/proc/{p.pid}/ns/{kind}"

    yield make
    for p in procs:
        p.kill()
        p.wait()


def test_no_mount_namespace_chroots_and_leaves_host_root(runtime: Runtime,
                                                         make_bundle) -> None:
    # runtime-tools linux_ns_itype: without a mount namespace the container shares the
    # host's; pivot_root there would move every host process's root: chroot instead.
    b = make_bundle(["sh", "-c", "ls /bin/busybox && echo ok"])
    _without(b.config, "mount")
    b.config["mounts"] = []  # mounts would land in the host's namespace
    b.write()
    before = os.stat("/")
    proc = runtime.run("run", "-b", str(b), runtime.new_id())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["/bin/busybox", "ok"]
    after = os.stat("/")
    assert (before.st_dev, before.st_ino) == (after.st_dev, after.st_ino)


def _mounts_below(path: Path) -> list[str]:
    prefix = str(path) + "/"
    with open("/proc/self/mountinfo") as f:
        return [mp for mp in (line.split()[4] for line in f) if mp.startswith(prefix)]


def test_delete_undoes_mounts_made_without_a_mount_namespace(runtime: Runtime,
                                                             make_bundle, tmp_path) -> None:
    # runtime-tools linux_ns_itype left /proc, /dev, /dev/pts, ... and /sys mounted on the
    # host under the bundle (it then failed to remove it): delete undoes create's mounts,
    # newest first, and leaves alone what was mounted there before (the rootfs itself, a
    # mount below it that one of the container's mounts covered)
    b = make_bundle(["sh", "-c", "grep -c ' /proc ' /proc/self/mountinfo"])
    _without(b.config, "mount")
    b.config["mounts"] = [m for m in b.config["mounts"] if m["destination"] != "/sys"]
    b.config["mounts"].append({"destination": "/mnt/data", "type": "tmpfs",
                               "source": "tmpfs"})
    b.config["linux"]["maskedPaths"] = ["/proc/kcore", "/proc/acpi", "/etc/hostname"]
    b.config["linux"]["readonlyPaths"] = ["/proc/sys", "/etc"]
    b.write()
    (b.rootfs / "mnt" / "data").mkdir(parents=True, exist_ok=True)
    (b.rootfs / "etc" / "hostname").write_text("x\n")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "keep").write_text("kept\n")
    mine = b.rootfs / "mnt" / "data"
    subprocess.run(["mount", "--bind", str(b.rootfs), str(b.rootfs)], check=True)
    try:
        subprocess.run(["mount", "--bind", str(tmp_path / "mine"), str(mine)], check=True)
        cid = runtime.new_id()
        runtime.run("create", "-b", str(b), cid, check=True)
        made = _mounts_below(b.rootfs)
        assert str(b.rootfs / "proc") in made and str(b.rootfs / "etc") in made
        delete = runtime.run("delete", "--force", cid)
        assert delete.returncode == 0 and "warning" not in delete.stderr, delete.stderr
        assert _mounts_below(b.rootfs) == [str(mine)]
        assert (mine / "keep").read_text() == "kept\n"
        with open("/proc/self/mountinfo") as f:
            assert any(line.split()[4] == str(b.rootfs) for line in f)
    finally:
        for mp in reversed(_mounts_below(b.rootfs)):
            subprocess.run(["umount", "-l", mp], check=False)
        subprocess.run(["umount", "-l", str(b.rootfs)], check=False)


def test_failed_create_undoes_mounts_made_without_a_mount_namespace(
        runtime: Runtime, make_bundle, tmp_path) -> None:
    # as delete does (above): a create that fails after the init made its mounts in the
    # host's namespace (here a failing createRuntime hook) leaves none of them
    b = make_bundle(["true"])
    _without(b.config, "mount")
    b.config["mounts"] = [m for m in b.config["mounts"] if m["destination"] != "/sys"]
    b.config["hooks"] = {"createRuntime": [{"path": "/bin/false"}]}
    b.write()
    subprocess.run(["mount", "--bind", str(b.rootfs), str(b.rootfs)], check=True)
    try:
        cid = runtime.new_id()
        create = runtime.run("create", "-b", str(b), cid)
        assert create.returncode != 0 and "createRuntime" in create.stderr, create.stderr
        assert _mounts_below(b.rootfs) == []
        assert not (runtime.root / cid).exists()
    finally:
        for mp in reversed(_mounts_below(b.rootfs)):
            subprocess.run(["umount", "-l", mp], check=False)
        subprocess.run(["umount", "-l", str(b.rootfs)], check=False)


def test_create_without_process_and_start_refuses_it(runtime: Runtime, make_bundle) -> None:
    # config.md: process is OPTIONAL, and REQUIRED when start is called; runtime.md:
    # start MUST generate an error if process was not set (runtime-tools `start`)
    b = make_bundle(["true"])
    del b.config["process"]
    b.write()
    cid = runtime.new_id()
    runtime.run("create", "-b", str(b), cid, check=True)
    assert runtime.state(cid)["status"] == "created"
    start = runtime.run("start", cid)
    assert start.returncode != 0 and "process" in start.stderr, start.stderr
    assert len(start.stderr.strip().splitlines()) == 1
    assert runtime.state(cid)["status"] == "created"  # no effect on the container
    runtime.run("delete", "--force", cid, check=True)
    assert not (runtime.root / cid).exists()


def test_root_readonly_needs_a_mount_namespace(runtime: Runtime, make_bundle) -> None:
    b = make_bundle(["true"])
    _without(b.config, "mount")
    b.config["mounts"] = []
    b.config["root"]["readonly"] = True
    b.write()
    proc = runtime.run("run", "-b", str(b), runtime.new_id())
    assert proc.returncode != 0
    assert "root.readonly" in proc.stderr and "mount namespace" in proc.stderr


def test_join_mount_namespace_by_path(runtime: Runtime, make_bundle, holder) -> None:
    # runtime-tools linux_ns_path: a mount namespace given by path is prepared and
    # pivoted into like a new one
    path = holder("--mount")
    b = make_bundle(["sh", "-c", "cat /proc/self/mountinfo | wc -l; echo ok"])
    for ns in b.config["linux"]["namespaces"]:
        if ns["type"] == "mount":
            ns["path"] = path
    b.write()
    proc = runtime.run("run", "-b", str(b), runtime.new_id())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[-1] == "ok"


def test_hostname_in_uts_namespace_joined_by_path(runtime: Runtime, make_bundle,
                                                  holder) -> None:
    path = holder("--uts")
    b = make_bundle(["hostname"], hostname="joined-uts")
    for ns in b.config["linux"]["namespaces"]:
        if ns["type"] == "uts":
            ns["path"] = path
    b.write()
    proc = runtime.run("run", "-b", str(b), runtime.new_id())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "joined-uts"
    pid = path.split("/")[2]
    out = subprocess.run(["nsenter", "-t", pid, "--uts", "hostname"], capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "joined-uts"


def _hook(script: str) -> dict:
    return {"path": "/bin/sh", "args": ["sh", "-c", script]}


def test_failing_poststart_and_poststop_hooks_warn_and_the_rest_run(
        runtime: Runtime, make_bundle, tmp_path) -> None:
    # runtime-tools poststart_fail, poststop_fail, hooks_stdin: a failing poststart or
    # poststop hook is a warning, the remaining hooks still run; poststart hooks get the
    # state of a running container with its pid even when the process is already gone.
    out = tmp_path / "hooks.out"
    b = make_bundle(["true"])
    b.config["hooks"] = {
        "poststart": [_hook("exit 3"), _hook(f"cat > {out}.poststart; echo ps >> {out}")],
        "poststop": [_hook("exit 4"), _hook(f"echo pt >> {out}")],
    }
    b.write()
    cid = runtime.new_id()
    runtime.run("create", "-b", str(b), cid, check=True)
    pid = runtime.state(cid)["pid"]
    start = runtime.run("start", cid)
    assert start.returncode == 0, start.stderr
    assert "exit status 3" in start.stderr
    deadline = time.monotonic() + 10
    while runtime.state(cid)["status"] != "stopped":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    delete = runtime.run("delete", cid)
    assert delete.returncode == 0, delete.stderr
    assert "exit status 4" in delete.stderr
    assert out.read_text().split() == ["ps", "pt"]
    doc = json.loads((tmp_path / "hooks.out.poststart").read_text())
    assert doc["status"] == "running" and doc["pid"] == pid and doc["id"] == cid


def test_create_hooks_get_the_created_state(runtime: Runtime, make_bundle, tmp_path) -> None:
    # runtime-tools hooks_stdin: prestart, createRuntime and createContainer run in steps 3
    # to 5 of the lifecycle, after the environment is created (step 2, `creating`), so the
    # state on their stdin says `created` (state.md), with the container's pid (as crun)
    b = make_bundle(["true"])
    b.config["annotations"] = {"org.example.k": "v"}
    b.config["hooks"] = {stage: [_hook(f"cat > {tmp_path}/{stage}")]
                         for stage in ("prestart", "createRuntime", "createContainer")}
    b.write()
    cid = runtime.new_id()
    create = runtime.run("create", "-b", str(b), cid)
    assert create.returncode == 0, create.stderr
    pid = runtime.state(cid)["pid"]
    for stage in ("prestart", "createRuntime", "createContainer"):
        doc = json.loads((tmp_path / stage).read_text())
        assert doc["status"] == "created", stage
        assert (doc["id"], doc["pid"], doc["bundle"]) == (cid, pid, str(b.path)), stage
        assert doc["annotations"] == {"org.example.k": "v"}, stage
    runtime.run("delete", "--force", cid, check=True)


@pytest.mark.parametrize("propagation,tag", [("shared", "shared:"),
                                             ("unbindable", "unbindable"),
                                             ("private", None)])
def test_rootfs_propagation_is_the_container_root_mounts(runtime: Runtime, make_bundle,
                                                          propagation: str,
                                                          tag: str | None) -> None:
    # runtime-tools linux_rootfs_propagation: rootfsPropagation applies to "/" as the
    # container sees it (after pivot_root), so a shared root propagates binds of itself
    # and an unbindable one cannot be bind-mounted
    b = make_bundle(["sh", "-c", "awk '$5 == \"/\"' /proc/self/mountinfo"])
    b.config["linux"]["rootfsPropagation"] = propagation
    b.write()
    proc = runtime.run("run", "-b", str(b), runtime.new_id())
    assert proc.returncode == 0, proc.stderr
    fields = proc.stdout.split()
    optional = fields[6:fields.index("-")]
    if tag is None:
        assert optional == []
    else:
        assert any(f.startswith(tag) for f in optional), proc.stdout


def test_seccomp_denying_getcwd_without_no_new_privs(runtime: Runtime, make_bundle) -> None:
    # runtime-tools linux_seccomp: the cwd check must not need getcwd, which the profile
    # (loaded before the user is set, without noNewPrivileges) may deny
    b = make_bundle(["sh", "-c", "echo ok"])
    b.config["process"]["noNewPrivileges"] = False
    b.config["process"]["cwd"] = "/bin"
    b.config["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}],
    }
    b.write()
    proc = runtime.run("run", "-b", str(b), runtime.new_id())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def test_exec_without_mount_namespace_enters_the_container_root(runtime: Runtime,
                                                                 make_bundle) -> None:
    # with no mount namespace the init chroots; an exec must land in the same root
    b = make_bundle(["sleep", "60"])
    _without(b.config, "mount")
    b.config["mounts"] = []
    b.write()
    marker = b.rootfs / "only-in-this-rootfs"
    marker.write_text("")
    cid = runtime.new_id()
    runtime.run("create", "-b", str(b), cid, check=True)
    runtime.run("start", cid, check=True)
    proc = runtime.run("exec", cid, "sh", "-c", "ls /only-in-this-rootfs && pwd")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["/only-in-this-rootfs", "/"]
    runtime.run("delete", "--force", cid, check=True)


def test_joining_the_runtimes_own_mount_namespace_is_refused(runtime: Runtime,
                                                             make_bundle) -> None:
    # a mount namespace given by path is pivoted into; the runtime's own is the host's
    b = make_bundle(["true"])
    for ns in b.config["linux"]["namespaces"]:
        if ns["type"] == "mount":
            ns["path"] = f"/proc/{os.getpid()}/ns/mnt"
    b.write()
    before = os.stat("/")
    proc = runtime.run("run", "-b", str(b), runtime.new_id())
    assert proc.returncode != 0
    assert "runtime's own" in proc.stderr
    assert not runtime.root.exists() or os.listdir(runtime.root) == []
    after = os.stat("/")
    assert (before.st_dev, before.st_ino) == (after.st_dev, after.st_ino)


def test_apparmor_profile_is_armed_before_a_seccomp_filter_denying_openat2(
        runtime: Runtime, make_bundle) -> None:
    # runtime-tools linux_process_apparmor_profile (cgroup v2 VM, profile loaded): the
    # suite's seccomp allow-list has no openat2 and no noNewPrivileges, so the filter is
    # loaded early, and the /proc write of the profile then failed with EPERM (crun and
    # runc arm the profile first, as our exec does)
    from minidocker.runtime import lsm
    if not lsm.apparmor_enabled():
        pytest.skip("no AppArmor on this host (the VM test below runs this one)")
    b = make_bundle(["cat", "/proc/self/attr/apparmor/current"])
    b.config["process"]["noNewPrivileges"] = False
    b.config["process"]["apparmorProfile"] = "unconfined"  # needs no loaded policy
    b.config["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["openat2"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}],
    }
    b.write()
    proc = runtime.run("run", "-b", str(b), runtime.new_id())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "unconfined"


def test_apparmor_regression_runs_in_the_vm() -> None:
    """This host has no AppArmor: run the test above in the test VM (Debian's kernel)."""
    from minidocker.runtime import lsm
    from tests.conftest import REPO
    from tests.vm import harness
    if lsm.apparmor_enabled():
        pytest.skip("AppArmor is enabled here: the test above runs natively")
    if harness.missing_tools():
        pytest.skip(f"no test VM: {' '.join(harness.missing_tools())}")
    harness.setup()
    name = "test_apparmor_profile_is_armed_before_a_seccomp_filter_denying_openat2"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/root",
           "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}
    argv = [sys.executable, "-m", "pytest", "-q", "-rs", "--color=no", "-p", "no:cacheprovider",
            f"tests/integration/runtime/test_oci_validation.py::{name}"]
    with tempfile.TemporaryFile(mode="w+") as out:
        rc = harness.run(argv, env=env, cwd=str(REPO), output=out.fileno(), timeout=600)
        out.seek(0)
        log = out.read()
    assert rc == 0, f"exit {rc}:\n{log[-4000:]}"
    assert "1 passed" in log, log[-3000:]
