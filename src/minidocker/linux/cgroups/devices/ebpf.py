"""The cgroup v2 device controller: an eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE)
assembled here from the OCI rules, loaded with bpf(2) and attached to the cgroup.

The kernel runs the program on every open/mknod of a device node by a task of the cgroup,
with a `struct bpf_cgroup_dev_ctx {u32 access_type; u32 major; u32 minor;}` in r1
(access_type = access << 16 | type); returning 1 allows, 0 denies (EPERM).

The bpf(2) wrapper lives here rather than in linux/libc.py: it serves only this program.
"""

from __future__ import annotations

import ctypes
import os
import platform
import struct

from minidocker.linux.cgroups.devices.rules import DeviceRule, effective

_libc = ctypes.CDLL(None, use_errno=True)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long
_NR_BPF = {"x86_64": 321, "aarch64": 280}[platform.machine()]

BPF_PROG_LOAD = 5
BPF_PROG_ATTACH = 8
BPF_PROG_DETACH = 9
BPF_PROG_GET_FD_BY_ID = 13
BPF_PROG_QUERY = 16
BPF_PROG_TYPE_CGROUP_DEVICE = 15
BPF_CGROUP_DEVICE = 6          # attach type
BPF_F_ALLOW_MULTI = 2
DEV_BLOCK, DEV_CHAR = 1, 2     # BPF_DEVCG_DEV_*

# instruction opcodes used (class | op | source)
LDX_W = 0x61        # BPF_LDX | BPF_MEM | BPF_W:   dst = *(u32 *)(src + off)
MOV32_X = 0xBC      # BPF_ALU | BPF_MOV | BPF_X:   dst = src (32 bit)
AND32_K = 0x54      # BPF_ALU | BPF_AND | BPF_K:   dst &= imm
RSH32_K = 0x74      # BPF_ALU | BPF_RSH | BPF_K:   dst >>= imm
MOV64_K = 0xB7      # BPF_ALU64 | BPF_MOV | BPF_K: dst = imm
JEQ_K = 0x15        # BPF_JMP | BPF_JEQ | BPF_K:   if dst == imm goto +off
JNE_K = 0x55        # BPF_JMP | BPF_JNE | BPF_K:   if dst != imm goto +off
EXIT = 0x95         # BPF_JMP | BPF_EXIT

R0, R1, R2, R3, R4, R5, R6 = range(7)


def insn(op: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return struct.pack("<BBhi", op, (src << 4) | dst, off, imm)


def _rule_block(rule: DeviceRule) -> list[bytes]:
    """Instructions that return rule.allow when the access matches the rule, else fall
    through. Jumps skip to the end of the block (offsets are filled in by count)."""
    checks: list[tuple[int, int, int]] = []  # (op, reg, imm) jumps out when true
    if rule.type != "a":
        checks.append((JNE_K, R3, DEV_CHAR if rule.type == "c" else DEV_BLOCK))
    if rule.major is not None:
        checks.append((JNE_K, R4, rule.major))
    if rule.minor is not None:
        checks.append((JNE_K, R5, rule.minor))
    access_check: list[tuple[int, int, int, int]] = []
    if rule.access_mask != 7:
        if rule.allow:  # allowed only if every requested access is granted by the rule
            access_check = [(MOV32_X, R6, R2, 0), (AND32_K, R6, 0, ~rule.access_mask & 7)]
            checks.append((JNE_K, R6, 0))
        else:           # denied if any requested access is denied by the rule
            access_check = [(MOV32_X, R6, R2, 0), (AND32_K, R6, 0, rule.access_mask)]
            checks.append((JEQ_K, R6, 0))
    # layout: [type/major/minor jumps] [access prep] [access jump] mov r0; exit
    jumps = checks[:-1] if access_check else checks
    tail_len = (len(access_check) + 1 if access_check else 0) + 2
    out: list[bytes] = []
    for i, (op, reg, imm) in enumerate(jumps):
        remaining = len(jumps) - i - 1 + tail_len
        out.append(insn(op, reg, off=remaining, imm=imm))
    if access_check:
        for op, dst, src, imm in access_check:
            out.append(insn(op, dst, src, imm=imm))
        op, reg, imm = checks[-1]
        out.append(insn(op, reg, off=2, imm=imm))
    out.append(insn(MOV64_K, R0, imm=int(rule.allow)))
    out.append(insn(EXIT))
    return out


def assemble(rules: list[DeviceRule]) -> bytes:
    """The program for `rules` with v1's semantics (see rules.effective): the last matching
    exception decides, else the default."""
    default, exceptions = effective(rules)
    prog = [
        insn(LDX_W, R2, R1, 0),       # r2 = access_type
        insn(MOV32_X, R3, R2),        # r3 = type = access_type & 0xffff
        insn(AND32_K, R3, imm=0xFFFF),
        insn(RSH32_K, R2, imm=16),    # r2 = access = access_type >> 16
        insn(LDX_W, R4, R1, 4),       # r4 = major
        insn(LDX_W, R5, R1, 8),       # r5 = minor
    ]
    for rule in reversed(exceptions):
        prog.extend(_rule_block(rule))
    prog += [insn(MOV64_K, R0, imm=int(default)), insn(EXIT)]
    return b"".join(prog)


# ---- bpf(2) ---------------------------------------------------------------------------

_ATTR_SIZE = 128


def _bpf(cmd: int, attr: ctypes.Array[ctypes.c_char], what: str) -> int:
    ret = _syscall(_NR_BPF, ctypes.c_int(cmd), attr, ctypes.c_uint(_ATTR_SIZE))
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"bpf {what}: {os.strerror(err)}")
    return int(ret)


def load(program: bytes, name: str = "minidocker_dev") -> int:
    """BPF_PROG_LOAD; returns the program fd. The verifier's log is in the error."""
    insns = ctypes.create_string_buffer(program, len(program))
    license_ = ctypes.create_string_buffer(b"Apache-2.0")  # no GPL-only helpers used
    log = ctypes.create_string_buffer(65536)
    for log_level in (0, 1):
        attr = ctypes.create_string_buffer(_ATTR_SIZE)
        struct.pack_into("<IIQQIIQII16s", attr, 0, BPF_PROG_TYPE_CGROUP_DEVICE,
                         len(program) // 8, ctypes.addressof(insns),
                         ctypes.addressof(license_), log_level,
                         len(log) if log_level else 0,
                         ctypes.addressof(log) if log_level else 0, 0, 0,
                         name.encode()[:15])
        struct.pack_into("<I", attr, 68, BPF_CGROUP_DEVICE)  # expected_attach_type
        try:
            return _bpf(BPF_PROG_LOAD, attr, "prog_load")
        except OSError as exc:
            if log_level:
                text = log.value.decode(errors="replace").strip().splitlines()
                raise OSError(exc.errno, f"{exc.strerror}: {text[-1] if text else ''}")
    raise AssertionError("unreachable")


def query(cgroup_fd: int) -> list[int]:
    """The ids of the device programs attached to a cgroup."""
    ids = (ctypes.c_uint32 * 64)()
    attr = ctypes.create_string_buffer(_ATTR_SIZE)
    struct.pack_into("<IIIIQI", attr, 0, cgroup_fd, BPF_CGROUP_DEVICE, 0, 0,
                     ctypes.addressof(ids), 64)
    _bpf(BPF_PROG_QUERY, attr, "prog_query")
    count = struct.unpack_from("<I", attr, 24)[0]
    return list(ids[:count])


def prog_fd_by_id(prog_id: int) -> int:
    attr = ctypes.create_string_buffer(_ATTR_SIZE)
    struct.pack_into("<I", attr, 0, prog_id)
    return _bpf(BPF_PROG_GET_FD_BY_ID, attr, "prog_get_fd_by_id")


def attach(cgroup_fd: int, prog_fd: int, flags: int = BPF_F_ALLOW_MULTI) -> None:
    attr = ctypes.create_string_buffer(_ATTR_SIZE)
    struct.pack_into("<IIII", attr, 0, cgroup_fd, prog_fd, BPF_CGROUP_DEVICE, flags)
    _bpf(BPF_PROG_ATTACH, attr, "prog_attach")


def detach(cgroup_fd: int, prog_fd: int) -> None:
    attr = ctypes.create_string_buffer(_ATTR_SIZE)
    struct.pack_into("<III", attr, 0, cgroup_fd, prog_fd, BPF_CGROUP_DEVICE)
    _bpf(BPF_PROG_DETACH, attr, "prog_detach")


def install(cgroup_dir: str, rules: list[DeviceRule]) -> None:
    """Attach the program for `rules` to the cgroup, replacing any device program attached
    before (the new one goes in first: while both are attached, both must allow)."""
    program = assemble(rules)
    cgroup_fd = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        old = query(cgroup_fd)
        prog_fd = load(program)
        try:
            attach(cgroup_fd, prog_fd)
        finally:
            os.close(prog_fd)  # the attachment holds its own reference
        for prog_id in old:
            fd = prog_fd_by_id(prog_id)
            try:
                detach(cgroup_fd, fd)
            finally:
                os.close(fd)
    finally:
        os.close(cgroup_fd)
