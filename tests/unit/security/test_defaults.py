"""Docker's defaults: the 14 capabilities, masked and read-only paths, and the default
seccomp profile resolved by capability and architecture, checked by running the compiled
filter on the calls that matter."""

from __future__ import annotations

from typing import Any

import pytest

from minidocker.linux import caps, seccomp
from minidocker.runtime import defaults
from tests.unit.security.bpf import (
    ALLOW,
    AUDIT_AARCH64,
    AUDIT_ARM,
    AUDIT_I386,
    AUDIT_X86_64,
    ERRNO,
    KILL_THREAD,
    X32_BIT,
    run,
)

EPERM, ENOSYS = 1, 38
CLONE_NEWUSER = 0x10000000
SIGCHLD = 17
X86_64 = {"mount": 165, "clone": 56, "clone3": 435, "unshare": 272, "socket": 41,
          "personality": 135, "ptrace": 101, "reboot": 169, "arch_prctl": 158,
          "read": 0, "mkdir": 83, "chroot": 161, "bpf": 321, "fchmodat2": 452, "mseal": 462,
          "open_tree_attr": 467, "uretprobe": 335, "keyctl": 250, "add_key": 248}


def profile_for(capabilities: list[str], arch: str = "amd64") -> bytes:
    return seccomp.prepare(defaults.docker_seccomp_profile(capabilities, arch)).program


@pytest.fixture(scope="module")
def docker() -> bytes:
    return profile_for(defaults.DOCKER_CAPABILITIES)


@pytest.fixture(scope="module")
def privileged() -> bytes:
    return profile_for(defaults.DOCKER_CAPABILITIES + ["CAP_SYS_ADMIN", "CAP_SYS_PTRACE"])


def call(program: bytes, name: str, *args: int) -> int:
    return run(program, AUDIT_X86_64, X86_64[name], args)


def test_docker_capabilities_are_the_fourteen_known_ones() -> None:
    assert len(defaults.DOCKER_CAPABILITIES) == 14
    assert len(set(defaults.DOCKER_CAPABILITIES)) == 14
    assert all(caps.cap_number(c) is not None for c in defaults.DOCKER_CAPABILITIES)
    assert "CAP_SYS_ADMIN" not in defaults.DOCKER_CAPABILITIES
    assert "CAP_NET_RAW" in defaults.DOCKER_CAPABILITIES


def test_masked_and_readonly_paths() -> None:
    assert "/proc/kcore" in defaults.DOCKER_MASKED_PATHS
    assert "/sys/firmware" in defaults.DOCKER_MASKED_PATHS
    assert "/proc/sys" in defaults.DOCKER_READONLY_PATHS
    assert "/proc/sysrq-trigger" in defaults.DOCKER_READONLY_PATHS
    masked = defaults.docker_masked_paths()
    assert masked[:len(defaults.DOCKER_MASKED_PATHS)] == defaults.DOCKER_MASKED_PATHS
    assert all(p.endswith("/thermal_throttle") for p in masked[len(defaults.DOCKER_MASKED_PATHS):])


@pytest.mark.parametrize("arch", ["amd64", "x86_64", "arm64", "aarch64", "s390x", "ppc64le",
                                  "riscv64", "loongarch64", "mips64"])
def test_profile_validates_and_compiles_on_every_architecture(arch: str) -> None:
    doc = defaults.docker_seccomp_profile(defaults.DOCKER_CAPABILITIES, arch)
    seccomp.validate(doc)
    assert doc["defaultAction"] == "SCMP_ACT_ERRNO" and doc["defaultErrnoRet"] == EPERM
    assert seccomp.prepare(doc).instructions < 4096


@pytest.mark.parametrize(("arch", "expected"), [
    ("amd64", ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]),
    ("x86_64", ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]),
    ("arm64", ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]),
    ("s390x", ["SCMP_ARCH_S390X", "SCMP_ARCH_S390"]),
    ("ppc64le", None),
])
def test_architectures_follow_dockers_arch_map(arch: str, expected: list[str] | None) -> None:
    doc = defaults.docker_seccomp_profile([], arch)
    assert doc.get("architectures") == expected


def names(doc: dict[str, Any]) -> set[str]:
    return {n for entry in doc["syscalls"] for n in entry["names"]}


def test_arch_specific_calls_only_on_their_architecture() -> None:
    amd64 = names(defaults.docker_seccomp_profile([], "amd64"))
    arm64 = names(defaults.docker_seccomp_profile([], "arm64"))
    assert "arch_prctl" in amd64 and "arch_prctl" not in arm64
    assert "modify_ldt" in amd64
    assert "cacheflush" in arm64 and "cacheflush" not in amd64
    ppc = names(defaults.docker_seccomp_profile([], "ppc64le"))
    assert "swapcontext" in ppc and "swapcontext" not in amd64


def test_profile_is_a_fresh_copy() -> None:
    first = defaults.docker_seccomp_profile([], "amd64")
    first["syscalls"][2]["args"][0]["value"] = 12345
    first["syscalls"][0]["names"].append("reboot")
    second = defaults.docker_seccomp_profile([], "amd64")
    assert first != second


def test_default_profile_allows_ordinary_calls(docker: bytes) -> None:
    assert call(docker, "read") == ALLOW
    assert call(docker, "mkdir") == ALLOW
    assert call(docker, "arch_prctl") == ALLOW
    assert call(docker, "chroot") == ALLOW  # CAP_SYS_CHROOT is a Docker default
    assert call(docker, "fchmodat2") == ALLOW
    assert call(docker, "mseal") == ALLOW  # newer than this libseccomp: the stub's rule
    assert call(docker, "uretprobe") == ALLOW


def test_default_profile_denies_what_needs_privilege(docker: bytes) -> None:
    assert call(docker, "mount") == ERRNO(EPERM)
    assert call(docker, "unshare") == ERRNO(EPERM)
    assert call(docker, "reboot") == ERRNO(EPERM)
    assert call(docker, "bpf") == ERRNO(EPERM)
    assert call(docker, "keyctl") == ERRNO(EPERM)
    assert call(docker, "add_key") == ERRNO(EPERM)
    assert call(docker, "ptrace") == ALLOW


def test_clone_without_sys_admin_cannot_create_namespaces(docker: bytes,
                                                          privileged: bytes) -> None:
    assert call(docker, "clone", SIGCHLD) == ALLOW
    assert call(docker, "clone", SIGCHLD | CLONE_NEWUSER) == ERRNO(EPERM)
    assert call(docker, "clone3") == ERRNO(ENOSYS)  # so that libc falls back to clone
    assert call(privileged, "clone", SIGCHLD | CLONE_NEWUSER) == ALLOW
    assert call(privileged, "clone3") == ALLOW
    assert call(privileged, "mount") == ALLOW
    assert call(privileged, "bpf") == ALLOW


def test_socket_families_alg_and_vsock_are_refused(docker: bytes) -> None:
    af_inet, af_alg, af_nfc, af_vsock, af_xdp = 2, 38, 39, 40, 44
    assert call(docker, "socket", af_inet) == ALLOW
    assert call(docker, "socket", af_nfc) == ALLOW
    assert call(docker, "socket", af_xdp) == ALLOW
    assert call(docker, "socket", af_alg) == ERRNO(EPERM)
    assert call(docker, "socket", af_vsock) == ERRNO(EPERM)


def test_personality_only_for_harmless_personas(docker: bytes) -> None:
    for persona in (0x0, 0x0008, 0x20000, 0x20008, 0xFFFFFFFF):
        assert call(docker, "personality", persona) == ALLOW
    assert call(docker, "personality", 0x0040000) == ERRNO(EPERM)  # ADDR_NO_RANDOMIZE


def test_calls_newer_than_the_profile_answer_enosys(docker: bytes) -> None:
    assert call(docker, "open_tree_attr") == ERRNO(ENOSYS)
    assert run(docker, AUDIT_X86_64, 1000) == ERRNO(ENOSYS)


def test_capability_names_without_prefix_and_lowercase_count() -> None:
    doc = defaults.docker_seccomp_profile(["sys_admin"], "amd64")
    assert "mount" in names(doc)


def test_32_bit_and_x32_calls_are_covered_on_amd64(docker: bytes) -> None:
    assert run(docker, AUDIT_I386, 3) == ALLOW  # read
    assert run(docker, AUDIT_I386, 21) == ERRNO(EPERM)  # mount
    assert run(docker, AUDIT_X86_64, X32_BIT | 0) == ALLOW  # x32 read
    assert run(docker, AUDIT_AARCH64, 63) == KILL_THREAD  # not an amd64 architecture


def test_arm64_profile_covers_arm() -> None:
    program = profile_for(defaults.DOCKER_CAPABILITIES, "arm64")
    assert run(program, AUDIT_AARCH64, 63) == ALLOW  # read
    assert run(program, AUDIT_AARCH64, 40) == ERRNO(EPERM)  # mount
    assert run(program, AUDIT_ARM, 3) == ALLOW  # read
    assert run(program, AUDIT_ARM, 0x0F0002) == ALLOW  # ARM cacheflush
