"""Scenarios that podman and Docker share (same command line), run by test_podman.py and
test_docker.py through a client object: `cmd(*args, runtime=)`, `run(...)`, `ok(...)`.

Each checks what the user sees through the client (output, exit code, state, the
container's view of its limits), never the runtime's own files."""

from __future__ import annotations

import json
import os
import pty
import random
import select
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from tests.integration.clients.daemons import IMAGE, wait_until

# a container that stays up; PID 1 of a busybox sh ignores SIGTERM (no handler)
SLEEPER = ["sh", "-c", "while :; do sleep 0.1; done"]


def name() -> str:
    return "mdc" + uuid.uuid4().hex[:10]


def inspect(client: Any, ref: str, runtime: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(client.ok("inspect", ref, runtime=runtime))[0]
    return doc


def state(client: Any, ref: str, runtime: str) -> dict[str, Any]:
    st: dict[str, Any] = inspect(client, ref, runtime)["State"]
    return st


def start_sleeper(client: Any, runtime: str, *opts: str) -> str:
    cname = name()
    client.ok("run", "-d", "--name", cname, *opts, IMAGE, *SLEEPER, runtime=runtime)
    wait_until(lambda: state(client, cname, runtime)["Status"] == "running", 30,
               f"{cname} running")
    return cname


def remove(client: Any, runtime: str, *names: str) -> None:
    client.run("rm", "-f", *names, runtime=runtime, timeout=60)


def in_container(client: Any, runtime: str, *opts: str, script: str) -> str:
    """stdout of `run --rm OPTS IMAGE sh -c SCRIPT` on no network, which must succeed."""
    return str(client.ok("run", "--rm", "--network", "none", *opts, IMAGE, "sh", "-c",
                         script, runtime=runtime))


# --- scenarios ------------------------------------------------------------------------

def run_rm_exit_codes(client: Any, runtime: str) -> None:
    res = client.run("run", "--rm", "--network", "none", IMAGE, "sh", "-c",
                     "echo out; echo err >&2; exit 3", runtime=runtime)
    assert (res.returncode, res.stdout, res.stderr.splitlines()[-1:]) == (3, "out\n", ["err"]), \
        res
    assert client.run("run", "--rm", "--network", "none", IMAGE, "true",
                      runtime=runtime).returncode == 0
    missing = client.run("run", "--rm", "--network", "none", IMAGE, "/no/such/command",
                         runtime=runtime)
    assert missing.returncode == 127, missing.stderr
    not_exec = client.run("run", "--rm", "--network", "none", IMAGE, "/etc/passwd",
                          runtime=runtime)
    assert not_exec.returncode == 126, not_exec.stderr


def detached_exec(client: Any, runtime: str) -> None:
    cname = start_sleeper(client, runtime, "--network", "none")
    try:
        assert client.ok("exec", cname, "echo", "hello", runtime=runtime) == "hello\n"
        assert client.run("exec", cname, "sh", "-c", "exit 5",
                          runtime=runtime).returncode == 5
        tty = client.ok("exec", "-t", cname, "tty", runtime=runtime)
        assert tty.strip().startswith("/dev/pts/"), tty
        notty = client.run("exec", cname, "tty", runtime=runtime)
        assert notty.returncode == 1 and "not a tty" in notty.stdout, notty
        # the exec joined the container: same pid namespace (PID 1 is its shell)
        assert "while" in client.ok("exec", cname, "cat", "/proc/1/cmdline", runtime=runtime)
    finally:
        remove(client, runtime, cname)


def run_with_tty(cmd: list[str], typed: bytes, *, env: dict[str, str] | None = None,
                 timeout: float = 60) -> tuple[int, str]:
    """Run `cmd` on a new pseudo-terminal, as from an interactive shell; type `typed`
    once the container's shell prompts (if anything); return (exit code, all it printed)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=env,
                            start_new_session=True)
    os.close(slave)
    out = b""
    sent = False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: every slave end closed
                    break
                if not chunk:
                    break
                out += chunk
            if not sent and (not typed or b"# " in out):
                os.write(master, typed)
                sent = True
            if proc.poll() is not None and not ready:
                break
        rc = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return rc, out.decode(errors="replace")


def interactive_tty(client: Any, runtime: str, env: dict[str, str] | None = None) -> None:
    rc, out = run_with_tty(client.cmd("run", "--rm", "-it", "--network", "none", IMAGE, "sh",
                                      runtime=runtime),
                           b"tty; echo $((6*7)); exit 3\n", env=env)
    assert rc == 3, out
    assert "/dev/pts/0" in out and "42" in out, out


def stop_falls_back_to_sigkill(client: Any, runtime: str) -> None:
    cname = start_sleeper(client, runtime, "--network", "none")
    try:
        started = time.monotonic()
        client.ok("stop", "-t", "1", cname, runtime=runtime, timeout=60)
        assert time.monotonic() - started >= 1.0  # it waited for SIGTERM first
        st = state(client, cname, runtime)
        assert (st["Status"], st["ExitCode"]) == ("exited", 137), st
    finally:
        remove(client, runtime, cname)


def kill_with_signal(client: Any, runtime: str) -> None:
    cname = name()
    client.ok("run", "-d", "--name", cname, "--network", "none", IMAGE, "sh", "-c",
              "trap 'exit 42' USR1; echo ready; while :; do sleep 0.1; done", runtime=runtime)
    try:
        wait_until(lambda: "ready" in client.run("logs", cname, runtime=runtime).stdout,
                   30, "trap set")
        client.ok("kill", "--signal", "USR1", cname, runtime=runtime)
        assert client.ok("wait", cname, runtime=runtime, timeout=60).strip() == "42"
    finally:
        remove(client, runtime, cname)


def pause_unpause(client: Any, runtime: str) -> None:
    cname = start_sleeper(client, runtime, "--network", "none")
    try:
        client.ok("pause", cname, runtime=runtime)
        assert state(client, cname, runtime)["Status"] == "paused"
        client.ok("unpause", cname, runtime=runtime)
        assert state(client, cname, runtime)["Status"] == "running"
        assert client.ok("exec", cname, "echo", "awake", runtime=runtime) == "awake\n"
    finally:
        remove(client, runtime, cname)


def memory_limit_oom(client: Any, runtime: str) -> None:
    # `tail` keeps the endless line of /dev/zero in memory until the limit kills it
    res = client.run("run", "--rm", "--network", "none", "--memory", "32m",
                     "--memory-swap", "32m", IMAGE, "tail", "/dev/zero", runtime=runtime,
                     timeout=120)
    assert res.returncode == 137, res.stderr


def update_resources(client: Any, runtime: str) -> None:
    cname = start_sleeper(client, runtime, "--network", "none", "--memory", "64m")
    try:
        client.ok("update", "--memory", "96m", "--memory-swap", "192m",
                  "--cpu-period", "100000", "--cpu-quota", "50000", cname, runtime=runtime)
        seen = client.ok("exec", cname, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes",
                         "/sys/fs/cgroup/cpu/cpu.cfs_quota_us", runtime=runtime).split()
        assert seen == [str(96 << 20), "50000"], seen
    finally:
        remove(client, runtime, cname)


def stats(client: Any, runtime: str) -> None:
    cname = start_sleeper(client, runtime, "--network", "none", "--memory", "64m")
    try:
        out = client.ok("stats", "--no-stream", "--format", "{{.MemUsage}} {{.PIDs}}", cname,
                        runtime=runtime)
        usage, pids = out.split(" / ")[0], out.split()[-1]
        assert usage[0].isdigit() and not usage.startswith("0B"), out
        assert "/ 64MiB" in out or "/ 67.11MB" in out, out  # the limit, as each prints it
        assert int(pids) >= 1, out
    finally:
        remove(client, runtime, cname)


def top(client: Any, runtime: str) -> None:
    cname = start_sleeper(client, runtime, "--network", "none")
    try:
        out = client.ok("top", cname, runtime=runtime)
        assert "while :" in out, out
    finally:
        remove(client, runtime, cname)


def read_only_rootfs(client: Any, runtime: str) -> None:
    res = client.run("run", "--rm", "--network", "none", "--read-only", IMAGE, "sh", "-c",
                     "touch /newfile", runtime=runtime)
    assert res.returncode == 1 and "Read-only file system" in res.stderr, res


def user(client: Any, runtime: str) -> None:
    out = in_container(client, runtime, "--user", "1234:2345", script="id -u; id -g")
    assert out.split() == ["1234", "2345"]


def cap_drop_all(client: Any, runtime: str) -> None:
    out = in_container(client, runtime, "--cap-drop", "ALL",
                       script="grep -E '^Cap(Eff|Prm|Bnd)' /proc/self/status")
    assert [ln.split()[1] for ln in out.splitlines()] == ["0000000000000000"] * 3, out
    out = in_container(client, runtime, script="grep CapEff /proc/self/status")
    assert out.split()[1] != "0000000000000000"


def no_new_privileges(client: Any, runtime: str) -> None:
    out = in_container(client, runtime, "--security-opt", "no-new-privileges",
                       script="grep NoNewPrivs /proc/self/status")
    assert out.split() == ["NoNewPrivs:", "1"]


def pids_limit(client: Any, runtime: str) -> None:
    res = client.run("run", "--rm", "--network", "none", "--pids-limit", "12", IMAGE, "sh",
                     "-c", "cat /sys/fs/cgroup/pids/pids.max; "
                     "for i in $(seq 30); do sleep 5 & done; echo all started",
                     runtime=runtime, timeout=60)
    assert res.stdout.splitlines()[0] == "12", res
    assert res.returncode != 0 and "all started" not in res.stdout, res
    assert "fork" in res.stderr, res.stderr


def env_workdir_volume(client: Any, runtime: str, tmp: Path) -> None:
    (tmp / "in.txt").write_text("from the host\n")
    out = in_container(client, runtime, "-e", "GREETING=hello there", "-w", "/etc",
                       "-v", f"{tmp}:/data", script=(
                           'echo "$GREETING"; pwd; cat /data/in.txt; echo back > /data/out'))
    assert out == "hello there\n/etc\nfrom the host\n", out
    assert (tmp / "out").read_text() == "back\n"


def free_port() -> int:
    return random.randrange(20000, 30000)


def fetch(url: str, timeout: float = 60) -> str:
    """GET `url` (on loopback), retried until the server answers."""
    last: Exception | None = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                return resp.read().decode()
        except OSError as exc:
            last = exc
            time.sleep(0.2)
    raise AssertionError(f"{url}: no answer: {last}")


HTTPD = "mkdir -p /www && echo {text} > /www/index.html && exec httpd -f -p {addr} -h /www"


def published_port(client: Any, runtime: str, network: list[str]) -> None:
    """-p from loopback to a server in the container, fetched with curl."""
    cname = name()
    for _ in range(5):
        port = free_port()
        res = client.run("run", "-d", "--name", cname, *network, "-p",
                         f"127.0.0.1:{port}:8080", IMAGE, "sh", "-c",
                         HTTPD.format(text="published", addr="8080"), runtime=runtime)
        if res.returncode == 0:
            break
        remove(client, runtime, cname)
        assert "address already in use" in res.stderr, res.stderr
    try:
        fetch(f"http://127.0.0.1:{port}/")
        out = subprocess.run(["curl", "-sS", "--max-time", "10", f"http://127.0.0.1:{port}/"],
                             capture_output=True, text=True, check=True).stdout
        assert out == "published\n"
    finally:
        remove(client, runtime, cname)
