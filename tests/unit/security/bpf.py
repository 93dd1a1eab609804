"""A classic-BPF interpreter for seccomp programs: runs a compiled filter on a syscall the
way the kernel would, so that compile tests check behaviour, not instruction lists."""

from __future__ import annotations

import struct

AUDIT_X86_64 = 0xC000003E
AUDIT_I386 = 0x40000003
AUDIT_AARCH64 = 0xC00000B7
AUDIT_ARM = 0x40000028
X32_BIT = 0x40000000

ALLOW = 0x7FFF0000
KILL_THREAD = 0
KILL_PROCESS = 0x80000000
TRAP = 0x00030000
LOG = 0x7FFC0000
NOTIFY = 0x7FC00000


def ERRNO(n: int) -> int:  # noqa: N802 - reads as the action's name
    return 0x00050000 | n


def TRACE(n: int) -> int:  # noqa: N802
    return 0x7FF00000 | n


def seccomp_data(arch: int, nr: int, args: tuple[int, ...] = ()) -> bytes:
    full = list(args) + [0] * (6 - len(args))
    return struct.pack("<iIQ6Q", nr, arch, 0, *full)


def run(program: bytes, arch: int, nr: int, args: tuple[int, ...] = ()) -> int:
    """The SECCOMP_RET_* value the filter returns for this call."""
    data = seccomp_data(arch, nr, args)
    insns = [struct.unpack_from("=HBBI", program, i) for i in range(0, len(program), 8)]
    a = x = 0
    mem = [0] * 16
    pc = 0
    for _ in range(100_000):
        code, jt, jf, k = insns[pc]
        cls = code & 0x07
        pc += 1
        if cls == 0x00:  # BPF_LD
            mode = code & 0xE0
            if mode == 0x20:  # ABS
                a = struct.unpack_from("<I", data, k)[0]
            elif mode == 0x60:  # MEM
                a = mem[k]
            elif mode == 0x00:  # IMM
                a = k
            else:
                raise AssertionError(f"unsupported ld {code:#x}")
        elif cls == 0x01:  # BPF_LDX
            x = mem[k] if code & 0xE0 == 0x60 else k
        elif cls == 0x02:  # BPF_ST
            mem[k] = a
        elif cls == 0x03:  # BPF_STX
            mem[k] = x
        elif cls == 0x04:  # BPF_ALU
            operand = x if code & 0x08 else k
            op = code & 0xF0
            a = {0x00: a + operand, 0x10: a - operand, 0x50: a & operand,
                 0x40: a | operand, 0xA0: a ^ operand}[op] & 0xFFFFFFFF
        elif cls == 0x05:  # BPF_JMP
            op = code & 0xF0
            operand = x if code & 0x08 else k
            if op == 0x00:
                pc += k
                continue
            taken = {0x10: a == operand, 0x20: a > operand, 0x30: a >= operand,
                     0x40: bool(a & operand)}[op]
            pc += jt if taken else jf
        elif cls == 0x06:  # BPF_RET
            return a if code & 0x18 == 0x10 else k
        elif cls == 0x07:  # BPF_MISC
            if code == 0x07:
                x = a
            else:
                a = x
        else:
            raise AssertionError(f"unsupported instruction {code:#x}")
    raise AssertionError("the program did not return")
