"""Device rules: v1 lines, and the eBPF program run by a small interpreter of the few BPF
instructions it uses (the same program is loaded into a real kernel by the integration
tests)."""

from __future__ import annotations

import struct

import pytest

from minidocker.linux.cgroups.devices import ebpf
from minidocker.linux.cgroups.devices.rules import DeviceRule, effective, parse_rules

M, R, W = 1, 2, 4
CHAR, BLOCK = ebpf.DEV_CHAR, ebpf.DEV_BLOCK


def run(program: bytes, dev_type: int, major: int, minor: int, access: int) -> int:
    """Execute a cgroup device program on one access; returns r0 (1 allow, 0 deny)."""
    ctx = struct.pack("<III", (access << 16) | dev_type, major, minor)
    regs = [0] * 11
    insns = [struct.unpack_from("<BBhi", program, i) for i in range(0, len(program), 8)]
    pc = 0
    steps = 0
    while True:
        steps += 1
        assert steps < 10000, "no exit"
        op, regbyte, off, imm = insns[pc]
        dst, src = regbyte & 0xF, regbyte >> 4
        pc += 1
        if op == ebpf.LDX_W:
            assert src == 1, "loads only from the context"
            regs[dst] = struct.unpack_from("<I", ctx, off)[0]
        elif op == ebpf.MOV32_X:
            regs[dst] = regs[src] & 0xFFFFFFFF
        elif op == ebpf.AND32_K:
            regs[dst] = regs[dst] & imm & 0xFFFFFFFF
        elif op == ebpf.RSH32_K:
            regs[dst] = (regs[dst] & 0xFFFFFFFF) >> imm
        elif op == ebpf.MOV64_K:
            regs[dst] = imm
        elif op == ebpf.JEQ_K:
            pc += off if regs[dst] == imm else 0
        elif op == ebpf.JNE_K:
            pc += off if regs[dst] != imm else 0
        elif op == ebpf.EXIT:
            return regs[0]
        else:
            raise AssertionError(f"unexpected opcode {op:#x}")


DEFAULT_OCI = [
    {"allow": False, "access": "rwm"},
    {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},   # null
    {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rw"},    # zero
    {"allow": True, "type": "c", "major": 136, "access": "rwm"},             # pts/*
    {"allow": True, "type": "b", "access": "m"},                             # mknod any block
]


@pytest.mark.parametrize("dev,access,allowed", [
    ((CHAR, 1, 3), R | W, True),
    ((CHAR, 1, 3), M, True),
    ((CHAR, 1, 5), R, True),
    ((CHAR, 1, 5), M, False),          # zero: rw only
    ((CHAR, 1, 5), R | M, False),      # every requested access must be granted
    ((CHAR, 1, 7), R, False),          # full: not listed
    ((CHAR, 136, 42), W, True),        # any minor
    ((BLOCK, 1, 3), R, False),         # type matters
    ((BLOCK, 8, 0), M, True),
    ((BLOCK, 8, 0), R, False),
])
def test_the_default_allowlist(dev: tuple[int, int, int], access: int, allowed: bool) -> None:
    program = ebpf.assemble(parse_rules(DEFAULT_OCI))
    assert run(program, *dev, access) == int(allowed)


def test_without_a_reset_rule_the_default_is_allow_and_later_rules_win() -> None:
    rules = parse_rules([
        {"allow": False, "type": "c", "major": 1, "minor": 5, "access": "rwm"},
        {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "r"},
        {"allow": False, "type": "c", "major": 10, "access": "w"},
    ])
    program = ebpf.assemble(rules)
    assert run(program, CHAR, 1, 3, R | W) == 1
    assert run(program, CHAR, 1, 5, R) == 1      # re-allowed for reading
    assert run(program, CHAR, 1, 5, W) == 0
    assert run(program, CHAR, 10, 200, R) == 1
    assert run(program, CHAR, 10, 200, R | W) == 0  # any denied access denies


def test_a_type_a_rule_resets_what_came_before() -> None:
    rules = parse_rules([
        {"allow": True, "type": "c", "major": 1, "minor": 7, "access": "rwm"},
        {"allow": False, "access": "rwm"},
        {"allow": True, "type": "c", "major": 1, "minor": 3},
    ])
    default, exceptions = effective(rules)
    assert default is False
    assert exceptions == [DeviceRule(True, "c", 1, 3, "rwm")]
    program = ebpf.assemble(rules)
    assert run(program, CHAR, 1, 7, R) == 0
    assert run(program, CHAR, 1, 3, R) == 1
    assert run(ebpf.assemble(parse_rules([{"allow": True}])), CHAR, 4, 4, W) == 1


def test_v1_lines() -> None:
    rules = parse_rules(DEFAULT_OCI + [{"allow": True, "type": "c", "major": -1,
                                        "minor": -1, "access": "mwr"}])
    assert [r.v1_line() for r in rules] == ["a", "c 1:3 rwm", "c 1:5 rw", "c 136:* rwm",
                                            "b *:* m", "c *:* rwm"]


def test_instructions_are_well_formed() -> None:
    program = ebpf.assemble(parse_rules(DEFAULT_OCI))
    assert len(program) % 8 == 0
    count = len(program) // 8
    for i in range(count):
        op, _, off, _ = struct.unpack_from("<BBhi", program, i * 8)
        if op in (ebpf.JEQ_K, ebpf.JNE_K):
            assert 0 < i + 1 + off < count  # lands inside the program
    assert struct.unpack_from("<B", program, len(program) - 8)[0] == ebpf.EXIT
