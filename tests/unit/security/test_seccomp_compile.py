"""Compiling linux.seccomp: what the filter answers for each call, and errors for bad input.

The compiled program is run by a classic-BPF interpreter (tests/unit/security/bpf.py) on
the seccomp_data the kernel would pass, so these tests need neither root nor a kernel
filter, and they cover architectures this host cannot execute.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from minidocker.errors import InvalidConfig
from minidocker.linux import seccomp
from tests.unit.security.bpf import (
    ALLOW,
    AUDIT_AARCH64,
    AUDIT_I386,
    AUDIT_X86_64,
    ERRNO,
    KILL_PROCESS,
    KILL_THREAD,
    LOG,
    NOTIFY,
    TRACE,
    TRAP,
    X32_BIT,
    run,
)

# syscall numbers: x86_64, i386, aarch64
MKDIR = {AUDIT_X86_64: 83, AUDIT_I386: 39}
MKDIRAT = {AUDIT_X86_64: 258, AUDIT_I386: 296, AUDIT_AARCH64: 34}
PERSONALITY = {AUDIT_X86_64: 135, AUDIT_I386: 136, AUDIT_AARCH64: 92}
GETPPID = {AUDIT_X86_64: 110, AUDIT_I386: 64, AUDIT_AARCH64: 173}
READ = {AUDIT_X86_64: 0, AUDIT_I386: 3, AUDIT_AARCH64: 63}
X86 = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]
ENOSYS = 38


def profile(default: str = "SCMP_ACT_ALLOW", **fields: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"defaultAction": default, "architectures": list(X86)}
    doc.update(fields)
    return doc


def rule(names: list[str], action: str, **fields: Any) -> dict[str, Any]:
    return {"names": names, "action": action, **fields}


def compiled(doc: dict[str, Any]) -> bytes:
    return seccomp.prepare(doc).program


# ---- actions ------------------------------------------------------------------------------


@pytest.mark.parametrize(("action", "fields", "expected"), [
    ("SCMP_ACT_ERRNO", {}, ERRNO(1)),
    ("SCMP_ACT_ERRNO", {"errnoRet": 122}, ERRNO(122)),
    ("SCMP_ACT_ERRNO", {"errnoRet": 0}, ERRNO(0)),
    ("SCMP_ACT_KILL", {}, KILL_THREAD),
    ("SCMP_ACT_KILL_THREAD", {}, KILL_THREAD),
    ("SCMP_ACT_KILL_PROCESS", {}, KILL_PROCESS),
    ("SCMP_ACT_TRAP", {}, TRAP),
    ("SCMP_ACT_TRACE", {}, TRACE(1)),
    ("SCMP_ACT_TRACE", {"errnoRet": 7}, TRACE(7)),
    ("SCMP_ACT_LOG", {}, LOG),
])
def test_each_action_is_returned_for_its_syscall_on_every_architecture(
        action: str, fields: dict[str, Any], expected: int) -> None:
    program = compiled(profile(syscalls=[rule(["mkdir", "mkdirat"], action, **fields)]))
    for arch in (AUDIT_X86_64, AUDIT_I386):
        assert run(program, arch, MKDIR[arch]) == expected
        assert run(program, arch, MKDIRAT[arch]) == expected
        assert run(program, arch, GETPPID[arch]) == ALLOW


def test_notify_action_sets_the_new_listener_flag() -> None:
    doc = profile(listenerPath="/run/agent.sock",
                  syscalls=[rule(["mkdir"], "SCMP_ACT_NOTIFY")])
    filt = seccomp.prepare(doc)
    assert filt.notify
    assert filt.flags & seccomp.FILTER_FLAG_NEW_LISTENER
    assert run(filt.program, AUDIT_X86_64, MKDIR[AUDIT_X86_64]) == NOTIFY


def test_filter_without_notify_has_no_listener() -> None:
    filt = seccomp.prepare(profile(syscalls=[rule(["mkdir"], "SCMP_ACT_ERRNO")]))
    assert not filt.notify
    assert not filt.flags & seccomp.FILTER_FLAG_NEW_LISTENER


def test_default_errno_ret_applies_to_unlisted_syscalls() -> None:
    doc = profile("SCMP_ACT_ERRNO", defaultErrnoRet=99,
                  syscalls=[rule(["read", "getppid", "personality"], "SCMP_ACT_ALLOW")])
    program = compiled(doc)
    assert run(program, AUDIT_X86_64, GETPPID[AUDIT_X86_64]) == ALLOW
    assert run(program, AUDIT_X86_64, MKDIR[AUDIT_X86_64]) == ERRNO(99)
    assert run(program, AUDIT_I386, MKDIR[AUDIT_I386]) == ERRNO(99)


def test_rule_repeating_the_default_action_is_accepted() -> None:
    doc = profile("SCMP_ACT_ERRNO", syscalls=[rule(["mkdir"], "SCMP_ACT_ERRNO"),
                                              rule(["read"], "SCMP_ACT_ALLOW")])
    program = compiled(doc)
    assert run(program, AUDIT_X86_64, MKDIR[AUDIT_X86_64]) == ERRNO(1)
    assert run(program, AUDIT_X86_64, READ[AUDIT_X86_64]) == ALLOW


def test_flags_are_passed_to_the_kernel() -> None:
    doc = profile(flags=["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"])
    assert seccomp.prepare(doc).flags == seccomp.FILTER_FLAG_LOG | seccomp.FILTER_FLAG_SPEC_ALLOW


# ---- argument conditions ------------------------------------------------------------------


def test_argument_equal_allows_only_that_value() -> None:
    doc = profile("SCMP_ACT_ERRNO", syscalls=[
        rule(["read"], "SCMP_ACT_ALLOW"),
        rule(["personality"], "SCMP_ACT_ALLOW",
             args=[{"index": 0, "value": 0xFFFFFFFF, "op": "SCMP_CMP_EQ"}])])
    program = compiled(doc)
    for arch in (AUDIT_X86_64, AUDIT_I386):
        assert run(program, arch, PERSONALITY[arch], (0xFFFFFFFF,)) == ALLOW
        assert run(program, arch, PERSONALITY[arch], (0x0008,)) == ERRNO(1)


def test_64_bit_values_compare_both_halves() -> None:
    doc = profile(architectures=["SCMP_ARCH_X86_64"], syscalls=[
        rule(["personality"], "SCMP_ACT_ERRNO",
             args=[{"index": 1, "value": 0x1_0000_0002, "op": "SCMP_CMP_EQ"}])])
    program = compiled(doc)
    nr = PERSONALITY[AUDIT_X86_64]
    assert run(program, AUDIT_X86_64, nr, (0, 0x1_0000_0002)) == ERRNO(1)
    assert run(program, AUDIT_X86_64, nr, (0, 0x2)) == ALLOW
    assert run(program, AUDIT_X86_64, nr, (0, 0x2_0000_0002)) == ALLOW


@pytest.mark.parametrize(("op", "value", "denied", "allowed"), [
    ("SCMP_CMP_NE", 5, [4, 6], [5]),
    ("SCMP_CMP_LT", 5, [0, 4], [5, 9]),
    ("SCMP_CMP_LE", 5, [4, 5], [6]),
    ("SCMP_CMP_GE", 5, [5, 2**40], [4]),
    ("SCMP_CMP_GT", 5, [6], [5, 0]),
])
def test_comparison_operators(op: str, value: int, denied: list[int],
                              allowed: list[int]) -> None:
    doc = profile(architectures=["SCMP_ARCH_X86_64"], syscalls=[
        rule(["personality"], "SCMP_ACT_ERRNO",
             args=[{"index": 0, "value": value, "op": op}])])
    program = compiled(doc)
    nr = PERSONALITY[AUDIT_X86_64]
    for v in denied:
        assert run(program, AUDIT_X86_64, nr, (v,)) == ERRNO(1), v
    for v in allowed:
        assert run(program, AUDIT_X86_64, nr, (v,)) == ALLOW, v


def test_masked_equal_tests_only_the_masked_bits() -> None:
    newuser = 0x10000000
    doc = profile("SCMP_ACT_ERRNO", syscalls=[
        rule(["read"], "SCMP_ACT_ALLOW"),
        rule(["personality"], "SCMP_ACT_ALLOW",
             args=[{"index": 0, "value": newuser, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}])])
    program = compiled(doc)
    nr = PERSONALITY[AUDIT_X86_64]
    assert run(program, AUDIT_X86_64, nr, (0x11,)) == ALLOW
    assert run(program, AUDIT_X86_64, nr, (newuser | 0x11,)) == ERRNO(1)


def test_conditions_on_different_arguments_must_all_hold() -> None:
    doc = profile(architectures=["SCMP_ARCH_X86_64"], syscalls=[
        rule(["personality"], "SCMP_ACT_ERRNO",
             args=[{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                   {"index": 1, "value": 2, "op": "SCMP_CMP_EQ"}])])
    program = compiled(doc)
    nr = PERSONALITY[AUDIT_X86_64]
    assert run(program, AUDIT_X86_64, nr, (1, 2)) == ERRNO(1)
    assert run(program, AUDIT_X86_64, nr, (1, 3)) == ALLOW
    assert run(program, AUDIT_X86_64, nr, (0, 2)) == ALLOW


def test_conditions_on_the_same_argument_match_any_as_runc() -> None:
    doc = profile(architectures=["SCMP_ARCH_X86_64"], syscalls=[
        rule(["personality"], "SCMP_ACT_ERRNO",
             args=[{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                   {"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}])])
    program = compiled(doc)
    nr = PERSONALITY[AUDIT_X86_64]
    assert run(program, AUDIT_X86_64, nr, (1,)) == ERRNO(1)
    assert run(program, AUDIT_X86_64, nr, (2,)) == ERRNO(1)
    assert run(program, AUDIT_X86_64, nr, (3,)) == ALLOW


# ---- architectures ------------------------------------------------------------------------


def test_architecture_outside_the_filter_is_killed() -> None:
    program = compiled(profile(architectures=["SCMP_ARCH_X86_64"]))
    assert run(program, AUDIT_X86_64, GETPPID[AUDIT_X86_64]) == ALLOW
    assert run(program, AUDIT_I386, GETPPID[AUDIT_I386]) == KILL_THREAD
    assert run(program, AUDIT_AARCH64, GETPPID[AUDIT_AARCH64]) == KILL_THREAD


def test_foreign_architecture_gets_its_own_numbers() -> None:
    doc = profile(architectures=["SCMP_ARCH_AARCH64"],
                  syscalls=[rule(["mkdirat"], "SCMP_ACT_ERRNO", errnoRet=13)])
    program = compiled(doc)
    assert run(program, AUDIT_AARCH64, MKDIRAT[AUDIT_AARCH64]) == ERRNO(13)
    assert run(program, AUDIT_AARCH64, GETPPID[AUDIT_AARCH64]) == ALLOW


def test_x32_syscalls_are_told_apart_by_their_bit() -> None:
    doc = profile("SCMP_ACT_ERRNO", architectures=["SCMP_ARCH_X86_64", "SCMP_ARCH_X32"],
                  syscalls=[rule(["read", "getppid"], "SCMP_ACT_ALLOW")])
    program = compiled(doc)
    assert run(program, AUDIT_X86_64, X32_BIT | 0) == ALLOW  # x32 read
    assert run(program, AUDIT_X86_64, X32_BIT | 83) == ERRNO(1)  # x32 mkdir
    without_x32 = compiled(profile(architectures=["SCMP_ARCH_X86_64"]))
    assert run(without_x32, AUDIT_X86_64, X32_BIT | 0) == KILL_THREAD


def test_syscall_unknown_to_an_architecture_is_skipped_as_runc_does() -> None:
    # mkdir does not exist on aarch64 and arch_prctl not on i386: no error, no rule there
    doc = profile(architectures=["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_AARCH64"],
                  syscalls=[rule(["mkdir", "arch_prctl", "breakpoint"], "SCMP_ACT_ERRNO")])
    program = compiled(doc)
    assert run(program, AUDIT_X86_64, MKDIR[AUDIT_X86_64]) == ERRNO(1)
    assert run(program, AUDIT_X86_64, 158) == ERRNO(1)  # arch_prctl
    assert run(program, AUDIT_AARCH64, MKDIRAT[AUDIT_AARCH64]) == ALLOW


# ---- calls newer than libseccomp or than the profile --------------------------------------


def test_calls_newer_than_the_profile_answer_enosys() -> None:
    doc = profile("SCMP_ACT_ERRNO", syscalls=[rule(["read", "getppid", "mkdir"],
                                                   "SCMP_ACT_ALLOW")])
    program = compiled(doc)
    # getppid (110) is the highest call named: above it ENOSYS, below it the default
    assert run(program, AUDIT_X86_64, 111) == ERRNO(ENOSYS)
    assert run(program, AUDIT_X86_64, 500) == ERRNO(ENOSYS)
    assert run(program, AUDIT_X86_64, 90) == ERRNO(1)
    assert run(program, AUDIT_I386, 65) == ERRNO(ENOSYS)


def test_no_enosys_stub_when_the_default_allows() -> None:
    program = compiled(profile("SCMP_ACT_ALLOW", syscalls=[rule(["read"], "SCMP_ACT_ERRNO")]))
    assert run(program, AUDIT_X86_64, 500) == ALLOW


def test_calls_unknown_to_libseccomp_get_rules_by_their_common_number() -> None:
    # mseal (462) and listns (470) are newer than libseccomp 2.5.4
    doc = profile("SCMP_ACT_ERRNO", architectures=["SCMP_ARCH_X86_64", "SCMP_ARCH_X32"],
                  syscalls=[rule(["read", "mseal"], "SCMP_ACT_ALLOW"),
                            rule(["listns"], "SCMP_ACT_ERRNO", errnoRet=5)])
    program = compiled(doc)
    assert run(program, AUDIT_X86_64, 462) == ALLOW
    assert run(program, AUDIT_X86_64, 470) == ERRNO(5)
    assert run(program, AUDIT_X86_64, X32_BIT | 462) == ALLOW
    assert run(program, AUDIT_X86_64, 471) == ERRNO(ENOSYS)


# ---- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("doc", "message"), [
    ({"defaultAction": "SCMP_ACT_BOGUS"}, "unknown action 'SCMP_ACT_BOGUS'"),
    ({}, "defaultAction is required"),
    ("allow", "must be an object"),
    ({"defaultAction": "SCMP_ACT_NOTIFY", "listenerPath": "/x"}, "cannot be the default"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 1}, "takes no errnoRet"),
    ({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": -1}, "errnoRet must be"),
    ({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 4095},
     "defaultAction errnoRet must be an integer from 0 to 4094"),
    ({"defaultAction": "SCMP_ACT_ALLOW",
      "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5000}]},
     "syscalls[0] errnoRet must be an integer from 0 to 4094, not 5000"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_VAX"]},
     "unknown architecture 'SCMP_ARCH_VAX'"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_FAST"]},
     "unknown flag 'SECCOMP_FILTER_FLAG_FAST'"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "listenerMetadata": "m"}, "listenerPath is not"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdri"],
                                                       "action": "SCMP_ACT_ERRNO"}]},
     "syscalls[0]: unknown system call 'mkdri'"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": [], "action": "SCMP_ACT_ERRNO"}]},
     "syscalls[0].names must be a non-empty list"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "DENY"}]},
     "syscalls[0]: unknown action 'DENY'"),
    ({"defaultAction": "SCMP_ACT_ALLOW",
      "syscalls": [{"names": ["read"], "action": "SCMP_ACT_KILL", "errnoRet": 3}]},
     "SCMP_ACT_KILL takes no errnoRet"),
    ({"defaultAction": "SCMP_ACT_ALLOW",
      "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO",
                    "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_ABOUT"}]}]},
     "syscalls[0].args[0]: unknown operator 'SCMP_CMP_ABOUT'"),
    ({"defaultAction": "SCMP_ACT_ALLOW",
      "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO",
                    "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]},
     "syscalls[0].args[0].index must be an integer from 0 to 5"),
    ({"defaultAction": "SCMP_ACT_ALLOW",
      "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO",
                    "args": [{"index": 0, "value": 2**64, "op": "SCMP_CMP_EQ"}]}]},
     "syscalls[0].args[0].value must be an integer"),
    ({"defaultAction": "SCMP_ACT_ALLOW",
      "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]},
     "SCMP_ACT_NOTIFY needs listenerPath"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/a.sock",
      "syscalls": [{"names": ["write"], "action": "SCMP_ACT_NOTIFY"}]},
     "SCMP_ACT_NOTIFY cannot be used for write"),
])
def test_bad_input_is_one_clear_error(doc: Any, message: str) -> None:
    with pytest.raises(InvalidConfig) as info:
        seccomp.validate(doc)
    assert message in str(info.value)
    assert "\n" not in str(info.value)
    with pytest.raises(InvalidConfig):
        seccomp.prepare(doc)


@pytest.mark.parametrize("doc", [
    {"defaultAction": ["SCMP_ACT_ALLOW"]},
    {"defaultAction": "SCMP_ACT_ALLOW", "architectures": [["SCMP_ARCH_X86"]]},
    {"defaultAction": "SCMP_ACT_ALLOW", "flags": [{}]},
    {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": [["read"]], "action": "x"}]},
    {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": {}}]},
    {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["read"], "action": "SCMP_ACT_ERRNO",
         "args": [{"index": 0, "value": 1, "op": ["SCMP_CMP_EQ"]}]}]},
    {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": "read", "action": "x"}]},
    {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": {"names": ["read"]}},
    {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": True},
])
def test_wrong_types_are_invalid_config_not_a_crash(doc: dict[str, Any]) -> None:
    with pytest.raises(InvalidConfig):
        seccomp.validate(doc)


def test_names_known_only_to_other_architectures_are_valid() -> None:
    doc = profile(syscalls=[rule(["socketcall", "cacheflush", "s390_runtime_instr",
                                  "riscv_hwprobe", "uretprobe"], "SCMP_ACT_ERRNO")])
    seccomp.validate(doc)
    seccomp.prepare(doc)


# ---- the cache ------------------------------------------------------------------------------


def test_cache_returns_the_same_program(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    doc = profile("SCMP_ACT_ERRNO", syscalls=[rule(["read", "mseal"], "SCMP_ACT_ALLOW")])
    first = seccomp.prepare(doc, cache_dir=str(cache))
    files = list(cache.iterdir())
    assert len(files) == 1
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    second = seccomp.prepare(doc, cache_dir=str(cache))
    assert second.program == first.program == seccomp.prepare(doc).program
    other = seccomp.prepare(profile(), cache_dir=str(cache))
    assert other.program != first.program
    assert len(list(cache.iterdir())) == 2


def test_cache_in_a_directory_others_can_write_is_ignored(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    os.chmod(cache, 0o777)
    doc = profile(syscalls=[rule(["mkdir"], "SCMP_ACT_ERRNO")])
    seccomp.prepare(doc, cache_dir=str(cache))
    assert list(cache.iterdir()) == []


def test_cache_entry_that_is_not_a_program_is_recompiled(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    doc = profile(syscalls=[rule(["mkdir"], "SCMP_ACT_ERRNO")])
    good = seccomp.prepare(doc, cache_dir=str(cache)).program
    (entry,) = cache.iterdir()
    entry.write_bytes(b"short")
    assert seccomp.prepare(doc, cache_dir=str(cache)).program == good


def test_cache_that_cannot_be_written_leaves_no_temp_file(tmp_path: Path) -> None:
    """A full disk (here: a file size limit) only costs the cache: the program is made,
    and its half-written temp file is removed (the fault suite found them left)."""
    from tests.unit.common.failing_writes import fails_for_lack_of_space
    cache = tmp_path / "cache"
    doc = profile(syscalls=[rule(["mkdir"], "SCMP_ACT_ERRNO")])
    assert not fails_for_lack_of_space(lambda: seccomp.prepare(doc, cache_dir=str(cache)))
    assert list(cache.iterdir()) == []


# ---- features -------------------------------------------------------------------------------


def test_features_lists_every_action_operator_and_architecture() -> None:
    doc = seccomp.features()
    assert doc["enabled"] is True
    assert set(doc["actions"]) == set(seccomp.ACTIONS)
    assert "SCMP_CMP_MASKED_EQ" in doc["operators"]
    assert "SCMP_ARCH_X86_64" in doc["archs"]
    assert set(doc["supportedFlags"]) <= set(doc["knownFlags"])


def test_cache_entry_of_another_profile_is_never_used(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    allow = profile(syscalls=[rule(["mkdir"], "SCMP_ACT_ERRNO")])
    deny = profile(syscalls=[rule(["mkdir"], "SCMP_ACT_KILL")])
    seccomp.prepare(allow, cache_dir=str(cache))
    (entry,) = cache.iterdir()
    planted = entry.read_bytes()
    seccomp.prepare(deny, cache_dir=str(cache))
    for other in cache.iterdir():  # every entry now holds the first profile's program
        other.write_bytes(planted)
    program = seccomp.prepare(deny, cache_dir=str(cache)).program
    assert run(program, AUDIT_X86_64, MKDIR[AUDIT_X86_64]) == KILL_THREAD
