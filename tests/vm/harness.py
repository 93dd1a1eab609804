"""A throw-away qemu VM with a pure cgroup v2 hierarchy, for the tests of the v2 code.

The development machines are cgroup v1 hybrids, so the v2 path is tested in a VM:
qemu (software emulation) boots Debian's generic kernel with `cgroup_no_v1=all`; the
host's / is shared read-only over virtio-9p with a tmpfs overlay on top, so the guest
sees this checkout and its virtualenv at the same paths, and nothing it writes reaches
the host. One command runs as root; its exit status comes back on a second serial port.

    python -m tests.vm.harness setup          # once, as root: kernel + initramfs cache
    python -m tests.vm.harness run [--disk MB] CMD ...
                        # CMD's exit status (124 timeout, 125 VM failure); --disk: /dev/vda

The cache lives in $MINIDOCKER_VM_CACHE (default /var/tmp/minidocker-vm).
"""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

GUEST = Path(__file__).resolve().parent / "guest"
CACHE = Path(os.environ.get("MINIDOCKER_VM_CACHE", "/var/tmp/minidocker-vm"))
# what the initramfs loads: virtio PCI, 9p over virtio and overlay to mount the host's
# root; virtio_blk for the optional scratch disk (/dev/vda, for block I/O tests)
INITRAMFS_MODULES = ["virtio_pci", "9pnet_virtio", "9p", "overlay", "virtio_blk"]
EXIT_TIMEOUT = 124
EXIT_VM_FAILED = 125


class VMError(Exception):
    pass


def _run(argv: Sequence[str], cwd: Path | None = None) -> str:
    proc = subprocess.run(list(argv), cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise VMError(f"{' '.join(argv)}: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout


def missing_tools() -> list[str]:
    tools = {"qemu-system-x86_64": "qemu-system-x86", "apt-get": "apt", "dpkg-deb": "dpkg"}
    missing = [pkg for exe, pkg in tools.items() if shutil.which(exe) is None]
    if not _static_busybox():
        missing.append("busybox-static")
    return missing


def _static_busybox() -> Path | None:
    """The busybox to copy into the initramfs: it must be statically linked."""
    for cand in (Path("/bin/busybox"), Path("/usr/bin/busybox")):
        if cand.exists() and b"\0/lib64/ld-linux" not in cand.read_bytes()[:4096]:
            return cand
    return None


def is_ready(cache: Path = CACHE) -> bool:
    return (cache / "kernel" / "vmlinuz").exists() and (cache / "initramfs.cpio.gz").exists()


def _kernel_package() -> str:
    out = _run(["apt-cache", "depends", "linux-image-amd64"])
    # the generic flavour: the -cloud kernel lacks 9p
    match = re.search(r"Depends: (linux-image-[0-9][^\s]*-amd64)\b", out)
    if not match:
        raise VMError("apt-cache depends linux-image-amd64: no kernel package found")
    return match.group(1)


def _fetch_kernel(cache: Path) -> None:
    pkg = os.environ.get("MINIDOCKER_VM_KERNEL_PKG") or _kernel_package()
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    if not list(debs.glob(f"{pkg}_*.deb")):
        _run(["apt-get", "download", pkg], cwd=debs)
    deb = sorted(debs.glob(f"{pkg}_*.deb"))[-1]
    tmp = cache / "kernel.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    _run(["dpkg-deb", "-x", str(deb), str(tmp)])
    release = os.listdir(tmp / "lib" / "modules")[0]
    shutil.copy(tmp / "boot" / f"vmlinuz-{release}", tmp / "vmlinuz")
    # modules.dep and modules.alias, so the guest's modprobe and autoload find modules
    _run([str(_static_busybox()), "depmod", "-b", str(tmp), release])
    shutil.rmtree(cache / "kernel", ignore_errors=True)
    tmp.rename(cache / "kernel")


def _module_index(moddir: Path) -> dict[str, Path]:
    index = {}
    for path in moddir.rglob("*.ko*"):
        index[path.name.split(".ko")[0].replace("-", "_")] = path
    return index


def _module_deps(path: Path) -> list[str]:
    data = path.read_bytes()
    if path.name.endswith(".xz") or path.name.endswith(".zst"):
        raise VMError(f"{path.name}: compressed modules are not supported")
    match = re.search(rb"\0depends=([^\0]*)\0", data)
    if not match:
        return []
    return [d.replace("-", "_") for d in match.group(1).decode().split(",") if d]


def module_load_order(moddir: Path, names: Sequence[str]) -> list[Path]:
    """The .ko files for `names` and their dependencies, dependencies first."""
    index = _module_index(moddir)
    order: list[Path] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        name = name.replace("-", "_")
        if name in seen:
            return
        seen.add(name)
        if name not in index:
            raise VMError(f"kernel module {name} not found in {moddir}")
        for dep in _module_deps(index[name]):
            visit(dep)
        order.append(index[name])

    for name in names:
        visit(name)
    return order


def _cpio_newc(root: Path) -> bytes:
    """An initramfs archive of `root` (newc format), written here to need no cpio tool."""
    out = bytearray()
    ino = 1

    def entry(name: str, mode: int, data: bytes = b"", rdev: tuple[int, int] = (0, 0)) -> None:
        nonlocal ino
        fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1],
                  len(name) + 1, 0]
        header = b"070701" + b"".join(b"%08X" % f for f in fields)
        out.extend(header + name.encode() + b"\0")
        out.extend(b"\0" * (-len(out) % 4))
        out.extend(data)
        out.extend(b"\0" * (-len(out) % 4))
        ino += 1

    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        st = path.lstat()
        entry(rel, st.st_mode, b"" if path.is_dir() else path.read_bytes())
    entry("dev", 0o40755)
    entry("dev/console", 0o20600, rdev=(5, 1))
    entry("TRAILER!!!", 0)
    return bytes(out)


def _build_initramfs(cache: Path) -> None:
    busybox = _static_busybox()
    if busybox is None:
        raise VMError("busybox-static is not installed (the initramfs needs a static busybox)")
    release = os.listdir(cache / "kernel" / "lib" / "modules")[0]
    moddir = cache / "kernel" / "lib" / "modules" / release
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        root = Path(tmp)
        (root / "bin").mkdir()
        (root / "modules").mkdir()
        shutil.copy(busybox, root / "bin" / "busybox")
        mods = module_load_order(moddir, INITRAMFS_MODULES)
        for mod in mods:
            shutil.copy(mod, root / "modules" / mod.name)
        (root / "modules" / "order").write_text("".join(m.name + "\n" for m in mods))
        (root / "kernel-release").write_text(release + "\n")
        for script in ("init", "stage2"):
            shutil.copy(GUEST / script, root / script)
            (root / script).chmod(0o755)
        data = gzip.compress(_cpio_newc(root), compresslevel=1)
    tmpfile = cache / "initramfs.cpio.gz.tmp"
    tmpfile.write_bytes(data)
    tmpfile.rename(cache / "initramfs.cpio.gz")


def setup(cache: Path = CACHE) -> None:
    """Build the kernel and initramfs cache (idempotent; needs root and apt's archive)."""
    missing = missing_tools()
    if missing:
        raise VMError(f"missing Debian packages: {' '.join(missing)} (run scripts/setup --dev)")
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # test runs of several checkouts may set up at once
        _setup_locked(cache)


def _setup_locked(cache: Path) -> None:
    if not (cache / "kernel" / "vmlinuz").exists():
        _fetch_kernel(cache)
    key = _initramfs_key()
    key_file = cache / "initramfs.key"
    if not (cache / "initramfs.cpio.gz").exists() or not key_file.exists() or \
            key_file.read_text() != key:
        _build_initramfs(cache)
        key_file.write_text(key)


def _initramfs_key() -> str:
    """What the initramfs is made of: rebuilt when any of it changes."""
    digest = hashlib.sha256(" ".join(INITRAMFS_MODULES).encode())
    for script in sorted(GUEST.iterdir()):
        digest.update(script.read_bytes())
    busybox = _static_busybox()
    if busybox is not None:
        st = busybox.stat()
        digest.update(f"{st.st_size} {st.st_mtime_ns}".encode())
    return digest.hexdigest()


_ENV_SKIP = {"PWD", "OLDPWD", "SHLVL", "_", "HOSTNAME"}


def _job_script(argv: Sequence[str], env: dict[str, str], cwd: str) -> str:
    lines = [f"export {k}={shlex.quote(v)}" for k, v in sorted(env.items())
             if k not in _ENV_SKIP and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k)]
    lines.append(f"cd {shlex.quote(cwd)} || exit 125")
    lines.append("exec " + shlex.join(argv))
    return "\n".join(lines) + "\n"


def run(argv: Sequence[str], *, env: dict[str, str] | None = None, cwd: str | None = None,
        memory_mb: int = 1024, cpus: int = 2, timeout: float = 600,
        tmpfs: Sequence[str] = (), disk_mb: int = 0, output: int | None = None,
        cache: Path = CACHE) -> int:
    """Boot the VM, run `argv` as root in it, return its exit status.

    Output goes to `output` (a file descriptor; default: inherited stdout). `disk_mb`
    gives the guest an empty scratch disk, /dev/vda (a sparse file, discarded after).
    """
    if not is_ready(cache):
        raise VMError(f"the VM cache {cache} is not built: python -m tests.vm.harness setup")
    jobs = cache / "jobs"
    jobs.mkdir(exist_ok=True)
    job = Path(tempfile.mkdtemp(prefix="job.", dir=jobs))
    try:
        workdir = cwd or os.getcwd()
        (job / "cmd").write_text(_job_script(argv, dict(os.environ if env is None else env),
                                             workdir))
        (job / "result").write_text("")
        append = ["console=ttyS0", "quiet", "loglevel=2", "panic=-1", "cgroup_no_v1=all",
                  "mitigations=off", "rdinit=/init", f"mdvm.job={job}",
                  f"mdvm.kdir={cache / 'kernel'}", f"mdvm.tmpfs={','.join(tmpfs)}"]
        if not re.search(r"\s", workdir):  # the guest re-exposes it if a tmpfs hides it
            append.append(f"mdvm.cwd={workdir}")
        qemu = ["qemu-system-x86_64", "-nodefaults", "-no-user-config", "-display", "none",
                "-no-reboot", "-machine", "pc,accel=tcg", "-cpu", "max",
                "-m", str(memory_mb), "-smp", str(cpus),
                "-kernel", str(cache / "kernel" / "vmlinuz"),
                "-initrd", str(cache / "initramfs.cpio.gz"),
                "-append", " ".join(append),
                "-chardev", "stdio,id=con,signal=off", "-serial", "chardev:con",
                "-serial", f"file:{job / 'result'}",
                "-fsdev", "local,id=host,path=/,security_model=passthrough,readonly=on,"
                          "multidevs=remap",
                "-device", "virtio-9p-pci,fsdev=host,mount_tag=host"]
        if disk_mb:
            with open(job / "disk.img", "wb") as disk:
                disk.truncate(disk_mb << 20)
            qemu += ["-drive", f"file={job / 'disk.img'},if=virtio,format=raw"]
        try:
            subprocess.run(qemu, stdin=subprocess.DEVNULL, stdout=output, stderr=output,
                           timeout=timeout)
        except subprocess.TimeoutExpired:
            return EXIT_TIMEOUT
        found = re.findall(rb"MDVM_EXIT=(\d+)", (job / "result").read_bytes())
        return int(found[-1]) if found else EXIT_VM_FAILED
    finally:
        shutil.rmtree(job, ignore_errors=True)


def main(args: list[str]) -> int:
    if args[:1] == ["setup"]:
        setup()
        print(f"vm: ready in {CACHE}")
        return 0
    if args[:1] == ["run"] and len(args) > 1:
        disk = 0
        if args[1] == "--disk" and len(args) > 3:
            disk, args = int(args[2]), args[2:]
        return run(args[1:], disk_mb=disk)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except VMError as exc:
        print(f"vm: {exc}", file=sys.stderr)
        sys.exit(EXIT_VM_FAILED)
