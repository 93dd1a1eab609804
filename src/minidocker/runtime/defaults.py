"""Docker's defaults for a container's security: capabilities, masked and read-only paths,
and the default seccomp profile (Moby's, as of Docker 28), rendered as OCI config.

The profile is data: rules with conditions on the container's bounding capabilities, the
architecture and the kernel version, resolved by `docker_seccomp_profile` into a plain
`linux.seccomp` object, as dockerd does when it writes a bundle.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs 2 ms of import on the run path
    from typing import Any

    _Rule = tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]

DOCKER_CAPABILITIES = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
]

DOCKER_MASKED_PATHS = [
    "/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
    "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
    "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
]

DOCKER_READONLY_PATHS = [
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
]


def docker_masked_paths() -> list[str]:
    """Docker's masked paths, plus each CPU's thermal_throttle directory the host has
    (Docker 28 masks those too: they leak host state and allow writes on some kernels).
    """
    paths = list(DOCKER_MASKED_PATHS)
    try:
        cpus = sorted(os.listdir("/sys/devices/system/cpu"))
    except OSError:
        return paths
    for name in cpus:
        if name.startswith("cpu") and name[3:].isdigit():
            path = f"/sys/devices/system/cpu/{name}/thermal_throttle"
            if os.path.isdir(path):
                paths.append(path)
    return paths


# ---- the seccomp profile ------------------------------------------------------------------

# Calls any container may make (Docker's unconditional allow list).
_ALLOWED = """
    accept accept4 access adjtimex alarm bind brk cachestat capget capset chdir chmod chown
    chown32 clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime
    clock_gettime64 clock_nanosleep clock_nanosleep_time64 close close_range connect
    copy_file_range creat dup dup2 dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old
    epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2 execve execveat exit
    exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate fanotify_mark fchdir
    fchmod fchmodat fchmodat2 fchown fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr
    flistxattr flock fork fremovexattr fsetxattr fstat fstat64 fstatat64 fstatfs fstatfs64
    fsync ftruncate ftruncate64 futex futex_requeue futex_time64 futex_wait futex_waitv
    futex_wake futimesat getcpu getcwd getdents getdents64 getegid getegid32 geteuid
    geteuid32 getgid getgid32 getgroups getgroups32 getitimer getpeername getpgid getpgrp
    getpid getppid getpriority getrandom getresgid getresgid32 getresuid getresuid32
    getrlimit get_robust_list getrusage getsid getsockname getsockopt get_thread_area gettid
    gettimeofday getuid getuid32 getxattr getxattrat inotify_add_watch inotify_init
    inotify_init1 inotify_rm_watch io_cancel ioctl io_destroy io_getevents io_pgetevents
    io_pgetevents_time64 ioprio_get ioprio_set io_setup io_submit ipc kill landlock_add_rule
    landlock_create_ruleset landlock_restrict_self lchown lchown32 lgetxattr link linkat
    listen listmount listxattr listxattrat llistxattr _llseek lremovexattr lseek lsetxattr
    lstat lstat64 madvise map_shadow_stack membarrier memfd_create memfd_secret mincore mkdir
    mkdirat mknod mknodat mlock mlock2 mlockall mmap mmap2 mprotect mq_getsetattr mq_notify
    mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend mq_timedsend_time64
    mq_unlink mremap mseal msgctl msgget msgrcv msgsnd msync munlock munlockall munmap
    name_to_handle_at nanosleep newfstatat _newselect open openat openat2 pause pidfd_open
    pidfd_send_signal pipe pipe2 pkey_alloc pkey_free pkey_mprotect poll ppoll ppoll_time64
    prctl pread64 preadv preadv2 prlimit64 process_mrelease pselect6 pselect6_time64
    pwrite64 pwritev pwritev2 read readahead readlink readlinkat readv recv recvfrom
    recvmmsg recvmmsg_time64 recvmsg remap_file_pages removexattr removexattrat rename
    renameat renameat2 restart_syscall riscv_hwprobe rmdir rseq rt_sigaction rt_sigpending
    rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait
    rt_sigtimedwait_time64 rt_tgsigqueueinfo sched_getaffinity sched_getattr sched_getparam
    sched_get_priority_max sched_get_priority_min sched_getscheduler sched_rr_get_interval
    sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam
    sched_setscheduler sched_yield seccomp select semctl semget semop semtimedop
    semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg sendto setfsgid setfsgid32
    setfsuid setfsuid32 setgid setgid32 setgroups setgroups32 setitimer setpgid setpriority
    setregid setregid32 setresgid setresgid32 setresuid setresuid32 setreuid setreuid32
    setrlimit set_robust_list setsid setsockopt set_thread_area set_tid_address setuid
    setuid32 setxattr setxattrat shmat shmctl shmdt shmget shutdown sigaltstack signalfd
    signalfd4 sigprocmask sigreturn socketcall socketpair splice stat stat64 statfs statfs64
    statmount statx symlink symlinkat sync sync_file_range syncfs sysinfo tee tgkill time
    timer_create timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime
    timer_settime64 timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime
    timerfd_settime64 times tkill truncate truncate64 ugetrlimit umask uname unlink unlinkat
    uretprobe utime utimensat utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid
    write writev
"""

_AF_ALG = 38
_AF_VSOCK = 40
# clone(2) flags that create namespaces: refused without CAP_SYS_ADMIN
_CLONE_NAMESPACES = (0x00020000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000
                     | 0x40000000 | 0x02000000)


def _arg(index: int, value: int, op: str, value_two: int = 0) -> dict[str, Any]:
    arg = {"index": index, "value": value, "op": op}
    if value_two or op == "SCMP_CMP_MASKED_EQ":
        arg["valueTwo"] = value_two
    return arg


# (names, action-fields, includes, excludes); includes/excludes are dicts with any of
# caps (all must be in the bounding set / any excludes), arches (Docker's arch names),
# min_kernel ((major, minor)). The action fields default to SCMP_ACT_ALLOW.
_RULES: list[_Rule] = [
    (_ALLOWED, {}, {}, {}),
    ("process_vm_readv process_vm_writev ptrace", {}, {"min_kernel": (4, 8)}, {}),
    # socket(2) for every address family except AF_ALG and AF_VSOCK
    ("socket", {"args": [_arg(0, _AF_ALG, "SCMP_CMP_LT")]}, {}, {}),
    ("socket", {"args": [_arg(0, _AF_ALG + 1, "SCMP_CMP_EQ")]}, {}, {}),
    ("socket", {"args": [_arg(0, _AF_VSOCK, "SCMP_CMP_GT")]}, {}, {}),
    # personality(2) only for the harmless personas (Linux, 32-bit, UNAME26, query)
    ("personality", {"args": [_arg(0, 0x0, "SCMP_CMP_EQ")]}, {}, {}),
    ("personality", {"args": [_arg(0, 0x0008, "SCMP_CMP_EQ")]}, {}, {}),
    ("personality", {"args": [_arg(0, 0x20000, "SCMP_CMP_EQ")]}, {}, {}),
    ("personality", {"args": [_arg(0, 0x20008, "SCMP_CMP_EQ")]}, {}, {}),
    ("personality", {"args": [_arg(0, 0xFFFFFFFF, "SCMP_CMP_EQ")]}, {}, {}),
    # calls of one architecture
    ("sync_file_range2 swapcontext", {}, {"arches": ["ppc64le"]}, {}),
    ("arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls",
     {}, {"arches": ["arm", "arm64"]}, {}),
    ("arch_prctl", {}, {"arches": ["amd64", "x32"]}, {}),
    ("modify_ldt", {}, {"arches": ["amd64", "x32", "x86"]}, {}),
    ("s390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr", {},
     {"arches": ["s390", "s390x"]}, {}),
    ("riscv_flush_icache", {}, {"arches": ["riscv64"]}, {}),
    # calls a capability makes legitimate
    ("open_by_handle_at", {}, {"caps": ["CAP_DAC_READ_SEARCH"]}, {}),
    ("bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie "
     "lsm_get_self_attr lsm_list_modules lsm_set_self_attr mount mount_setattr move_mount "
     "open_tree perf_event_open quotactl quotactl_fd setdomainname sethostname setns syslog "
     "umount umount2 unshare", {}, {"caps": ["CAP_SYS_ADMIN"]}, {}),
    # without CAP_SYS_ADMIN: clone without namespace flags (s390 swaps the first two
    # arguments), and clone3 answers ENOSYS so that libc falls back to clone
    ("clone", {"args": [_arg(0, _CLONE_NAMESPACES, "SCMP_CMP_MASKED_EQ", 0)]}, {},
     {"caps": ["CAP_SYS_ADMIN"], "arches": ["s390", "s390x"]}),
    ("clone", {"args": [_arg(1, _CLONE_NAMESPACES, "SCMP_CMP_MASKED_EQ", 0)]},
     {"arches": ["s390", "s390x"]}, {"caps": ["CAP_SYS_ADMIN"]}),
    ("clone3", {"action": "SCMP_ACT_ERRNO", "errnoRet": 38}, {}, {"caps": ["CAP_SYS_ADMIN"]}),
    ("reboot", {}, {"caps": ["CAP_SYS_BOOT"]}, {}),
    ("chroot", {}, {"caps": ["CAP_SYS_CHROOT"]}, {}),
    ("delete_module init_module finit_module", {}, {"caps": ["CAP_SYS_MODULE"]}, {}),
    ("acct", {}, {"caps": ["CAP_SYS_PACCT"]}, {}),
    ("kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace", {},
     {"caps": ["CAP_SYS_PTRACE"]}, {}),
    ("iopl ioperm", {}, {"caps": ["CAP_SYS_RAWIO"]}, {}),
    ("settimeofday stime clock_settime clock_settime64", {}, {"caps": ["CAP_SYS_TIME"]}, {}),
    ("vhangup", {}, {"caps": ["CAP_SYS_TTY_CONFIG"]}, {}),
    ("get_mempolicy mbind set_mempolicy set_mempolicy_home_node", {},
     {"caps": ["CAP_SYS_NICE"]}, {}),
    ("syslog", {}, {"caps": ["CAP_SYSLOG"]}, {}),
    ("bpf", {}, {"caps": ["CAP_BPF"]}, {}),
    ("perf_event_open", {}, {"caps": ["CAP_PERFMON"]}, {}),
]

# Docker's architecture name -> the OCI architectures its profile covers there
_ARCH_MAP = {
    "amd64": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    "arm64": ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
    "mips64": ["SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64N32"],
    "mips64n32": ["SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64"],
    "mipsel64": ["SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64N32"],
    "mipsel64n32": ["SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64"],
    "s390x": ["SCMP_ARCH_S390X", "SCMP_ARCH_S390"],
    "riscv64": ["SCMP_ARCH_RISCV64"],
    "loongarch64": ["SCMP_ARCH_LOONGARCH64"],
}

# uname -m (or GOARCH) -> Docker's architecture name
_MACHINE = {
    "x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
    "i386": "x86", "i686": "x86", "x86": "x86", "386": "x86", "armv7l": "arm",
    "armv6l": "arm", "arm": "arm", "ppc64le": "ppc64le", "ppc64": "ppc64", "s390x": "s390x",
    "s390": "s390", "riscv64": "riscv64", "loongarch64": "loongarch64", "mips64": "mips64",
    "mipsel64": "mipsel64", "x32": "x32",
}


def docker_arch(machine: str | None = None) -> str:
    """Docker's name for an architecture given as `uname -m` or GOARCH (default: this host)."""
    machine = machine or os.uname().machine
    return _MACHINE.get(machine, machine)


def _kernel_at_least(version: tuple[int, int]) -> bool:
    release = os.uname().release
    parts = []
    for piece in release.split(".")[:2]:
        digits = ""
        for ch in piece:
            if not ch.isdigit():
                break
            digits += ch
        parts.append(int(digits or 0))
    return tuple(parts) >= version


def _applies(includes: dict[str, Any], excludes: dict[str, Any], caps: set[str],
             arch: str) -> bool:
    if any(cap in caps for cap in excludes.get("caps", ())):
        return False
    if arch in excludes.get("arches", ()):
        return False
    if "min_kernel" in excludes and _kernel_at_least(excludes["min_kernel"]):
        return False
    if not all(cap in caps for cap in includes.get("caps", ())):
        return False
    if "arches" in includes and arch not in includes["arches"]:
        return False
    return not ("min_kernel" in includes and not _kernel_at_least(includes["min_kernel"]))


def docker_seccomp_profile(capabilities: list[str], arch: str | None = None) -> dict[str, Any]:
    """Docker's default profile for a container whose bounding set is `capabilities`, on
    `arch` (uname -m, GOARCH or Docker's name; default: this host), as OCI linux.seccomp.
    """
    caps = {c.upper() if c.upper().startswith("CAP_") else "CAP_" + c.upper()
            for c in capabilities}
    arch = docker_arch(arch)
    syscalls = []
    for names, fields, includes, excludes in _RULES:
        if _applies(includes, excludes, caps, arch):
            rule: dict[str, Any] = {"names": names.split(), "action": "SCMP_ACT_ALLOW"}
            rule.update(fields)
            if "args" in fields:  # copies: the caller may edit the profile
                rule["args"] = [dict(arg) for arg in fields["args"]]
            syscalls.append(rule)
    profile: dict[str, Any] = {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1}
    if arch in _ARCH_MAP:
        profile["architectures"] = list(_ARCH_MAP[arch])
    profile["syscalls"] = syscalls
    return profile
