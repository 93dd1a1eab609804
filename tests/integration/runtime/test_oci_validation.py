"""Regressions found by the OCI runtime-tools validation suite (docs/oci-validation.md)."""

from __future__ import annotations

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
