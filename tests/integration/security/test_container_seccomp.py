"""seccomp in a real container run by minidocker-runtime: the bundle's linux.seccomp is
compiled before the container starts and enforced on the container's process."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

from minidocker.runtime import defaults
from tests.conftest import Runtime
from tests.integration.security.test_seccomp import Agent


def with_seccomp(make_bundle: Any, args: list[str], seccomp: dict[str, Any],
                 caps: list[str] | None = None) -> Any:
    bundle = make_bundle(args)
    bundle.config.setdefault("linux", {})["seccomp"] = seccomp
    if caps is not None:
        bundle.config["process"]["capabilities"] = {k: list(caps) for k in
                                                    ("bounding", "effective", "permitted")}
    return bundle.write()


def test_errno_rule_fails_the_call_in_the_container(runtime: Runtime, make_bundle) -> None:
    seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                             "errnoRet": errno.EROFS}]}
    bundle = with_seccomp(make_bundle, ["sh", "-c", "mkdir /newdir; echo rc=$?"], seccomp)
    proc = runtime.run("run", "--bundle", str(bundle), runtime.new_id())
    assert proc.returncode == 0, proc.stderr
    assert "rc=1" in proc.stdout
    assert os.strerror(errno.EROFS) in proc.stderr
    assert not (bundle.rootfs / "newdir").exists()


def test_kill_rule_ends_the_container_with_sigsys(runtime: Runtime, make_bundle) -> None:
    seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL_PROCESS"}]}
    bundle = with_seccomp(make_bundle, ["mkdir", "/newdir"], seccomp)
    proc = runtime.run("run", "--bundle", str(bundle), runtime.new_id())
    assert proc.returncode == 128 + 31, (proc.returncode, proc.stderr)


def test_docker_default_profile_in_a_container(runtime: Runtime, make_bundle) -> None:
    seccomp = defaults.docker_seccomp_profile(defaults.DOCKER_CAPABILITIES)
    script = ("echo hello > /tmp/f && cat /tmp/f && "
              "unshare -U true; echo unshare=$?; "
              "mount -t tmpfs none /mnt; echo mount=$?")
    bundle = with_seccomp(make_bundle, ["sh", "-c", script], seccomp,
                          caps=defaults.DOCKER_CAPABILITIES)
    proc = runtime.run("run", "--bundle", str(bundle), runtime.new_id())
    assert proc.returncode == 0, proc.stderr
    assert "hello" in proc.stdout
    assert "unshare=1" in proc.stdout
    assert "mount=1" in proc.stdout
    assert os.strerror(errno.EPERM) in proc.stderr


def test_unknown_syscall_name_is_one_clear_error(runtime: Runtime, make_bundle) -> None:
    seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["mkdri"], "action": "SCMP_ACT_ERRNO"}]}
    bundle = with_seccomp(make_bundle, ["true"], seccomp)
    cid = runtime.new_id()
    proc = runtime.run("run", "--bundle", str(bundle), cid)
    assert proc.returncode != 0
    assert "mkdri" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (runtime.root / cid).exists()


def test_notify_listener_reaches_the_agent_which_decides(runtime: Runtime, make_bundle,
                                                         tmp_path: Path) -> None:
    sock = tmp_path / "agent.sock"
    agent = Agent(sock, answer=0)  # mkdir "succeeds" without making anything
    agent.start()
    seccomp = {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": str(sock),
               "listenerMetadata": "from-test",
               "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]}
    bundle = with_seccomp(make_bundle, ["sh", "-c", "mkdir /newdir; echo rc=$?"], seccomp)
    cid = runtime.new_id()
    try:
        proc = runtime.run("run", "--bundle", str(bundle), cid, timeout=60)
    finally:
        agent.stop()
    assert agent.error is None, repr(agent.error)
    assert proc.returncode == 0, proc.stderr
    assert "rc=0" in proc.stdout
    assert not (bundle.rootfs / "newdir").exists()
    assert agent.message["metadata"] == "from-test"
    assert agent.message["state"]["id"] == cid
    assert agent.message["pid"] > 1  # the pid as the runtime sees it, on the host
