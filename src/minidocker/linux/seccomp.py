"""seccomp from an OCI `linux.seccomp` object: validate, compile, load, hand off the listener.

The host's libseccomp (through ctypes) compiles the rules into classic BPF; this module
prepends a small program of its own (rules for calls newer than libseccomp, and runc's
-ENOSYS answer for calls newer than the profile) and loads the result with seccomp(2).
Compiling happens in `prepare`, before fork and pivot_root; `load` needs no file at all.
"""

from __future__ import annotations

import ctypes
import errno
import os
import stat
import struct

from minidocker.errors import InvalidConfig, MinidockerError
from minidocker.linux import libc

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time, and the runtime imports this on every start
    from typing import Any

# ---- OCI names --------------------------------------------------------------------------

# action name -> kernel SECCOMP_RET_* value (libseccomp uses the same numbers)
ACT_KILL_PROCESS = 0x80000000
ACT_KILL_THREAD = 0x00000000
ACT_TRAP = 0x00030000
ACT_ERRNO = 0x00050000
ACT_NOTIFY = 0x7FC00000
ACT_TRACE = 0x7FF00000
ACT_LOG = 0x7FFC0000
ACT_ALLOW = 0x7FFF0000
ACTIONS = {
    "SCMP_ACT_KILL": ACT_KILL_THREAD,
    "SCMP_ACT_KILL_THREAD": ACT_KILL_THREAD,
    "SCMP_ACT_KILL_PROCESS": ACT_KILL_PROCESS,
    "SCMP_ACT_TRAP": ACT_TRAP,
    "SCMP_ACT_ERRNO": ACT_ERRNO,
    "SCMP_ACT_TRACE": ACT_TRACE,
    "SCMP_ACT_ALLOW": ACT_ALLOW,
    "SCMP_ACT_LOG": ACT_LOG,
    "SCMP_ACT_NOTIFY": ACT_NOTIFY,
}
_WITH_ERRNO = ("SCMP_ACT_ERRNO", "SCMP_ACT_TRACE")

OPERATORS = {"SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4,
             "SCMP_CMP_GE": 5, "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7}

# OCI architecture -> libseccomp's name for it
ARCHES = {
    "SCMP_ARCH_X86": "x86", "SCMP_ARCH_X86_64": "x86_64", "SCMP_ARCH_X32": "x32",
    "SCMP_ARCH_ARM": "arm", "SCMP_ARCH_AARCH64": "aarch64", "SCMP_ARCH_MIPS": "mips",
    "SCMP_ARCH_MIPS64": "mips64", "SCMP_ARCH_MIPS64N32": "mips64n32",
    "SCMP_ARCH_MIPSEL": "mipsel", "SCMP_ARCH_MIPSEL64": "mipsel64",
    "SCMP_ARCH_MIPSEL64N32": "mipsel64n32", "SCMP_ARCH_PPC": "ppc", "SCMP_ARCH_PPC64": "ppc64",
    "SCMP_ARCH_PPC64LE": "ppc64le", "SCMP_ARCH_S390": "s390", "SCMP_ARCH_S390X": "s390x",
    "SCMP_ARCH_PARISC": "parisc", "SCMP_ARCH_PARISC64": "parisc64",
    "SCMP_ARCH_RISCV64": "riscv64", "SCMP_ARCH_LOONGARCH64": "loongarch64",
    "SCMP_ARCH_M68K": "m68k", "SCMP_ARCH_SH": "sh", "SCMP_ARCH_SHEB": "sheb",
}

SECCOMP_SET_MODE_FILTER = 1
FILTER_FLAG_TSYNC = 1
FILTER_FLAG_LOG = 2
FILTER_FLAG_SPEC_ALLOW = 4
FILTER_FLAG_NEW_LISTENER = 8
FILTER_FLAG_TSYNC_ESRCH = 16
FILTER_FLAG_WAIT_KILLABLE_RECV = 32
FLAGS = {
    "SECCOMP_FILTER_FLAG_TSYNC": FILTER_FLAG_TSYNC,
    "SECCOMP_FILTER_FLAG_LOG": FILTER_FLAG_LOG,
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW": FILTER_FLAG_SPEC_ALLOW,
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV": FILTER_FLAG_WAIT_KILLABLE_RECV,
}

# The runtime hands the listener fd to its parent with these after load: a NOTIFY rule on
# them would make the container's init wait for an agent that has not got the fd yet.
NOTIFY_FORBIDDEN = frozenset({"write", "sendmsg"})

# Calls added since Linux 5.1 have one number on every architecture (x32 adds its bit):
# used for those the host's libseccomp does not know (2.5.4 stops at cachestat..futex_*,
# older ones earlier). A few late calls belong to one architecture only.
_LATE_SYSCALLS = {
    "pidfd_send_signal": 424, "io_uring_setup": 425, "io_uring_enter": 426,
    "io_uring_register": 427, "open_tree": 428, "move_mount": 429, "fsopen": 430,
    "fsconfig": 431, "fsmount": 432, "fspick": 433, "pidfd_open": 434, "clone3": 435,
    "close_range": 436, "openat2": 437, "pidfd_getfd": 438, "faccessat2": 439,
    "process_madvise": 440, "epoll_pwait2": 441, "mount_setattr": 442, "quotactl_fd": 443,
    "landlock_create_ruleset": 444, "landlock_add_rule": 445, "landlock_restrict_self": 446,
    "memfd_secret": 447, "process_mrelease": 448, "futex_waitv": 449,
    "set_mempolicy_home_node": 450,
    "cachestat": 451, "fchmodat2": 452, "map_shadow_stack": 453, "futex_wake": 454,
    "futex_wait": 455, "futex_requeue": 456, "statmount": 457, "listmount": 458,
    "lsm_get_self_attr": 459, "lsm_set_self_attr": 460, "lsm_list_modules": 461,
    "mseal": 462, "setxattrat": 463, "getxattrat": 464, "listxattrat": 465,
    "removexattrat": 466, "open_tree_attr": 467, "file_getattr": 468, "file_setattr": 469,
    "listns": 470,
}
_LATE_ONE_ARCH = {"uretprobe": ("x86_64", 335), "riscv_hwprobe": ("riscv64", 258)}
# architectures whose late calls use the common numbers, with the audit value the kernel
# reports in seccomp_data.arch (libseccomp's token, except for x32)
_AUDIT = {"x86_64": 0xC000003E, "x32": 0xC000003E, "x86": 0x40000003, "aarch64": 0xC00000B7,
          "arm": 0x40000028, "riscv64": 0xC00000F3, "s390": 0x16, "s390x": 0x80000016,
          "ppc": 0x14, "ppc64": 0x80000015, "ppc64le": 0xC0000015, "loongarch64": 0xC0000102}
_X32_BIT = 0x40000000


def _fail(what: str) -> InvalidConfig:
    return InvalidConfig(f"linux.seccomp: {what}")


# ---- validation -------------------------------------------------------------------------


def _uint(value: Any, what: str, top: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
        raise _fail(f"{what} must be an integer from 0 to {top}, not {value!r}")
    return value


def _action(name: Any, errno_ret: Any, what: str) -> int:
    """The SECCOMP_RET_* value of an OCI action (with its errno for ERRNO and TRACE)."""
    if not isinstance(name, str) or name not in ACTIONS:
        raise _fail(f"{what}: unknown action {name!r}")
    if errno_ret is not None and name not in _WITH_ERRNO:
        raise _fail(f"{what}: {name} takes no errnoRet")
    value = ACTIONS[name]
    if name in _WITH_ERRNO:
        # libseccomp takes errno values below MAX_ERRNO (4095) only
        value |= errno.EPERM if errno_ret is None else _uint(errno_ret, f"{what} errnoRet",
                                                             4094)
    return value


def validate(seccomp: Any) -> None:
    """Check a linux.seccomp object; raise InvalidConfig naming the first bad field."""
    _check(seccomp)


def _check(seccomp: Any) -> tuple[int, list[tuple[list[str], int, list[dict[str, Any]]]]]:
    """Validate and return (default action value, [(names, action value, args)])."""
    from minidocker.linux.seccomp_names import NAMES

    if not isinstance(seccomp, dict):
        raise _fail("must be an object")
    default = seccomp.get("defaultAction")
    if default is None:
        raise _fail("defaultAction is required")
    if default == "SCMP_ACT_NOTIFY":
        raise _fail("SCMP_ACT_NOTIFY cannot be the default action")
    default_value = _action(default, seccomp.get("defaultErrnoRet"), "defaultAction")
    for arch in _list(seccomp, "architectures"):
        if not isinstance(arch, str) or arch not in ARCHES:
            raise _fail(f"unknown architecture {arch!r}")
    for flag in _list(seccomp, "flags"):
        if not isinstance(flag, str) or flag not in FLAGS:
            raise _fail(f"unknown flag {flag!r}")
    listener = seccomp.get("listenerPath")
    if listener is not None and (not isinstance(listener, str) or not listener):
        raise _fail("listenerPath must be a non-empty string")
    metadata = seccomp.get("listenerMetadata")
    if metadata is not None:
        if not isinstance(metadata, str):
            raise _fail("listenerMetadata must be a string")
        if listener is None:
            raise _fail("listenerMetadata is set but listenerPath is not")
    rules = []
    for i, entry in enumerate(_list(seccomp, "syscalls")):
        what = f"syscalls[{i}]"
        if not isinstance(entry, dict):
            raise _fail(f"{what} must be an object")
        names = entry.get("names")
        if not isinstance(names, list) or not names:
            raise _fail(f"{what}.names must be a non-empty list")
        for name in names:
            if not isinstance(name, str) or name not in NAMES:
                raise _fail(f"{what}: unknown system call {name!r}")
        action = _action(entry.get("action"), entry.get("errnoRet"), what)
        if action == ACT_NOTIFY:
            if listener is None:
                raise _fail(f"{what}: SCMP_ACT_NOTIFY needs listenerPath")
            bad = NOTIFY_FORBIDDEN.intersection(names)
            if bad:
                raise _fail(f"{what}: SCMP_ACT_NOTIFY cannot be used for {sorted(bad)[0]}: "
                            "the runtime needs it to pass on the listener")
        args = entry.get("args") or []
        if not isinstance(args, list):
            raise _fail(f"{what}.args must be a list")
        for j, arg in enumerate(args):
            where = f"{what}.args[{j}]"
            if not isinstance(arg, dict):
                raise _fail(f"{where} must be an object")
            _uint(arg.get("index"), f"{where}.index", 5)
            _uint(arg.get("value"), f"{where}.value", 2**64 - 1)
            _uint(arg.get("valueTwo", 0), f"{where}.valueTwo", 2**64 - 1)
            if not isinstance(arg.get("op"), str) or arg["op"] not in OPERATORS:
                raise _fail(f"{where}: unknown operator {arg.get('op')!r}")
        rules.append((names, action, args))
    return default_value, rules


def _list(obj: dict[str, Any], key: str) -> list[Any]:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail(f"{key} must be a list")
    return value


# ---- libseccomp ----------------------------------------------------------------------------


class _ArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64),
                ("datum_b", ctypes.c_uint64)]


class _Version(ctypes.Structure):
    _fields_ = [("major", ctypes.c_uint), ("minor", ctypes.c_uint), ("micro", ctypes.c_uint)]


_lib: ctypes.CDLL | None = None


def _libseccomp() -> ctypes.CDLL:
    global _lib
    if _lib is None:
        try:
            lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
        except OSError:
            raise MinidockerError("seccomp: libseccomp.so.2 not found",
                                  hint="install libseccomp2 (Debian) or libseccomp (Fedora)")
        lib.seccomp_init.restype = ctypes.c_void_p
        lib.seccomp_init.argtypes = [ctypes.c_uint32]
        lib.seccomp_release.argtypes = [ctypes.c_void_p]
        lib.seccomp_arch_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
        lib.seccomp_arch_native.restype = ctypes.c_uint32
        lib.seccomp_arch_resolve_name.restype = ctypes.c_uint32
        lib.seccomp_arch_resolve_name.argtypes = [ctypes.c_char_p]
        lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
        lib.seccomp_syscall_resolve_name_arch.argtypes = [ctypes.c_uint32, ctypes.c_char_p]
        lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                               ctypes.c_uint, ctypes.POINTER(_ArgCmp)]
        lib.seccomp_attr_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32]
        lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
        lib.seccomp_version.restype = ctypes.POINTER(_Version)
        _lib = lib
    return _lib


_ATTR_CTL_OPTIMIZE = 8
_OPTIMIZE = 2  # a binary tree of syscall numbers: ~9 comparisons per call, not ~300


def _arch_names(lib: ctypes.CDLL, seccomp: dict[str, Any]) -> dict[str, int]:
    """libseccomp names -> tokens of the filter's architectures (the native one first).

    An architecture this libseccomp cannot resolve is skipped: it cannot run here anyway.
    """
    native = lib.seccomp_arch_native()
    tokens = {_token_name(lib, native): native}
    for oci in _list(seccomp, "architectures"):
        name = ARCHES[oci]
        token = lib.seccomp_arch_resolve_name(name.encode())
        if token:
            tokens.setdefault(name, token)
    return tokens


def _token_name(lib: ctypes.CDLL, token: int) -> str:
    for name in ARCHES.values():
        if lib.seccomp_arch_resolve_name(name.encode()) == token:
            return name
    return hex(token)


# ---- the filter -----------------------------------------------------------------------------


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


class Filter:
    """A compiled filter, ready for `load` (no file or library is needed any more)."""

    def __init__(self, program: bytes, flags: int, notify: bool):
        self.program = program  # struct sock_filter[]
        self.flags = flags  # SECCOMP_FILTER_FLAG_*
        self.notify = notify  # has SCMP_ACT_NOTIFY rules: load returns a listener fd
        # built now, so that load() allocates nothing that could need the host's files
        self._buffer = ctypes.create_string_buffer(self.program, len(self.program))
        self._prog = _SockFprog(len(self.program) // 8,
                                ctypes.cast(self._buffer, ctypes.c_void_p))

    @property
    def instructions(self) -> int:
        return len(self.program) // 8


def prepare(seccomp: dict[str, Any], cache_dir: str | None = None) -> Filter:
    """Compile a linux.seccomp object (call before fork/pivot_root: it dlopens libseccomp).

    With `cache_dir` (a directory only its owner can write), compiled programs are kept
    there, keyed by the profile, libseccomp's version and the host architecture, so that the
    next container with the same profile skips libseccomp (about 11 ms for Docker's).
    """
    default, rules = _check(seccomp)
    flags = 0
    for flag in _list(seccomp, "flags"):
        flags |= FLAGS[flag]
    notify = any(action == ACT_NOTIFY for _, action, _ in rules)
    if notify:
        flags |= FILTER_FLAG_NEW_LISTENER
        if flags & FILTER_FLAG_TSYNC:
            flags |= FILTER_FLAG_TSYNC_ESRCH  # TSYNC alone cannot be combined with a listener
        import json  # noqa: F401 - send_listener needs them, and after pivot_root
        import socket  # noqa: F401   no module can be read from disk any more
    else:
        flags &= ~FILTER_FLAG_WAIT_KILLABLE_RECV  # it only changes how a listener waits
    lib = _libseccomp()
    cached = _Cache(cache_dir, seccomp, lib) if cache_dir else None
    program = cached.read() if cached else None
    if program is None:
        program = _compile(lib, seccomp, default, rules)
        if cached:
            cached.write(program)
    return Filter(program, flags, notify)


def _compile(lib: ctypes.CDLL, seccomp: dict[str, Any], default: int,
             rules: list[tuple[list[str], int, list[dict[str, Any]]]]) -> bytes:
    ctx = lib.seccomp_init(default)
    if not ctx:
        raise _fail(f"libseccomp refused the default action {seccomp['defaultAction']}")
    try:
        tokens = _arch_names(lib, seccomp)
        for token in list(tokens.values())[1:]:
            rc = lib.seccomp_arch_add(ctx, token)
            if rc == -errno.EDOM:  # other endianness than the host's: cannot run here
                del tokens[_token_name(lib, token)]
                continue
            if rc < 0 and rc != -errno.EEXIST:
                raise _fail(f"cannot add architecture {_token_name(lib, token)}: "
                            f"{os.strerror(-rc)}")
        lib.seccomp_attr_set(ctx, _ATTR_CTL_OPTIMIZE, _OPTIMIZE)
        late: dict[str, int] = {}  # late calls this libseccomp does not know -> action
        for names, action, args in rules:
            if action == default:
                continue  # libseccomp refuses rules that repeat the default action
            for name in names:
                number = lib.seccomp_syscall_resolve_name(name.encode())
                if number == -1:  # __NR_SCMP_ERROR: unknown to this libseccomp
                    if not args and (name in _LATE_SYSCALLS or name in _LATE_ONE_ARCH):
                        late.setdefault(name, action)
                    continue
                _add_rule(lib, ctx, name, number, action, args)
        program = _stub(lib, tokens, rules, late, default) + _export(lib, ctx)
    finally:
        lib.seccomp_release(ctx)
    if len(program) // 8 > 4096:
        raise _fail(f"the filter has {len(program) // 8} instructions; the kernel takes 4096")
    return program


class _Cache:
    """One compiled program in cache_dir, trusted only if the directory is root's alone.

    The file holds the full key (profile, libseccomp version, machine) before the program,
    and a hit needs the exact key: the name is only a crc32, so that no hashlib (2 ms of
    OpenSSL import) is needed, and a collision costs a compile, never a wrong filter.
    """

    FORMAT = 1  # bump when the generated code changes

    def __init__(self, cache_dir: str, seccomp: dict[str, Any], lib: ctypes.CDLL):
        import zlib

        from minidocker import jsonfast  # not json: it imports re and enum (4 ms)

        self.dir = cache_dir
        version = lib.seccomp_version().contents
        key = jsonfast.dumps_sorted([self.FORMAT, version.major, version.minor, version.micro,
                                     os.uname().machine, seccomp])
        self.key = key.encode()
        self.path = os.path.join(cache_dir, f"{zlib.crc32(self.key):08x}.bpf")

    def _trusted(self) -> bool:
        try:
            st = os.lstat(self.dir)
        except OSError:
            return False
        return (stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid()
                and not st.st_mode & 0o022)

    def read(self) -> bytes | None:
        if not self._trusted():
            return None
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            limit = 4 + len(self.key) + 8 * 4096 + 1
            data = b""
            while len(data) < limit:
                chunk = os.read(fd, limit - len(data))
                if not chunk:
                    break
                data += chunk
        finally:
            os.close(fd)
        head = 4 + len(self.key)
        if data[:head] != struct.pack("=I", len(self.key)) + self.key:
            return None
        program = data[head:]
        return program if program and len(program) % 8 == 0 and len(program) <= 8 * 4096 \
            else None

    def write(self, program: bytes) -> None:
        try:
            os.makedirs(self.dir, mode=0o700, exist_ok=True)
            if not self._trusted():
                return
            tmp = f"{self.path}.{os.getpid()}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        except OSError:
            return  # a cache that cannot be written only costs time
        try:
            try:
                data = struct.pack("=I", len(self.key)) + self.key + program
                while data:
                    data = data[os.write(fd, data):]
            finally:
                os.close(fd)
            os.rename(tmp, self.path)
        except OSError:  # a full disk: no temp file left behind
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _add_rule(lib: ctypes.CDLL, ctx: int, name: str, number: int, action: int,
              args: list[dict[str, Any]]) -> None:
    conds = [_ArgCmp(a["index"], OPERATORS[a["op"]], a["value"], a.get("valueTwo", 0))
             for a in args]
    indexes = [a["index"] for a in args]
    # one rule whose conditions must all hold; but as runc, when an argument is tested
    # twice, one rule per condition (any may match)
    groups = [conds] if len(set(indexes)) == len(indexes) else [[c] for c in conds]
    for group in groups:
        array = (_ArgCmp * len(group))(*group)
        rc = lib.seccomp_rule_add_array(ctx, action, number, len(group), array)
        if rc < 0:
            raise _fail(f"cannot add the rule for {name}: {os.strerror(-rc)}")


def _export(lib: ctypes.CDLL, ctx: int) -> bytes:
    fd = os.memfd_create("seccomp-bpf", os.MFD_CLOEXEC)
    try:
        rc = lib.seccomp_export_bpf(ctx, fd)
        if rc < 0:
            raise _fail(f"libseccomp cannot generate the filter: {os.strerror(-rc)}")
        size = os.lseek(fd, 0, os.SEEK_CUR)
        return os.pread(fd, size, 0)
    finally:
        os.close(fd)


# ---- the stub in front of libseccomp's program --------------------------------------------

_LD_W_ABS = 0x20
_JEQ = 0x15
_JGT = 0x25
_JSET = 0x45
_JA = 0x05
_RET = 0x06
_OFF_NR = 0
_OFF_ARCH = 4


def _stub(lib: ctypes.CDLL, tokens: dict[str, int],
          rules: list[tuple[list[str], int, list[dict[str, Any]]]], late: dict[str, int],
          default: int) -> bytes:
    """Classic BPF run before libseccomp's: per architecture, rules for `late` calls, then
    -ENOSYS for any call numbered above the highest the profile names (runc's rule, so that
    glibc falls back from calls the profile predates instead of failing with EPERM).
    """
    allows = default in (ACT_ALLOW, ACT_LOG) or default & 0xFFFF0000 == ACT_TRACE
    enosys = not allows and default != ACT_ERRNO | errno.ENOSYS
    if not enosys and not late:
        return b""
    names = {name for rule_names, _, _ in rules for name in rule_names}
    blocks: dict[int, dict[bool, tuple[list[tuple[int, int]], int | None]]] = {}
    for arch, token in tokens.items():
        if arch not in _AUDIT:
            continue
        x32 = arch == "x32"
        base = _X32_BIT if x32 else 0
        checks = []
        for name, action in late.items():
            if name in _LATE_SYSCALLS:
                checks.append((base + _LATE_SYSCALLS[name], action))
            elif _LATE_ONE_ARCH[name][0] == arch:
                checks.append((_LATE_ONE_ARCH[name][1], action))
        last: int | None = None
        if enosys:
            numbers = [lib.seccomp_syscall_resolve_name_arch(token, n.encode()) for n in names]
            numbers += [nr for nr, _ in checks]
            numbers += [base + _LATE_SYSCALLS[n] for n in names if n in _LATE_SYSCALLS]
            known = [nr for nr in numbers if nr >= 0]
            last = max(known) if known else None
        blocks.setdefault(_AUDIT[arch], {})[x32] = (checks, last)
    return _assemble(blocks)


def _assemble(blocks: dict[int, dict[bool, tuple[list[tuple[int, int]], int | None]]]) -> bytes:
    # instructions with symbolic forward jumps: (code, jt, jf, k); a label is a str
    code: list[tuple[int, int | str, int | str, int | str]] = []
    labels: dict[str, int] = {}

    def part(checks: list[tuple[int, int]], last: int | None) -> None:
        for nr, action in checks:
            code.append((_JEQ, 0, 1, nr))
            code.append((_RET, 0, 0, action))
        if last is not None:
            code.append((_JGT, 0, 1, last))
            code.append((_RET, 0, 0, ACT_ERRNO | errno.ENOSYS))
        code.append((_JA, 0, 0, "end"))

    for i, (audit, modes) in enumerate(blocks.items()):
        labels[f"arch{i}"] = len(code)
        code.append((_LD_W_ABS, 0, 0, _OFF_ARCH))
        code.append((_JEQ, 0, f"arch{i + 1}", audit))
        code.append((_LD_W_ABS, 0, 0, _OFF_NR))
        if audit == _AUDIT["x86_64"]:
            code.append((_JSET, f"x32_{i}", 0, _X32_BIT))
            part(*modes.get(False, ([], None)))
            labels[f"x32_{i}"] = len(code)
            part(*modes.get(True, ([], None)))
        else:
            part(*modes[False])
    labels[f"arch{len(blocks)}"] = labels["end"] = len(code)
    out = bytearray()
    for pc, (op, jt, jf, k) in enumerate(code):
        if op == _JA:
            k = labels[k] - pc - 1 if isinstance(k, str) else k
        else:
            jt = labels[jt] - pc - 1 if isinstance(jt, str) else jt
            jf = labels[jf] - pc - 1 if isinstance(jf, str) else jf
        assert isinstance(jt, int) and isinstance(jf, int) and isinstance(k, int)
        if not (0 <= jt <= 255 and 0 <= jf <= 255):
            raise _fail("the stub filter is too large")
        out += struct.pack("=HBBI", op, jt, jf, k)
    return bytes(out)


# ---- features ---------------------------------------------------------------------------


def features() -> dict[str, Any]:
    """The `linux.seccomp` object of `minidocker-runtime features` (runtime-spec)."""
    try:
        _libseccomp()
    except MinidockerError:
        return {"enabled": False}
    supported = []
    for name, flag in FLAGS.items():
        # a known flag with a NULL program fails with EFAULT; an unknown one with EINVAL
        if flag == FILTER_FLAG_WAIT_KILLABLE_RECV:
            flag |= FILTER_FLAG_NEW_LISTENER  # only valid with a listener
        try:
            libc.seccomp(SECCOMP_SET_MODE_FILTER, flag, None)
        except OSError as exc:
            if exc.errno == errno.EFAULT:
                supported.append(name)
    return {"enabled": True, "actions": sorted(ACTIONS), "operators": sorted(OPERATORS),
            "archs": sorted(ARCHES), "knownFlags": sorted(FLAGS),
            "supportedFlags": sorted(supported)}


# ---- loading ------------------------------------------------------------------------------


def load(filter: Filter) -> int | None:
    """Install the filter in the calling thread (needs no_new_privs or CAP_SYS_ADMIN).

    Returns the user-notification listener fd (close-on-exec) when the filter has
    SCMP_ACT_NOTIFY rules, else None.
    """
    ret = libc.seccomp(SECCOMP_SET_MODE_FILTER, filter.flags, ctypes.pointer(filter._prog))
    return ret if filter.notify else None


def send_listener(fd: int, listener_path: str, state: dict[str, Any], metadata: str | None,
                  connected: Any = None) -> None:
    """Send the container process state and the listener fd to the agent at listener_path
    (one connection, one message, the fd as SCM_RIGHTS), as the runtime-spec prescribes.
    """
    import json
    import socket

    from minidocker import OCI_VERSION

    message: dict[str, Any] = {"ociVersion": state.get("ociVersion", OCI_VERSION),
                               "fds": ["seccompFd"], "pid": state.get("pid"),
                               "state": state}
    if metadata:
        message["metadata"] = metadata
    data = json.dumps(message).encode()
    what = f"seccomp listener {listener_path}"
    try:
        # `connected`: a socket the caller connected before pivot_root, when the path
        # is no longer reachable from where we are now
        with connected or socket.socket(socket.AF_UNIX,
                                        socket.SOCK_STREAM | socket.SOCK_CLOEXEC) as sock:
            if connected is None:
                sock.connect(listener_path)
            sent = sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                          struct.pack("i", fd))])
            if sent < len(data):
                sock.sendall(data[sent:])
    except OSError as exc:
        raise OSError(exc.errno, f"{what}: {exc.strerror or exc}") from None
