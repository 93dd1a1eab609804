"""Behaviour where runc is the reference (issue 20): each test runs with minidocker-runtime
and with runc (the `any_runtime` fixture), so a test that passes with runc is right."""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import Runtime, run_captured, tool

USERNS_ID = 100000
USERNS_MAPPING = [{"containerID": 0, "hostID": USERNS_ID, "size": 65536}]
# a small config with a user namespace, for a rootfs of shared_rootfs[True]
USERNS_BUNDLE = {
    "ociVersion": "1.0.2",
    "process": {"terminal": False, "user": {"uid": 0, "gid": 0}, "args": ["true"],
                "env": ["PATH=/bin:/usr/bin"], "cwd": "/"},
    "root": {"path": "", "readonly": True},
    "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
    "linux": {"namespaces": [{"type": t} for t in ("pid", "mount", "user", "network")],
              "uidMappings": USERNS_MAPPING, "gidMappings": USERNS_MAPPING},
}


@pytest.fixture(scope="module")
def shared_rootfs(busybox_rootfs: Path) -> Iterator[dict[bool, Path]]:
    """{userns: a busybox rootfs} shared by the read-only-root tests: one owned by root,
    one owned by the id that a user namespace maps to root. Not under pytest's temp
    root, whose mode 0700 any pytest session starting meanwhile puts back."""
    top = Path(tempfile.mkdtemp(prefix="minidocker-conformance-"))
    try:
        top.chmod(0o711)
        out = {}
        for userns in (False, True):
            dest = top / ("userns" if userns else "plain")
            subprocess.run(["cp", "-a", str(busybox_rootfs), str(dest)], check=True)
            if userns:
                subprocess.run(["chown", "-R", f"{USERNS_ID}:{USERNS_ID}", str(dest)],
                               check=True)
            out[userns] = dest
        yield out
    finally:
        shutil.rmtree(top, ignore_errors=True)


def written_spec(name: str, where: Path) -> dict:
    """The config.json that `<name> spec` writes (minidocker-runtime or runc)."""
    binary = tool(name) if name == "minidocker-runtime" else shutil.which(name)
    if binary is None:
        pytest.skip(f"{name} is not installed (make setup-dev installs it)")
    where.mkdir()
    subprocess.run([binary, "spec"], cwd=where, check=True, capture_output=True)
    return json.loads((where / "config.json").read_text())


def set_namespace(config: dict, kind: str, wanted: bool) -> None:
    spaces = [ns for ns in config["linux"]["namespaces"] if ns["type"] != kind]
    if wanted:
        spaces.append({"type": kind})
    config["linux"]["namespaces"] = spaces


def run_on_terminal(cmd: list[str], on_ready: Callable[[], None],
                    timeout: float = 60) -> tuple[int, str]:
    """Run `cmd` with a new pty as its stdin/stdout/stderr (as from a terminal); when its
    output says READY, call on_ready() and type a line. (exit code, output)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave,
                            start_new_session=True)
    os.close(slave)
    out = b""
    ready = False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            r, _, _ = select.select([master], [], [], 1)
            if not r:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: every holder of the terminal is gone
                break
            if not chunk:
                break
            out += chunk
            if not ready and b"READY" in out:
                ready = True
                on_ready()
                os.write(master, b"go\n")
        else:
            raise AssertionError(f"{cmd} did not finish: {out!r}")
        return proc.wait(timeout=30), out.decode(errors="replace").replace("\r", "")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)


def cgroup_mounts(pid: int) -> list[tuple[str, str, str, str]]:
    """[(mount point, root, per-mount options, fs type + super options)] of the cgroup
    filesystems under /sys/fs/cgroup in the mount namespace of `pid`, seen from the host."""
    out = []
    for line in Path(f"/proc/{pid}/mountinfo").read_text().splitlines():
        left, _, right = line.partition(" - ")
        fields = left.split()
        fstype, _source, super_opts = right.split()[:3]
        if fstype in ("cgroup", "cgroup2") and fields[4].startswith("/sys/fs/cgroup"):
            out.append((fields[4], fields[3], fields[5], f"{fstype} {super_opts}"))
    return out


def hierarchy_paths(pid: int) -> dict[frozenset[str], str]:
    """{controllers (or {"name=..."}, or {} for cgroup2): path} of `pid` as the host sees."""
    out = {}
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, ctrls, path = line.split(":", 2)
        out[frozenset(c for c in ctrls.split(",") if c)] = path
    return out


def hierarchy_of(fs: str) -> frozenset[str]:
    fstype, super_opts = fs.split()
    if fstype == "cgroup2":
        return frozenset()
    return frozenset(o for o in super_opts.split(",")
                     if o not in ("rw", "ro", "xattr", "noprefix", "clone_children")
                     and not o.startswith("release_agent"))


@pytest.mark.parametrize("cgroupns", [False, True], ids=["no-cgroupns", "cgroupns"])
@pytest.mark.parametrize("userns", [False, True], ids=["no-userns", "userns"])
@pytest.mark.parametrize("writer", ["minidocker-runtime", "runc"])
def test_spec_written_by_a_tool_runs_unchanged(any_runtime: Runtime, tmp_path: Path,
                                               shared_rootfs: dict[bool, Path], writer: str,
                                               userns: bool, cgroupns: bool) -> None:
    """The config of `minidocker-runtime spec` / `runc spec` (terminal, read-only root, a
    read-only /sys/fs/cgroup: what podman, Docker and containerd's CRI send on cgroup v1
    too), changed only in args and rootfs, and in the namespaces under test. In the
    container /sys/fs/cgroup shows the container's own cgroup of each hierarchy, never
    the root of a host hierarchy, read-only."""
    config = written_spec(writer, tmp_path / "spec")
    config["root"]["path"] = str(shared_rootfs[userns])
    config["process"]["args"] = [
        "sh", "-c", "echo START; for d in /sys/fs/cgroup/*; do mkdir $d/probe 2>/dev/null "
        "&& echo WROTE $d; done; echo READY; read line; echo END $line"]
    set_namespace(config, "cgroup", cgroupns)
    set_namespace(config, "user", userns)
    if userns:
        config["linux"]["uidMappings"] = USERNS_MAPPING
        config["linux"]["gidMappings"] = USERNS_MAPPING
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "config.json").write_text(json.dumps(config))
    pid_file = tmp_path / "pid"
    seen: dict[str, object] = {}

    def inspect() -> None:
        deadline = time.monotonic() + 30
        while not pid_file.exists():  # runc's `run` writes it after the start
            assert time.monotonic() < deadline, "no pid file"
            time.sleep(0.01)
        pid = int(pid_file.read_text())
        seen["mounts"] = cgroup_mounts(pid)
        seen["paths"] = hierarchy_paths(pid)

    cid = any_runtime.new_id()
    code, out = run_on_terminal(any_runtime.cmd("run", "--pid-file", str(pid_file), "-b",
                                                str(bundle), cid), inspect)
    assert code == 0, out
    assert "START" in out and "END go" in out, out
    assert "WROTE" not in out  # read-only: no cgroup made from inside
    mounts = seen["mounts"]
    paths = seen["paths"]
    assert isinstance(mounts, list) and isinstance(paths, dict)
    shown = {hierarchy_of(fs) for _, _, _, fs in mounts}
    for needed in ("cpu", "memory", "pids", "devices", "freezer"):
        assert any(needed in h for h in shown), (needed, mounts)
    for mount_point, root, options, fs in mounts:
        hierarchy = hierarchy_of(fs)
        assert root != "/", f"{mount_point} shows the root of the host's hierarchy"
        assert root == paths.get(hierarchy), (mount_point, root, paths)
        assert "ro" in options.split(","), (mount_point, options)


def ours(rt: Runtime) -> bool:
    return rt.binary == tool("minidocker-runtime")


def test_ambient_capability_not_inheritable_is_left_out(any_runtime: Runtime,
                                                        make_bundle) -> None:
    """`runc spec` asks for ambient capabilities without inheritable ones, which the
    kernel refuses to raise: the container runs without them (ours warns, as runc 1.2)."""
    b = make_bundle(["sh", "-c", "grep CapAmb /proc/self/status"])
    caps = b.config["process"]["capabilities"]
    caps["ambient"] = ["CAP_KILL", "CAP_NET_BIND_SERVICE"]
    caps["inheritable"] = ["CAP_NET_BIND_SERVICE"]
    b.write()
    proc = any_runtime.run("run", "-b", str(b), any_runtime.new_id())
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout.split()[1], 16) == 1 << 10  # only NET_BIND_SERVICE
    if ours(any_runtime):
        assert "ambient capability CAP_KILL" in proc.stderr


# ---- sysctls only into namespaces of the container's own (issue 20 item 2) ----------------

HOST_SYSCTLS = ["fs/mqueue/queues_max", "kernel/msgmax", "net/ipv4/ping_group_range",
                "kernel/printk_ratelimit_burst", "kernel/domainname", "kernel/hostname"]


@pytest.fixture
def host_sysctls() -> Iterator[dict[str, str]]:
    """The host's values of HOST_SYSCTLS, put back afterwards (the code before the fix
    wrote them)."""
    saved = {k: Path(f"/proc/sys/{k}").read_text() for k in HOST_SYSCTLS}
    try:
        yield saved
    finally:
        for key, value in saved.items():
            if Path(f"/proc/sys/{key}").read_text() != value:
                Path(f"/proc/sys/{key}").write_text(value)


def without(config: dict, *kinds: str) -> None:
    config["linux"]["namespaces"] = [ns for ns in config["linux"]["namespaces"]
                                     if ns["type"] not in kinds]


@pytest.mark.parametrize("key,value,shared", [
    ("fs.mqueue.queues_max", "77", "ipc"),
    ("kernel.msgmax", "4343", "ipc"),
    ("net.ipv4.ping_group_range", "7 7", "network"),
    ("kernel.domainname", "leak.example", "uts"),
    ("kernel.printk_ratelimit_burst", "77", None),
])
def test_sysctl_outside_a_namespace_of_the_container_is_refused(
        any_runtime: Runtime, make_bundle, host_sysctls: dict[str, str], key: str,
        value: str, shared: str | None) -> None:
    b = make_bundle(["true"])
    if shared is not None:
        without(b.config, shared)
        if shared == "uts":
            b.config.pop("hostname", None)
    b.config["linux"]["sysctl"] = {key: value}
    b.write()
    cid = any_runtime.new_id()
    proc = any_runtime.run("run", "-b", str(b), cid)
    assert proc.returncode != 0
    assert key in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 or not ours(any_runtime)
    assert host_sysctls == {k: Path(f"/proc/sys/{k}").read_text() for k in HOST_SYSCTLS}
    assert not (any_runtime.root / cid).exists()


def test_sysctl_into_the_hosts_network_namespace_by_path_is_refused(
        any_runtime: Runtime, make_bundle, host_sysctls: dict[str, str]) -> None:
    b = make_bundle(["true"])
    for ns in b.config["linux"]["namespaces"]:
        if ns["type"] == "network":
            ns["path"] = f"/proc/{os.getpid()}/ns/net"  # the runtime's own, as ours
    b.config["linux"]["sysctl"] = {"net.ipv4.ping_group_range": "7 7"}
    b.write()
    proc = any_runtime.run("run", "-b", str(b), any_runtime.new_id())
    assert proc.returncode != 0 and "net.ipv4.ping_group_range" in proc.stderr
    assert host_sysctls == {k: Path(f"/proc/sys/{k}").read_text() for k in HOST_SYSCTLS}


def test_namespaced_sysctls_are_written_inside(any_runtime: Runtime, make_bundle,
                                              host_sysctls: dict[str, str]) -> None:
    b = make_bundle(["sh", "-c", "cat /proc/sys/fs/mqueue/queues_max "
                     "/proc/sys/kernel/shm_rmid_forced /proc/sys/net/ipv4/ping_group_range "
                     "/proc/sys/kernel/domainname"])
    b.config["linux"]["sysctl"] = {"fs.mqueue.queues_max": "77", "kernel.shm_rmid_forced": "1",
                                   "net/ipv4/ping_group_range": "7 7",
                                   "kernel.domainname": "inside.example"}
    b.write()
    proc = any_runtime.run("run", "-b", str(b), any_runtime.new_id())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["77", "1", "7", "7", "inside.example"]
    assert host_sysctls == {k: Path(f"/proc/sys/{k}").read_text() for k in HOST_SYSCTLS}


@pytest.mark.parametrize("uts", [True, False], ids=["uts", "no-uts"])
def test_kernel_hostname_sysctl_is_refused(any_runtime: Runtime, make_bundle,
                                           host_sysctls: dict[str, str], uts: bool) -> None:
    """Always (as runc and crun): it conflicts with the hostname field."""
    b = make_bundle(["hostname"])
    b.config["linux"]["sysctl"] = {"kernel.hostname": "from-sysctl"}
    b.config.pop("hostname", None)
    if not uts:
        without(b.config, "uts")
    b.write()
    proc = any_runtime.run("run", "-b", str(b), any_runtime.new_id())
    assert proc.returncode == 1 and "kernel.hostname" in proc.stderr
    assert host_sysctls == {k: Path(f"/proc/sys/{k}").read_text() for k in HOST_SYSCTLS}


def test_engine_run_sysctl_outside_its_namespaces_is_refused(
        busybox_rootfs: Path, tmp_path: Path, host_sysctls: dict[str, str]) -> None:
    """The engine's `run --sysctl` (through the runtime in-process): the same refusal,
    in one line naming the flag (and Docker's "See 'minidocker run --help'." hint under
    it), exit 125; a namespaced key still works."""
    base = [tool("minidocker"), "--root", str(tmp_path / "root"), "run", "--rm",
            "--network", "none"]
    proc = run_captured([*base, "--sysctl", "kernel.printk_ratelimit_burst=77",
                         str(busybox_rootfs), "true"])
    assert proc.returncode == 125
    error, *rest = proc.stderr.splitlines()
    assert "--sysctl" in error and "kernel.printk_ratelimit_burst" in error, proc.stderr
    assert rest in ([], ["See 'minidocker run --help'."]), proc.stderr
    proc = run_captured([*base, "--sysctl", "kernel.msgmax=4343", str(busybox_rootfs),
                         "cat", "/proc/sys/kernel/msgmax"])
    assert proc.returncode == 0 and proc.stdout == "4343\n", proc.stderr
    assert host_sysctls == {k: Path(f"/proc/sys/{k}").read_text() for k in HOST_SYSCTLS}


# ---- processes in sessions of their own (issue 20 item 3) ----------------------------------


def session_of(stat_line: str) -> tuple[int, int, int]:
    """(pid, process group, session) from /proc/PID/stat (comm may hold spaces)."""
    pid = int(stat_line.split(" ", 1)[0])
    fields = stat_line.rsplit(")", 1)[1].split()
    return pid, int(fields[2]), int(fields[3])


def test_init_and_exec_processes_lead_their_own_sessions(any_runtime: Runtime,
                                                         make_bundle) -> None:
    """`kill -TERM 0` in an exec'd process signals its own group only: the host shell that
    ran `exec` survives (it shared the group before)."""
    b = make_bundle(["sleep", "100"])
    cid = any_runtime.new_id()
    any_runtime.run("run", "-d", "-b", str(b), cid, check=True)
    init = any_runtime.run("exec", cid, "cat", "/proc/1/stat", check=True).stdout
    assert session_of(init) == (1, 1, 1)
    own = any_runtime.run("exec", cid, "sh", "-c", "cat /proc/$$/stat", check=True).stdout
    pid, group, session = session_of(own)
    assert group == pid and session == pid
    host = run_captured(["sh", "-c", " ".join(any_runtime.cmd("exec", cid, "sh", "-c",
                                                              "'kill -TERM 0; sleep 5'"))
                         + "; echo host shell alive: $?"], start_new_session=True)
    assert host.stdout == "host shell alive: 143\n", (host.stdout, host.stderr)


# ---- HOME, cwd (issue 20 items 4 and 5) --------------------------------------------------


@pytest.mark.parametrize("env,uid,home", [
    ([], 0, "/root"),                  # from /etc/passwd
    (["HOME="], 0, "/root"),           # empty counts as unset
    (["HOME=/override"], 0, "/override"),
    ([], 1, "/usr/sbin"),              # daemon
    ([], 4321, "/"),                   # no entry
])
def test_home_is_set_from_the_containers_passwd(any_runtime: Runtime, make_bundle,
                                                env: list[str], uid: int, home: str) -> None:
    b = make_bundle(["sh", "-c", 'echo "$HOME"; env | grep -c ^HOME='])
    b.config["process"]["env"] = ["PATH=/bin:/usr/bin", *env]
    b.config["process"]["user"] = {"uid": uid, "gid": 0}
    b.write()
    proc = any_runtime.run("run", "-b", str(b), any_runtime.new_id())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [home, "1"]


def test_home_is_set_for_exec(any_runtime: Runtime, make_bundle) -> None:
    b = make_bundle(["sleep", "100"])
    b.config["process"]["env"] = ["PATH=/bin:/usr/bin"]
    b.write()
    cid = any_runtime.new_id()
    any_runtime.run("run", "-d", "-b", str(b), cid, check=True)
    for user, home in (("0", "/root"), ("65534", "/home"), ("4321", "/")):
        proc = any_runtime.run("exec", "-u", user, cid, "sh", "-c", 'echo "$HOME"')
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == f"{home}\n"


def test_missing_cwd_is_created(any_runtime: Runtime, make_bundle) -> None:
    """As runc and crun: 0755, owned by the container's root, before the process runs
    as its user."""
    b = make_bundle(["sh", "-c", "pwd; stat -c '%u %a' /new/dir /new"])
    b.config["process"]["cwd"] = "/new/dir"
    b.config["process"]["user"] = {"uid": 1000, "gid": 1000}
    b.write()
    proc = any_runtime.run("run", "-b", str(b), any_runtime.new_id())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["/new/dir", "0 755", "0 755"]


def test_relative_program_path_is_from_the_cwd(any_runtime: Runtime, make_bundle) -> None:
    b = make_bundle(["./busybox", "echo", "from cwd"])
    b.config["process"]["cwd"] = "/bin"
    b.write()
    proc = any_runtime.run("run", "-b", str(b), any_runtime.new_id())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "from cwd\n"


# ---- tmpfs mode, loopback, hooks' environment (issue 20 items 8, 9, 11) -----------------------


def test_tmpfs_takes_the_mode_of_its_mount_point(any_runtime: Runtime, make_bundle) -> None:
    b = make_bundle(["stat", "-c", "%a", "/kept", "/given", "/new"])
    for name in ("kept", "given"):
        (b.rootfs / name).mkdir()
        (b.rootfs / name).chmod(0o712)
    b.config["mounts"] += [
        {"destination": "/kept", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid"]},
        {"destination": "/given", "type": "tmpfs", "source": "tmpfs",
         "options": ["mode=750"]},
        {"destination": "/new", "type": "tmpfs", "source": "tmpfs"},
    ]
    b.write()
    proc = any_runtime.run("run", "-b", str(b), any_runtime.new_id())
    assert proc.returncode == 0, proc.stderr
    kept, given, new = proc.stdout.split()
    assert (kept, new) == ("712", "1777")
    # an explicit mode= wins (runc >= 1.2; Debian's runc 1.1.5 chmods the mount point
    # back to its old mode even then)
    assert given == "750" or not ours(any_runtime)


def test_loopback_is_up_in_a_new_network_namespace(any_runtime: Runtime,
                                                   make_bundle) -> None:
    b = make_bundle(["sh", "-c", "cat /sys/class/net/lo/flags; ping -c 1 -W 5 127.0.0.1 "
                                 ">/dev/null && echo reached"])
    for kind in ("effective", "permitted", "bounding"):
        b.config["process"]["capabilities"][kind].append("CAP_NET_RAW")
    b.write()
    proc = any_runtime.run("run", "-b", str(b), any_runtime.new_id())
    assert proc.returncode == 0, proc.stderr
    flags, reached = proc.stdout.split()
    assert int(flags, 16) & 0x1 and reached == "reached"


def test_hooks_without_env_inherit_the_runtimes_environment(any_runtime: Runtime,
                                                            make_bundle,
                                                            tmp_path: Path) -> None:
    log = tmp_path / "env.log"
    hook = tmp_path / "hook.sh"
    hook.write_text(f"#!/bin/sh\necho \"$1 probe=$MD_HOOK_PROBE own=$OWN\" >> {log}\n")
    hook.chmod(0o755)
    b = make_bundle(["true"])
    b.config["hooks"] = {"prestart": [{"path": str(hook), "args": ["hook", "inherited"]},
                                      {"path": str(hook), "args": ["hook", "given"],
                                       "env": ["OWN=1"]}],
                         "poststop": [{"path": str(hook), "args": ["hook", "poststop"]}]}
    b.write()
    proc = any_runtime.run("run", "-b", str(b), any_runtime.new_id(),
                           env={**os.environ, "MD_HOOK_PROBE": "from-caller"})
    assert proc.returncode == 0, proc.stderr
    assert log.read_text().splitlines() == ["inherited probe=from-caller own=",
                                            "given probe= own=1",
                                            "poststop probe=from-caller own="]


# ---- mount targets behind dangling symlinks (issue 20 item 7) -----------------------------


def test_mount_target_behind_a_dangling_symlink_is_made_inside_the_rootfs(
        any_runtime: Runtime, make_bundle, tmp_path: Path) -> None:
    source_file = tmp_path / "resolv.conf"
    source_file.write_text("nameserver 192.0.2.53\n")
    source_dir = tmp_path / "data"
    source_dir.mkdir()
    (source_dir / "in-dir").write_text("dir content\n")
    outside = Path(tempfile.gettempdir()) / f"minidocker-escape-{uuid.uuid4().hex[:8]}"
    b = make_bundle(["sh", "-c", "cat /etc/resolv.conf /data-link/in-dir /etc/escape"])
    (b.rootfs / "etc" / "resolv.conf").unlink(missing_ok=True)
    (b.rootfs / "etc" / "resolv.conf").symlink_to("../run/resolve/stub-resolv.conf")
    (b.rootfs / "data-link").symlink_to("/srv/not/yet")
    (b.rootfs / "etc" / "escape").symlink_to(f"../../../../../..{outside}")
    b.config["mounts"] += [
        {"destination": "/etc/resolv.conf", "type": "bind", "source": str(source_file),
         "options": ["bind", "ro"]},
        {"destination": "/data-link", "type": "bind", "source": str(source_dir),
         "options": ["rbind"]},
        {"destination": "/etc/escape", "type": "bind", "source": str(source_file),
         "options": ["bind"]},
    ]
    b.write()
    try:
        proc = any_runtime.run("run", "-b", str(b), any_runtime.new_id())
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == "nameserver 192.0.2.53\ndir content\nnameserver 192.0.2.53\n"
        assert (b.rootfs / "run" / "resolve" / "stub-resolv.conf").is_file()
        assert (b.rootfs / "srv" / "not" / "yet").is_dir()
        assert (b.rootfs / outside.relative_to("/")).is_file()  # inside, never outside
        assert not outside.exists()
    finally:
        if outside.exists():
            outside.unlink()


# ---- bind sources reached as the host's root sees them (issue 20 item 6) ----------------


def test_bind_source_behind_a_directory_the_user_namespace_cannot_enter(
        any_runtime: Runtime, shared_rootfs: dict[bool, Path]) -> None:
    """With a user namespace, the container's root is an unprivileged id on the host: it
    could not walk a 0700 directory to the source, which it may read once mounted."""
    top = Path(tempfile.mkdtemp(prefix="minidocker-private-"))  # 0700, the host's root's
    try:
        (top / "shared").mkdir(mode=0o755)
        (top / "shared" / "file").write_text("reached\n")
        (top / "link").symlink_to(top / "shared" / "file")
        bundle = top / "bundle-holder"
        config = json.loads(json.dumps(USERNS_BUNDLE))
        config["root"]["path"] = str(shared_rootfs[True])
        config["mounts"] += [
            {"destination": "/mnt/dir", "type": "bind", "source": str(top / "shared"),
             "options": ["rbind", "ro"]},
            {"destination": "/mnt/file", "type": "bind", "source": str(top / "link"),
             "options": ["bind", "ro"]},
        ]
        config["process"]["args"] = ["cat", "/mnt/dir/file", "/mnt/file"]
        bundle.mkdir()
        (bundle / "config.json").write_text(json.dumps(config))
        proc = any_runtime.run("run", "-b", str(bundle), any_runtime.new_id())
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == "reached\nreached\n"
    finally:
        shutil.rmtree(top, ignore_errors=True)


# ---- realtime CPU runtime (issue 20 item 10) ------------------------------------------------

V1_CPU = Path("/sys/fs/cgroup/cpu")
needs_v1_rt = pytest.mark.skipif(not (V1_CPU / "cpu.rt_runtime_us").exists(),
                                 reason="no cgroup v1 realtime group scheduling here "
                                        "(cgroup v2 has none: refused, tests/unit/cgroups)")


def realtime_bundle(make_bundle, path: str | None = None):
    b = make_bundle(["cat", "/sys/fs/cgroup/cpu/cpu.rt_runtime_us"])
    b.config["linux"]["resources"]["cpu"] = {"realtimeRuntime": 20000,
                                             "realtimePeriod": 100000}
    if path:
        b.config["linux"]["cgroupsPath"] = path
    return b.write()


@needs_v1_rt
def test_realtime_runtime_is_given(any_runtime: Runtime, make_bundle) -> None:
    """The default cgroup (ours under /minidocker, whose runtime is 0 when new)."""
    proc = any_runtime.run("run", "-b", str(realtime_bundle(make_bundle)),
                           any_runtime.new_id())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "20000\n"


@needs_v1_rt
def test_realtime_runtime_under_parents_of_others_says_why_not(runtime: Runtime,
                                                               make_bundle) -> None:
    """Ours only: parents minidocker makes get what the container needs (runc leaves
    them at 0 and fails with EINVAL); a parent of someone else's is never written, and
    the error says which one lacks room."""
    top = f"minidocker-rt-{uuid.uuid4().hex[:8]}"
    proc = runtime.run("run", "-b", str(realtime_bundle(make_bundle, f"/{top}/made/c")),
                       runtime.new_id())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "20000\n"
    assert not (V1_CPU / top).exists()  # removed with the container
    (V1_CPU / top).mkdir()
    try:
        proc = runtime.run("run", "-b", str(realtime_bundle(make_bundle, f"/{top}/c")),
                           runtime.new_id())
        assert proc.returncode == 1
        assert f"{V1_CPU / top}" in proc.stderr and "realtimeRuntime" in proc.stderr
        assert (V1_CPU / top / "cpu.rt_runtime_us").read_text() == "0\n"
        assert [p.name for p in (V1_CPU / top).iterdir() if p.is_dir()] == []
    finally:
        (V1_CPU / top).rmdir()


# ---- dockerd's blockIO {"weight": 0} (issue 17) ---------------------------------------------


def test_blockio_weight_zero_is_unset(any_runtime: Runtime, make_bundle,
                                      tmp_path: Path) -> None:
    """dockerd sends "blockIO": {"weight": 0} with every create and every update."""
    b = make_bundle(["sleep", "100"])
    b.config["linux"]["resources"]["blockIO"] = {"weight": 0, "leafWeight": 0}
    b.write()
    cid = any_runtime.new_id()
    proc = any_runtime.run("run", "-d", "-b", str(b), cid)
    assert proc.returncode == 0, proc.stderr
    update = tmp_path / "update.json"
    update.write_text(json.dumps({"blockIO": {"weight": 0}, "pids": {"limit": 77}}))
    proc = any_runtime.run("update", "--resources", str(update), cid)
    assert proc.returncode == 0, proc.stderr
    pids = any_runtime.run("exec", cid, "cat", "/sys/fs/cgroup/pids/pids.max", check=True)
    assert pids.stdout == "77\n"


# ---- state while being created, --log (found by crun's suite) -------------------------------


@pytest.mark.parametrize("stage", ["createRuntime", "createContainer"])
def test_state_while_being_created_is_an_error(any_runtime: Runtime, make_bundle,
                                               tmp_path: Path, stage: str) -> None:
    """Until create returns there is no pid or bundle to tell: `state` fails (as runc's),
    never a "creating" document with an empty bundle; then it says created. A slow hook
    holds create in the parent (createRuntime) or in the init (createContainer: ours has
    written its state file under a temporary name by then, and publishes it at READY)."""
    hook = tmp_path / "slow.sh"
    hook.write_text("#!/bin/sh\nsleep 2\n")
    hook.chmod(0o755)
    b = make_bundle(["true"])
    b.config["hooks"] = {stage: [{"path": str(hook)}]}
    b.write()
    cid = any_runtime.new_id()
    with open(tmp_path / "create.out", "w") as out:
        creator = subprocess.Popen(any_runtime.cmd("create", "-b", str(b), cid),
                                   stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    answers = []
    while creator.poll() is None:
        proc = any_runtime.run("state", cid)
        answers.append(json.loads(proc.stdout)["status"] if proc.returncode == 0 else "error")
        time.sleep(0.05)
    assert creator.wait() == 0, (tmp_path / "create.out").read_text()
    assert "error" in answers and "creating" not in answers, answers
    assert set(answers) <= {"error", "created"}
    # created only in the last moments of create (after READY), not during the hook
    assert answers.count("created") <= 3 and answers.index("error") == 0, answers
    assert any_runtime.state(cid)["status"] == "created"


def test_a_log_file_that_cannot_be_opened_is_an_error(any_runtime: Runtime,
                                                       tmp_path: Path) -> None:
    proc = any_runtime.run("--log", str(tmp_path / "no" / "such" / "dir" / "log"), "list")
    assert proc.returncode != 0
    assert "no such file or directory" in proc.stderr.lower()
