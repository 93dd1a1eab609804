"""The rootless network: what an unprivileged user's containers are plugged into.

An unprivileged user cannot make bridges, veths or nftables rules in the host's network
namespace. So, as podman does, every rootless network lives in one network namespace of
the user's own (the rootless session's: engine/session.py), where the user is root: the
default bridge and the user networks with their veths, addresses, hosts files and NAT
rules are made there by the same code as in root mode (network.api), run in a thread that
entered that namespace (`call`). Containers reach each other by name on a user network as
with root.

Out of that namespace:
- outbound connections go through slirp4netns (Debian's package), started once per
  session on a tap device of the namespace (`start_uplink`): a user-mode TCP/IP stack
  that turns the namespace's packets into the host's own sockets (docs/rootless.md says
  why slirp4netns and not pasta). It needs /dev/net/tun to be usable by the user;
  without it containers still talk to each other and to published ports, but not
  outside;
- published ports are bound on the host by a small forwarder per container
  (network/forward.py), which relays each connection into the namespace with splice(2).

Host ports below net.ipv4.ip_unprivileged_port_start (1024 by default) cannot be bound
by an unprivileged user: `check_host_port` refuses them with a clear line.
"""

from __future__ import annotations

import os

from minidocker.errors import UsageError
from minidocker.linux.proc import start_time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

UPLINK_FILE = "uplink"  # in the session's runtime directory: "PID START NETNS-INODE"
TAP = "tap0"
# slirp4netns configures tap0 as 10.0.2.100/24, gateway 10.0.2.2, DNS 10.0.2.3


def call(netns: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """fn(*args, **kwargs) run in the network namespace at `netns` (by a thread that
    enters it: the calling thread stays where it is), its result or its exception."""
    import threading

    from minidocker.linux import libc
    outcome: dict[str, Any] = {}

    def body() -> None:
        try:
            fd = os.open(netns, os.O_RDONLY | os.O_CLOEXEC)
            try:
                libc.setns(fd, libc.CLONE_NEWNET, what="into the rootless network namespace")
            finally:
                os.close(fd)
            outcome["value"] = fn(*args, **kwargs)
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            outcome["error"] = e

    thread = threading.Thread(target=body, name="rootless-netns")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


# ---- the uplink -------------------------------------------------------------------------------


def uplink_alive(run_dir: str, netns: str) -> bool:
    """Whether this session's slirp4netns runs, for the namespace at `netns`."""
    try:
        with open(os.path.join(run_dir, UPLINK_FILE)) as f:
            pid_text, start_text, inode_text = f.read().split()[:3]
        ino = os.stat(netns).st_ino
    except (OSError, ValueError):
        return False
    return inode_text == str(ino) and start_time(int(pid_text)) == int(start_text)


def tun_problem() -> str | None:
    """Why slirp4netns could not make its tap device, or None."""
    if not os.path.exists("/dev/net/tun"):
        return "/dev/net/tun does not exist (modprobe tun)"
    if not os.access("/dev/net/tun", os.R_OK | os.W_OK):
        mode = oct(os.stat("/dev/net/tun").st_mode & 0o777)[2:]
        return f"/dev/net/tun is not readable and writable by you (mode {mode}; 0666 is usual)"
    return None


def start_uplink(run_dir: str, netns: str) -> str | None:
    """Start slirp4netns for the namespace at `netns` unless it runs. None when outbound
    connections work, else why not (the caller warns once: see `uplink_warning`)."""
    if uplink_alive(run_dir, netns):
        return None
    problem = tun_problem()
    if problem is not None:
        return problem
    import shutil
    import subprocess
    program = shutil.which("slirp4netns")
    if program is None:
        return "slirp4netns is not installed (apt-get install slirp4netns)"
    _stop_uplink(run_dir)
    log_path = os.path.join(run_dir, "uplink.log")
    ready_r, ready_w = os.pipe()
    # --disable-host-loopback: containers must not reach the host's 127.0.0.1 services
    # through the gateway. --enable-sandbox: it keeps no view of our files and no
    # capability but the one it needs; --enable-seccomp: fewer system calls.
    argv = [program, "--configure", "--mtu=65520", "--disable-host-loopback",
            "--enable-sandbox", "--enable-seccomp", f"--ready-fd={ready_w}",
            "--netns-type=path", netns, TAP]
    try:
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                    pass_fds=[ready_w], start_new_session=True)
        os.close(ready_w)
        ready_w = -1
        import select
        ready, _, _ = select.select([ready_r], [], [], 10.0)
        answer = os.read(ready_r, 1) if ready else b""
    finally:
        os.close(ready_r)
        if ready_w >= 0:
            os.close(ready_w)
    if answer != b"1":
        proc.kill()
        proc.wait()
        try:
            with open(log_path, errors="replace") as f:
                lines = [x.strip() for x in f if x.strip()]
        except OSError:
            lines = []
        return "slirp4netns failed: " + (lines[-1] if lines else "no answer in 10 s")
    proc.returncode = 0  # it outlives us: not waited for
    start = start_time(proc.pid)
    if start is None:
        return "slirp4netns exited at once"
    _write(os.path.join(run_dir, UPLINK_FILE),
           f"{proc.pid} {start} {os.stat(netns).st_ino}\n")
    return None


def uplink_warning(run_dir: str, problem: str) -> str | None:
    """The warning to show for `problem`, once per problem and session (None when it was
    shown already)."""
    marker = os.path.join(run_dir, "uplink.warned")
    try:
        with open(marker) as f:
            if f.read() == problem:
                return None
    except OSError:
        pass
    _write(marker, problem)
    return (f"rootless network: containers cannot connect outside this machine: {problem}; "
            "they still reach each other and their published ports (docs/rootless.md)")


def _stop_uplink(run_dir: str) -> None:
    try:
        with open(os.path.join(run_dir, UPLINK_FILE)) as f:
            pid_text, start_text = f.read().split()[:2]
    except (OSError, ValueError):
        return
    if start_time(int(pid_text)) == int(start_text):
        try:
            os.kill(int(pid_text), 9)
        except OSError:
            pass


def stop(run_dir: str) -> None:
    """End the session's slirp4netns (`system migrate`)."""
    _stop_uplink(run_dir)
    for name in (UPLINK_FILE, "uplink.warned", "uplink.log"):
        try:
            os.unlink(os.path.join(run_dir, name))
        except FileNotFoundError:
            pass


def _write(path: str, text: str) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


# ---- published ports ---------------------------------------------------------------------------


def unprivileged_port_start() -> int:
    """The lowest port an unprivileged user may bind (net.ipv4.ip_unprivileged_port_start
    of the host's namespace: read before any setns)."""
    try:
        with open("/proc/sys/net/ipv4/ip_unprivileged_port_start") as f:
            return int(f.read())
    except (OSError, ValueError):
        return 1024


def check_host_port(first: int, spec: str) -> None:
    """A host port a rootless container may not publish is refused with the reason."""
    lowest = unprivileged_port_start()
    if 0 < first < lowest:
        raise UsageError(
            f"cannot publish host port {first} ({spec}): a rootless engine can only bind "
            f"ports from {lowest} up (net.ipv4.ip_unprivileged_port_start={lowest})",
            hint=f"publish a higher port (-p {first + 8000 if first + 8000 < 65536 else 8080}"
            f":...), or let users bind it: sysctl net.ipv4.ip_unprivileged_port_start={first}")


def start_forwarder(netns: str, init_pid: int, ip: str, specs: list[Any]
                    ) -> tuple[int, list[Any]]:
    """Bind `specs` (PortSpecs) on the host, here, and start the forwarder that relays them
    to `ip` in the rootless network namespace (network/forward.py); it ends with the
    container's init. Returns its pid and the PortMappings (random host ports chosen).
    A port in use or below the unprivileged range is refused with a clear line."""
    import subprocess
    import sys

    from minidocker.linux import libc
    from minidocker.network.model import PortMapping
    socks: list[Any] = []
    try:
        mappings = []
        for spec in specs:
            sock, port = _bind(spec)
            socks.append(sock)
            mappings.append(PortMapping(spec.host_ip, port, spec.container_port, spec.proto))
        src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        boot = (f"import sys; sys.path.insert(0, {src!r}); "
                "from minidocker.network.forward import main; main(sys.argv[1:])")
        argv = [sys.executable, "-S", "-I", "-c", boot, str(init_pid), ip]
        argv += [f"{m.proto}:{s.fileno()}:{m.container_port}"
                 for m, s in zip(mappings, socks, strict=True)]
        ns_fd = os.open(netns, os.O_RDONLY | os.O_CLOEXEC)
        try:
            proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, pass_fds=[s.fileno() for s in socks],
                preexec_fn=lambda: libc.setns(ns_fd, libc.CLONE_NEWNET), start_new_session=True)
        finally:
            os.close(ns_fd)
    finally:
        for sock in socks:
            sock.close()
    proc.returncode = 0  # not waited for here: it is reaped when it ends (by the monitor)
    return proc.pid, mappings


def _bind(spec: Any) -> tuple[Any, int]:
    """A socket bound on the host for `spec` (the first free port of its range)."""
    import socket
    kind = socket.SOCK_STREAM if spec.proto == "tcp" else socket.SOCK_DGRAM
    first, last = spec.host_ports if spec.host_ports is not None else (0, 0)
    if first:
        check_host_port(first, f"{spec.host_ip}:{first}:{spec.container_port}")
    error: OSError | None = None
    for port in range(first, last + 1):
        sock = socket.socket(socket.AF_INET, kind)
        try:
            if kind == socket.SOCK_STREAM:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((spec.host_ip, port))
            if kind == socket.SOCK_STREAM:
                sock.listen(128)
            return sock, sock.getsockname()[1]
        except OSError as e:
            sock.close()
            error = e
    from minidocker.network.model import PortConflict
    where = f"{spec.host_ip}:{first}" if first == last else f"{spec.host_ip}:{first}-{last}"
    if error is not None and error.errno == 98:  # EADDRINUSE
        raise PortConflict(f"cannot publish {spec.container_port}/{spec.proto}: host port "
                           f"{where} is already in use")
    if error is not None and error.errno == 99:  # EADDRNOTAVAIL
        raise UsageError(f"cannot publish on {spec.host_ip}: not an address of this host")
    raise PortConflict(f"cannot publish {spec.container_port}/{spec.proto} on {where}: "
                       f"{error.strerror if error else 'no port'}")


def stop_forwarder(pid: int, start: int) -> None:
    if pid and start_time(pid) == start:
        try:
            os.kill(pid, 15)
        except OSError:
            pass


def forwarder_start_time(pid: int) -> int:
    return start_time(pid) or 0
