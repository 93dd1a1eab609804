"""The engines that call an OCI runtime: podman, containerd (with ctr) and dockerd, each on
private roots, sockets and state directories, and how to leave nothing of them behind.

Used by the client tests (one daemon per test module) and by bench/bench_clients.py.
Everything a daemon leaves on the host outside its private directory is listed where it
is undone: shim sockets under /run/containerd/s, dockerd's /run/docker/plugins, the
cgroups of its containers' parent (a private parent per daemon), mounts under its root.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import random
import shutil
import signal
import subprocess
import tarfile
import time
import uuid
from pathlib import Path
from typing import Any

from tests.conftest import run_captured, tool

RUNTIMES = ("runc", "ours")
IMAGE = "localhost/mdbusybox:latest"
PAUSE_IMAGE = "localhost/mdpause:latest"
CGROUP_ROOT = Path("/sys/fs/cgroup")


def runtime_binary(name: str) -> str:
    """The executable of a runtime by its short name: runc, crun or ours
    (MDCLIENTS_<NAME>=PATH overrides: bench_clients.py wraps crun that way)."""
    override = os.environ.get(f"MDCLIENTS_{name.upper()}")
    if override:
        return override
    if name == "ours":
        return str(Path(tool("minidocker-runtime")).resolve())
    found = shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if not found:
        raise RuntimeError(f"{name} is not installed")
    return found


# --- host leftovers ------------------------------------------------------------------

class HostDirs:
    """Host directories a daemon creates outside its private root: those that did not
    exist before are removed (when empty) by `remove_new`, deepest first."""

    def __init__(self, *paths: str):
        self.new = [p for p in paths if not os.path.lexists(p)]

    def remove_new(self) -> None:
        for path in sorted(self.new, key=len, reverse=True):
            with contextlib.suppress(OSError):
                os.rmdir(path)


def umount_under(base: Path) -> None:
    """Detach every mount at or below `base` (a daemon killed mid-way leaves overlays,
    shm and netns bind mounts there), deepest first."""
    prefix = str(base).rstrip("/") + "/"
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4].replace("\\040", " ")
            if point.startswith(prefix):
                points.append(point)
    for point in sorted(set(points), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], stderr=subprocess.DEVNULL, check=False)


def remove_cgroup_tree(parent: str) -> None:
    """Remove the private cgroup parent `parent` (no leading slash) and its children in
    every hierarchy, children first. Only ever called with a parent made for one daemon."""
    assert parent and "/" not in parent.strip("/") and not parent.startswith(".")
    for hierarchy in CGROUP_ROOT.iterdir():
        top = hierarchy / parent
        if not top.is_dir() or top.is_symlink():
            continue
        dirs = [Path(d) for d, _, _ in os.walk(top)]
        for d in sorted(dirs, key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):
                d.rmdir()


def kill_processes_mentioning(marker: str) -> None:
    """SIGKILL the processes whose command line contains `marker`, a private path of one
    daemon (its socket or root): its shims and conmons, which outlive the daemon."""
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(entry), signal.SIGKILL)


def wait_until(predicate: Any, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached in {timeout:.0f} s")
        time.sleep(0.1)


# --- the image -----------------------------------------------------------------------

def write_image_archive(rootfs: Path, dest: Path) -> Path:
    """A docker-archive (what `docker save` writes; podman, docker and ctr load it) of
    two images sharing one layer, the busybox rootfs: IMAGE (sh) and PAUSE_IMAGE (a
    process that sleeps until killed, as the sandbox image of a CRI pod)."""
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        for entry in sorted(rootfs.iterdir()):
            tar.add(entry, arcname=entry.name)
    layer_bytes = layer.getvalue()
    diff_id = "sha256:" + hashlib.sha256(layer_bytes).hexdigest()

    def config(cmd: list[str]) -> bytes:
        return json.dumps({
            "architecture": "amd64", "os": "linux",
            "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
                               "/sbin:/bin"], "Cmd": cmd, "WorkingDir": "/"},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            "history": [{"created_by": "minidocker tests: busybox rootfs"}],
        }).encode()

    images = [(IMAGE, config(["sh"])), (PAUSE_IMAGE, config(["sleep", "2147483647"]))]
    files: dict[str, bytes] = {"layer/layer.tar": layer_bytes}
    manifest = []
    for tag, cfg in images:
        name = hashlib.sha256(cfg).hexdigest() + ".json"
        files[name] = cfg
        manifest.append({"Config": name, "RepoTags": [tag], "Layers": ["layer/layer.tar"]})
    files["manifest.json"] = json.dumps(manifest).encode()
    with tarfile.open(dest, "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    return dest


# --- podman --------------------------------------------------------------------------

class Podman:
    """podman with private storage, run and tmp directories, the cgroupfs manager and a
    containers.conf with ulimits that fit this host (no CAP_SYS_RESOURCE in the
    bounding set: podman's defaults fail with EPERM). Containers and pods go under a
    private cgroup parent."""

    def __init__(self, base: Path, archive: Path):
        self.base = base
        base.mkdir(parents=True, exist_ok=True)
        self.cgroup_parent = "mdclients-podman-" + uuid.uuid4().hex[:8]
        conf = base / "containers.conf"
        conf.write_text('[containers]\n'
                        'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n'
                        '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n'
                        f'events_logfile_path = "{base}/events.log"\n')
        self.env = {**os.environ, "CONTAINERS_CONF": str(conf),
                    "CONTAINERS_REGISTRIES_CONF": str(base / "registries.conf")}
        (base / "registries.conf").write_text("")
        self.prefix = ["podman", "--root", str(base / "storage"), "--runroot",
                       str(base / "run"), "--tmpdir", str(base / "tmp"),
                       "--network-config-dir", str(base / "networks")]
        self.ok("load", "-q", "-i", str(archive))

    def cmd(self, *args: str, runtime: str | None = None) -> list[str]:
        rt = ["--runtime", runtime_binary(runtime)] if runtime else []
        args_l = list(args)
        # a private cgroup parent for what creates a cgroup
        if args_l and args_l[0] in ("run", "create"):
            args_l.insert(1, f"--cgroup-parent=/{self.cgroup_parent}")
        elif args_l[:2] == ["pod", "create"]:
            args_l.insert(2, f"--cgroup-parent=/{self.cgroup_parent}")
        return [*self.prefix, *rt, *args_l]

    def run(self, *args: str, runtime: str | None = None, check: bool = False,
            timeout: float = 60, **kw: Any) -> subprocess.CompletedProcess[str]:
        kw.setdefault("env", self.env)
        # conmon writes a file `oom` into its working directory when the container is
        # OOM-killed (with no persist dir): let that be ours
        kw.setdefault("cwd", self.base)
        return run_captured(self.cmd(*args, runtime=runtime), check=check, timeout=timeout,
                            **kw)

    def ok(self, *args: str, runtime: str | None = None, **kw: Any) -> str:
        return self.run(*args, runtime=runtime, check=True, **kw).stdout

    def close(self) -> None:
        self.run("pod", "rm", "-af", "-t", "0", timeout=120)
        self.run("rm", "-af", "-t", "0", timeout=120)
        kill_processes_mentioning(str(self.base))  # conmons of a broken run
        umount_under(self.base)
        shutil.rmtree(self.base, ignore_errors=True)
        remove_cgroup_tree(self.cgroup_parent)


# --- daemons -------------------------------------------------------------------------

class Daemon:
    """A daemon process of ours, its output in <base>/<name>.log, stopped by `stop`."""

    base: Path
    proc: subprocess.Popen[bytes] | None = None

    def _start(self, name: str, args: list[str], ready: Any, timeout: float) -> None:
        self.log_path = self.base / f"{name}.log"
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        wait_until(lambda: self._died() or ready(), timeout, f"{name} answering")
        if self._died():
            raise RuntimeError(f"{name} exited: " + self.log_tail())

    def _died(self) -> bool:
        return self.proc is None or self.proc.poll() is not None

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except (OSError, AttributeError):
            return ""

    def _stop(self, timeout: float) -> None:
        """SIGTERM, then SIGKILL after `timeout` seconds."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


# --- containerd ----------------------------------------------------------------------

class Containerd(Daemon):
    """containerd on a private root, state directory and sockets, with its CRI plugin
    configured as a Kubernetes node would have it for a RuntimeClass per runtime:
    handler NAME = runtime_type io.containerd.runc.v2 with options BinaryName (and a
    private Root). ctr works in a private namespace whose name is also the cgroup parent
    of its containers (ctr's default cgroup is /<namespace>/<id>)."""

    def __init__(self, base: Path, archive: Path | None = None,
                 handlers: tuple[str, ...] = RUNTIMES):
        self.base = base
        base.mkdir(parents=True, exist_ok=True)
        self.sock = str(base / "containerd.sock")
        self.namespace = "mdclients-ctr-" + uuid.uuid4().hex[:8]
        self.runc_root = base / "runc-root"
        self.host_dirs = HostDirs("/run/containerd", "/run/containerd/s")
        for d in ("cni/bin", "cni/conf"):
            (base / d).mkdir(parents=True, exist_ok=True)
        self.config = base / "config.toml"
        self.config.write_text(self._config(handlers))
        try:
            self._start("containerd", ["containerd", "--config", str(self.config)],
                        lambda: self.ctr("version").returncode == 0, 60)
            if archive is not None:
                self.ok("images", "import", str(archive))
        except BaseException:
            self.close()
            raise

    def _config(self, handlers: tuple[str, ...]) -> str:
        cri = 'plugins."io.containerd.grpc.v1.cri"'
        lines = [
            "version = 2",
            f'root = "{self.base}/root"',
            f'state = "{self.base}/state"',
            'disabled_plugins = ["io.containerd.snapshotter.v1.aufs",'
            ' "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",'
            ' "io.containerd.snapshotter.v1.devmapper"]',
            "[grpc]", f'  address = "{self.sock}"',
            "[ttrpc]", f'  address = "{self.sock}.ttrpc"',
            '[plugins."io.containerd.internal.v1.opt"]', f'  path = "{self.base}/opt"',
            f"[{cri}]",
            f'  sandbox_image = "{PAUSE_IMAGE}"',
            '  stream_server_address = "127.0.0.1"', '  stream_server_port = "0"',
            "  enable_selinux = false", "  disable_apparmor = true",
            # a sandbox gets oom_score_adj -998 otherwise: without CAP_SYS_RESOURCE in the
            # bounding set (this project's machines) no runtime can set that
            "  restrict_oom_score_adj = true",
            f"[{cri}.cni]", f'  bin_dir = "{self.base}/cni/bin"',
            f'  conf_dir = "{self.base}/cni/conf"',
            f"[{cri}.containerd]", f'  default_runtime_name = "{handlers[0]}"',
        ]
        for name in handlers:
            lines += [f"[{cri}.containerd.runtimes.{name}]",
                      '  runtime_type = "io.containerd.runc.v2"',
                      f"[{cri}.containerd.runtimes.{name}.options]",
                      f'  BinaryName = "{runtime_binary(name)}"',
                      f'  Root = "{self.base}/cri-root-{name}"']
        return "\n".join(lines) + "\n"

    def ctr_cmd(self, *args: str, namespace: str | None = None) -> list[str]:
        words = list(args)
        # the fifos of a task's stdio: ctr makes them under /run/containerd/fifo otherwise
        if words[:1] == ["run"] or words[:2] in (["tasks", "exec"], ["t", "exec"]):
            at = 1 if words[0] == "run" else 2
            words[at:at] = ["--fifo-dir", str(self.base / "fifo")]
        return ["ctr", "--address", self.sock, "--namespace", namespace or self.namespace,
                *words]

    def ctr(self, *args: str, check: bool = False, timeout: float = 60,
            namespace: str | None = None, **kw: Any) -> subprocess.CompletedProcess[str]:
        return run_captured(self.ctr_cmd(*args, namespace=namespace), check=check,
                            timeout=timeout, **kw)

    def ok(self, *args: str, **kw: Any) -> str:
        return self.ctr(*args, check=True, **kw).stdout

    def run_args(self, runtime: str) -> list[str]:
        """`ctr run` options that make `runtime` the shim's runc binary, on a private
        runc root."""
        return ["--runc-binary", runtime_binary(runtime),
                "--runc-root", str(self.runc_root / runtime)]

    def remove_all(self, namespace: str | None = None) -> None:
        """Every task and container of a namespace, killed and removed."""
        tasks = self.ctr("tasks", "ls", "-q", namespace=namespace).stdout.split()
        for task in tasks:
            self.ctr("tasks", "kill", "--all", "-s", "9", task, namespace=namespace)
        for task in tasks:
            self.ctr("tasks", "delete", "--force", task, namespace=namespace, timeout=30)
        for cid in self.ctr("containers", "ls", "-q", namespace=namespace).stdout.split():
            self.ctr("containers", "delete", cid, namespace=namespace)

    def close(self) -> None:
        if not self._died():
            with contextlib.suppress(Exception):
                self.remove_all()
        self._stop(30)
        kill_processes_mentioning(self.sock)  # shims still running
        umount_under(self.base)
        shutil.rmtree(self.base, ignore_errors=True)
        if "/run/containerd/s" in self.host_dirs.new:  # only our shims' sockets in it
            shutil.rmtree("/run/containerd/s", ignore_errors=True)
        self.host_dirs.remove_new()
        remove_cgroup_tree(self.namespace)


# --- dockerd -------------------------------------------------------------------------

class DockerFirewallUndo:
    """What dockerd with its iptables on changes on the host, recorded before it starts and
    undone exactly after it stopped: its chains (DOCKER*), its rules in the built-in
    chains, the filter FORWARD policy, the iptables tables it made (iptables-nft), its
    docker0 bridge, and the forwarding and bridge-netfilter sysctls. Rules and chains of
    others (podman's CNI, another helper's) are never touched."""

    SYSCTLS = ("/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/bridge/bridge-nf-call-iptables",
               "/proc/sys/net/bridge/bridge-nf-call-ip6tables")

    def __init__(self) -> None:
        if os.path.exists("/sys/class/net/docker0"):
            raise RuntimeError("docker0 exists: another Docker is running on this host")
        self.rules = {t: set(self._rules(t)) for t in ("filter", "nat")}
        self.policy = self._policy()
        self.tables = self._nft_tables()
        self.sysctls = {p: Path(p).read_text() for p in self.SYSCTLS if os.path.exists(p)}

    @staticmethod
    def _rules(table: str) -> list[str]:
        res = subprocess.run(["iptables", "-w", "-t", table, "-S"], capture_output=True,
                             text=True, check=False)
        return res.stdout.splitlines()

    def _policy(self) -> str:
        return next((ln.split()[2] for ln in self._rules("filter")
                     if ln.startswith("-P FORWARD ")), "ACCEPT")

    @staticmethod
    def _nft_tables() -> set[str]:
        res = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True,
                             check=False)
        return set(res.stdout.splitlines())

    def undo(self) -> None:
        import shlex
        for table in ("filter", "nat"):
            now = self._rules(table)
            for line in now:
                if line.startswith("-A ") and line not in self.rules[table] and \
                        ("DOCKER" in line or "docker0" in line):
                    args = shlex.split(line)
                    subprocess.run(["iptables", "-w", "-t", table, "-D", *args[1:]],
                                   capture_output=True, check=False)
            for line in now:
                if line.startswith("-N DOCKER") and line not in self.rules[table]:
                    chain = line.split()[1]
                    subprocess.run(["iptables", "-w", "-t", table, "-F", chain],
                                   capture_output=True, check=False)
                    subprocess.run(["iptables", "-w", "-t", table, "-X", chain],
                                   capture_output=True, check=False)
        if self._policy() != self.policy:
            subprocess.run(["iptables", "-w", "-P", "FORWARD", self.policy], check=False)
        for table in ("filter", "nat"):
            name = f"table ip {table}"
            if name not in self.tables and name in self._nft_tables() and \
                    all(ln.startswith("-P ") for ln in self._rules(table)):
                subprocess.run(["nft", "delete", "table", "ip", table], check=False)
        if os.path.exists("/sys/class/net/docker0"):
            subprocess.run(["ip", "link", "del", "docker0"], check=False)
        for path, value in self.sysctls.items():
            if Path(path).read_text() != value:
                Path(path).write_text(value)


class Dockerd(Daemon):
    """dockerd (and the containerd it starts itself) on private data and exec roots, a
    private socket, pid file, trust key and cgroup parent, our runtime added with
    --add-runtime. With iptables=False (the default here) it changes no firewall, no
    forwarding sysctl and makes no docker0: --bridge=none. The docker client is Debian's
    /usr/bin/docker."""

    CLIENT = "/usr/bin/docker"

    def __init__(self, base: Path, archive: Path | None = None, *,
                 iptables: bool = False, runtimes: tuple[str, ...] = RUNTIMES):
        self.base = base
        base.mkdir(parents=True, exist_ok=True)
        self.sock = str(base / "docker.sock")
        self.cgroup_parent = "mdclients-docker-" + uuid.uuid4().hex[:8]
        self.host_dirs = HostDirs("/run/docker", "/run/docker/plugins",
                                  "/run/containerd", "/run/containerd/s")
        (base / "daemon.json").write_text(json.dumps({
            # 20.10 writes its trust key to /etc/docker/key.json unless told otherwise
            "deprecated-key-path": str(base / "key.json"),
        }))
        args = ["dockerd", "--config-file", str(base / "daemon.json"),
                "--data-root", str(base / "data"), "--exec-root", str(base / "exec"),
                "--pidfile", str(base / "docker.pid"), "-H", f"unix://{self.sock}",
                "--cgroup-parent", f"/{self.cgroup_parent}",
                "--storage-driver", "overlay2"]
        for name in runtimes:
            if name != "runc":
                args += ["--add-runtime", f"{name}={runtime_binary(name)}"]
        self.firewall: DockerFirewallUndo | None = None
        if iptables:
            # its own firewall rules and docker0, on a random subnet; undone in close()
            self.firewall = DockerFirewallUndo()
            self.bip = f"10.{random.randrange(240, 248)}.{random.randrange(256)}.1/24"
            args += ["--bip", self.bip, "--ip6tables=false"]
        else:
            args += ["--iptables=false", "--ip6tables=false", "--ip-forward=false",
                     "--ip-masq=false", "--bridge=none"]
        try:
            self._start("dockerd", args, lambda: self.run("version").returncode == 0, 90)
            if archive is not None:
                self.ok("load", "-q", "-i", str(archive))
        except BaseException:
            self.close()
            raise

    def cmd(self, *args: str, runtime: str | None = None) -> list[str]:
        """The docker command line; `runtime` (a name given to --add-runtime, or runc)
        goes to what creates a container."""
        args_l = list(args)
        if runtime and args_l and args_l[0] in ("run", "create"):
            args_l.insert(1, f"--runtime={runtime}")
        return [self.CLIENT, "-H", f"unix://{self.sock}", *args_l]

    def run(self, *args: str, runtime: str | None = None, check: bool = False,
            timeout: float = 60, **kw: Any) -> subprocess.CompletedProcess[str]:
        return run_captured(self.cmd(*args, runtime=runtime), check=check, timeout=timeout,
                            **kw)

    def ok(self, *args: str, runtime: str | None = None, **kw: Any) -> str:
        return self.run(*args, runtime=runtime, check=True, **kw).stdout

    def close(self) -> None:
        if not self._died():
            ids = self.run("ps", "-aq").stdout.split()
            if ids:
                self.run("rm", "-f", *ids, timeout=120)
            self.run("network", "prune", "-f")
        self._stop(60)
        kill_processes_mentioning(str(self.base))  # its containerd and shims, if left
        umount_under(self.base)
        shutil.rmtree(self.base, ignore_errors=True)
        if "/run/containerd/s" in self.host_dirs.new:  # only our shims' sockets in it
            shutil.rmtree("/run/containerd/s", ignore_errors=True)
        self.host_dirs.remove_new()
        remove_cgroup_tree(self.cgroup_parent)
        if self.firewall is not None:
            self.firewall.undo()
            self.firewall = None
