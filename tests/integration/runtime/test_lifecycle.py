"""create / start / state / kill / delete / run / list / ps: the lifecycle of runc's contract."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from tests.conftest import Bundle, Runtime


def wait_status(rt: Runtime, cid: str, status: str, timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        proc = rt.run("state", cid)
        st = json.loads(proc.stdout) if proc.returncode == 0 else {"status": "(none)"}
        if st["status"] == status or time.monotonic() > deadline:
            return st
        time.sleep(0.02)


def test_create_start_kill_delete(runtime: Runtime, make_bundle, tmp_path: Path) -> None:
    bundle = make_bundle(["sleep", "100"])
    cid = runtime.new_id()
    pidfile = tmp_path / "init.pid"
    runtime.run("create", "--bundle", str(bundle), "--pid-file", str(pidfile), cid, check=True)
    st = runtime.state(cid)
    assert st["status"] == "created"
    assert st["id"] == cid and st["bundle"] == str(bundle.path)
    assert st["pid"] > 0 and int(pidfile.read_text()) == st["pid"]
    # the init waits on the exec fifo: it has not exec'd sleep yet
    assert "sleep" not in Path(f"/proc/{st['pid']}/cmdline").read_text()

    runtime.run("start", cid, check=True)
    st = wait_status(runtime, cid, "running")
    assert st["status"] == "running"
    assert Path(f"/proc/{st['pid']}/cmdline").read_bytes().split(b"\0")[0] == b"sleep"

    proc = runtime.run("start", cid)
    assert proc.returncode != 0 and "running" in proc.stderr

    runtime.run("kill", cid, "KILL", check=True)
    assert wait_status(runtime, cid, "stopped")["status"] == "stopped"
    runtime.run("delete", cid, check=True)
    assert not (runtime.root / cid).exists()
    proc = runtime.run("state", cid)
    assert proc.returncode == 1 and "does not exist" in proc.stderr


def test_run_foreground_exit_code_and_cleanup(runtime: Runtime, make_bundle) -> None:
    bundle = make_bundle(["sh", "-c", "echo out; echo err >&2; exit 7"])
    cid = runtime.new_id()
    proc = runtime.run("run", "--bundle", str(bundle), cid)
    assert proc.returncode == 7
    assert proc.stdout == "out\n" and proc.stderr == "err\n"
    assert not (runtime.root / cid).exists()


def test_run_killed_by_signal_exits_128_plus(runtime: Runtime, make_bundle) -> None:
    bundle = make_bundle(["sleep", "100"])
    cid = runtime.new_id()
    fg = subprocess.Popen(runtime.cmd("run", "-b", str(bundle), cid),
                          stdin=subprocess.DEVNULL)
    try:
        assert wait_status(runtime, cid, "running")["status"] == "running"
        runtime.run("kill", cid, "KILL", check=True)
        assert fg.wait(timeout=10) == 137
    finally:
        fg.kill()
        fg.wait()
    assert not (runtime.root / cid).exists()


def test_run_forwards_signals(runtime: Runtime, make_bundle) -> None:
    bundle = make_bundle(["sh", "-c", "trap 'echo term; exit 3' TERM; "
                                      "while :; do sleep 0.05; done"])
    cid = runtime.new_id()
    fg = subprocess.Popen(runtime.cmd("run", "-b", str(bundle), cid),
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
    try:
        assert wait_status(runtime, cid, "running")["status"] == "running"
        time.sleep(0.2)
        fg.terminate()
        out, _ = fg.communicate(timeout=10)
        assert fg.returncode == 3 and out == "term\n"
    finally:
        fg.kill()
        fg.wait()


def test_run_detached(runtime: Runtime, make_bundle) -> None:
    bundle = make_bundle(["sleep", "100"])
    cid = runtime.new_id()
    runtime.run("run", "-d", "--bundle", str(bundle), cid, check=True)
    assert runtime.state(cid)["status"] == "running"
    proc = runtime.run("delete", cid)
    assert proc.returncode == 1 and "not stopped: running" in proc.stderr
    runtime.run("delete", "--force", cid, check=True)
    assert not (runtime.root / cid).exists()


def test_stdin_is_passed_through(runtime: Runtime, make_bundle) -> None:
    bundle = make_bundle(["sh", "-c", "read x; echo got:$x"])
    proc = runtime.run("run", "-b", str(bundle), runtime.new_id(), input=b"hello\n")
    assert proc.stdout == "got:hello\n"


def test_delete_created_container(runtime: Runtime, make_bundle) -> None:
    bundle = make_bundle(["true"])
    cid = runtime.new_id()
    runtime.run("create", "-b", str(bundle), cid, check=True)
    pid = runtime.state(cid)["pid"]
    runtime.run("delete", cid, check=True)
    assert not (runtime.root / cid).exists()
    deadline = time.monotonic() + 5
    while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            break
        time.sleep(0.02)
    assert not os.path.exists(f"/proc/{pid}") or \
        Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"


def test_delete_force_of_unknown_container_succeeds(runtime: Runtime) -> None:
    assert runtime.run("delete", "--force", "nosuch").returncode == 0
    proc = runtime.run("delete", "nosuch")
    assert proc.returncode == 1 and "nosuch does not exist" in proc.stderr


def test_duplicate_id_is_refused(runtime: Runtime, make_bundle) -> None:
    bundle = make_bundle(["true"])
    cid = runtime.new_id()
    runtime.run("create", "-b", str(bundle), cid, check=True)
    proc = runtime.run("create", "-b", str(bundle), cid)
    assert proc.returncode == 1 and "already exists" in proc.stderr
    assert runtime.state(cid)["status"] == "created"


def _names_made_in(directory: Path, action) -> list[tuple[str, str]]:
    """(how, name) of each entry that appeared in `directory` while `action()` ran, as
    inotify tells it: "created" in place, or "renamed" into it."""
    import ctypes
    import struct
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
    assert fd >= 0
    try:
        assert libc.inotify_add_watch(fd, bytes(directory), 0x100 | 0x80) >= 0  # CREATE, MOVED_TO
        action()
        data = b""
        while True:
            try:
                data += os.read(fd, 65536)
            except BlockingIOError:
                break
    finally:
        os.close(fd)
    seen, i = [], 0
    while i < len(data):
        _, mask, _, size = struct.unpack_from("iIII", data, i)
        name = data[i + 16:i + 16 + size].rstrip(b"\0").decode()
        seen.append(("created" if mask & 0x100 else "renamed", name))
        i += 16 + size
    return seen


def test_the_state_directory_appears_whole(runtime: Runtime, make_bundle) -> None:
    """The state directory is renamed into place with `creating` and the exec fifo in it:
    `state` never finds it bare while its create runs (a bare directory is what a crashed
    create leaves, which reads as stopped). A duplicate id leaves no temporary behind."""
    bundle = make_bundle(["true"])
    cid = runtime.new_id()
    runtime.root.mkdir(parents=True, exist_ok=True)
    made = _names_made_in(runtime.root, lambda: runtime.run("create", "-b", str(bundle), cid,
                                                            check=True))
    assert ("renamed", cid) in made and ("created", cid) not in made, made
    assert runtime.state(cid)["status"] == "created"
    assert runtime.run("create", "-b", str(bundle), cid).returncode == 1
    assert not [n for n in os.listdir(runtime.root) if n.startswith(".new-")]


def test_a_create_killed_before_its_directory_showed_is_swept(runtime: Runtime) -> None:
    """A `.new-<pid>-<start>-<random>` directory of a create killed before its rename
    goes at the next delete of an id that is not there; one whose creator lives stays,
    even while its `creating` is still empty (being written)."""
    from minidocker.runtime.state import proc_stat

    def start_time(pid: int) -> int:
        found = proc_stat(pid)
        assert found is not None
        return found[1]

    dead = subprocess.Popen(["sleep", "100"])
    dead_start = start_time(dead.pid)
    dead.kill()
    dead.wait()
    runtime.root.mkdir(parents=True, exist_ok=True)
    gone = runtime.root / f".new-{dead.pid}-{dead_start}-0a0b0c0d"
    live = runtime.root / f".new-{os.getpid()}-{start_time(os.getpid())}-01020304"
    reused = runtime.root / f".new-{os.getpid()}-{start_time(os.getpid()) - 1}-0e0f0a0b"
    for directory in (gone, live, reused):
        directory.mkdir()
        (directory / "creating").write_text("")
    assert runtime.run("delete", "--force", "nosuch").returncode == 0
    assert not gone.exists() and not reused.exists()
    assert live.exists()
    (live / "creating").unlink()
    live.rmdir()


def test_kill_signal_forms(runtime: Runtime, make_bundle) -> None:
    bundle = make_bundle(["sh", "-c", "trap 'exit 0' USR1; while :; do sleep 0.05; done"])
    for sig in ("SIGUSR1", "usr1", "10"):
        cid = runtime.new_id()
        runtime.run("run", "-d", "-b", str(bundle), cid, check=True)
        time.sleep(0.2)
        runtime.run("kill", cid, sig, check=True)
        assert wait_status(runtime, cid, "stopped")["status"] == "stopped", sig
        runtime.run("delete", cid, check=True)
    cid = runtime.new_id()
    runtime.run("run", "-d", "-b", str(bundle), cid, check=True)
    for bad in ("SIGNOPE", "99", "0", "-1x"):
        proc = runtime.run("kill", cid, bad)
        assert proc.returncode == 1 and "invalid signal" in proc.stderr, bad
        assert "Traceback" not in proc.stderr
    runtime.run("kill", "--all", cid, "9", check=True)
    assert wait_status(runtime, cid, "stopped")["status"] == "stopped"
    proc = runtime.run("kill", cid, "9")
    assert proc.returncode == 1 and "stopped" in proc.stderr
    # --all of a stopped container: nothing left to signal, not an error (as runc; the
    # runc shim sends it after the init of a container in a shared PID namespace exits)
    runtime.run("kill", "--all", cid, "9", check=True)


def test_list_and_ps(runtime: Runtime, make_bundle) -> None:
    bundle = make_bundle(["sh", "-c", "sleep 100 & sleep 100; true"])
    cid = runtime.new_id()
    runtime.run("run", "-d", "-b", str(bundle), cid, check=True)
    assert runtime.run("list", "-q", check=True).stdout.split() == [cid]
    rows = json.loads(runtime.run("list", "--format", "json", check=True).stdout)
    assert rows[0]["id"] == cid and rows[0]["status"] == "running"
    table = runtime.run("list", check=True).stdout.splitlines()
    assert table[0].split()[:4] == ["ID", "PID", "STATUS", "BUNDLE"]
    deadline = time.monotonic() + 5
    while True:
        pids = json.loads(runtime.run("ps", "--format", "json", cid, check=True).stdout)
        if len(pids) == 3 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(pids) == 3 and runtime.state(cid)["pid"] in pids
    ps = runtime.run("ps", cid, check=True).stdout.splitlines()
    assert "PID" in ps[0] and len(ps) == 4


def test_errors_are_one_line(runtime: Runtime, make_bundle, tmp_path: Path) -> None:
    cases = []
    nobundle = tmp_path / "empty"
    nobundle.mkdir()
    cases.append((["create", "-b", str(nobundle), "x1"], "config.json not found"))
    bad = make_bundle(["true"])
    (bad.path / "config.json").write_text("{not json")
    cases.append((["create", "-b", str(bad), "x2"], "not valid JSON"))
    norootfs = make_bundle(["true"])
    norootfs.config["root"]["path"] = "missing"
    norootfs.write()
    cases.append((["create", "-b", str(norootfs), "x3"], "no such directory"))
    badns = make_bundle(["true"])
    badns.config["linux"]["namespaces"].append({"type": "bogus"})
    badns.write()
    cases.append((["create", "-b", str(badns), "x4"], "unknown namespace type 'bogus'"))
    nocmd = make_bundle(["/no/such/program"])
    cases.append((["create", "-b", str(nocmd), "x5"], "no such file or directory"))
    badmount = make_bundle(["true"])
    badmount.config["mounts"].append({"destination": "/mnt", "type": "bind",
                                      "source": "/no/such/dir", "options": ["bind"]})
    badmount.write()
    cases.append((["create", "-b", str(badmount), "x6"], "/no/such/dir"))
    cases.append((["create", "-b", str(bad), "bad/id"], "invalid container id"))
    cases.append((["frobnicate"], "unknown command"))
    cases.append((["create", "--bogus", "x"], "flag provided but not defined"))
    for args, message in cases:
        proc = runtime.run(*args)
        assert proc.returncode != 0, args
        assert message in proc.stderr, (args, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) <= 2 and "Traceback" not in proc.stderr
    # nothing is left behind by any failed create
    assert not runtime.root.exists() or os.listdir(runtime.root) == []


def test_error_goes_to_json_log(runtime: Runtime, tmp_path: Path) -> None:
    log = tmp_path / "log.json"
    proc = subprocess.run([runtime.binary, "--root", str(runtime.root), "--log", str(log),
                           "--log-format", "json", "start", "nosuch"], capture_output=True,
                          text=True)
    assert proc.returncode == 1
    line = json.loads(log.read_text().splitlines()[-1])
    assert line["level"] == "error" and "nosuch does not exist" in line["msg"]
    assert line["time"]


def test_spec_and_features(tmp_path: Path, runtime: Runtime) -> None:
    proc = runtime.run("spec", "--bundle", str(tmp_path), check=True)
    spec = json.loads((tmp_path / "config.json").read_text())
    assert spec["process"]["args"] == ["sh"] and spec["root"]["path"] == "rootfs"
    proc = runtime.run("spec", "--bundle", str(tmp_path))
    assert proc.returncode == 1 and "exists" in proc.stderr
    features = json.loads(runtime.run("features", check=True).stdout)
    assert features["ociVersionMax"].startswith("1.2")
    assert "user" in features["linux"]["namespaces"]
    assert "CAP_SYS_ADMIN" in features["linux"]["capabilities"]
    assert "rbind" in features["mountOptions"]


def test_spec_bundle_runs(tmp_path: Path, runtime: Runtime, busybox_rootfs: Path) -> None:
    """`spec` writes a config.json that runs as it is (apart from the terminal)."""
    bundle = Bundle(tmp_path, {})
    runtime.run("spec", "--bundle", str(tmp_path), check=True)
    bundle.config = json.loads((tmp_path / "config.json").read_text())
    bundle.config["process"]["terminal"] = False
    bundle.config["process"]["args"] = ["sh", "-c", "echo ok"]
    bundle.write()
    os.symlink(busybox_rootfs, tmp_path / "rootfs")
    proc = runtime.run("run", "-b", str(tmp_path), runtime.new_id())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "ok\n"


def test_delete_after_the_runtime_died_in_create(runtime: Runtime, make_bundle,
                                                 tmp_path: Path) -> None:
    """kill -9 of `create` half-way: the container reads as stopped, and delete removes
    its state directory and its cgroup (whose processes it kills)."""
    hook = tmp_path / "die.sh"
    hook.write_text("#!/bin/sh\nkill -9 $PPID\n")
    hook.chmod(0o755)
    b = make_bundle(["true"])
    b.config["hooks"] = {"createRuntime": [{"path": str(hook)}]}
    b.write()
    cid = runtime.new_id()
    proc = runtime.run("create", "-b", str(b), cid)
    assert proc.returncode == -9
    assert (runtime.root / cid).exists()
    v1 = Path("/sys/fs/cgroup/pids")
    cgroup = (v1 if v1.is_dir() else Path("/sys/fs/cgroup")) / "minidocker" / cid
    assert cgroup.exists()
    assert wait_status(runtime, cid, "stopped")["status"] == "stopped"
    runtime.run("delete", cid, check=True)
    assert not (runtime.root / cid).exists()
    assert not cgroup.exists()


def test_delete_after_a_torn_state_file(runtime: Runtime, make_bundle) -> None:
    """state.json is written without fsync (as runc's): after a machine crash it may be
    empty, its processes gone. The container then reads as stopped, and delete removes its
    state directory and cgroup (named by cgroup.json)."""
    cid = runtime.new_id()
    runtime.run("create", "--bundle", str(make_bundle(["sleep", "100"])), cid, check=True)
    pid = runtime.state(cid)["pid"]
    v1 = Path("/sys/fs/cgroup/pids")
    cgroup = (v1 if v1.is_dir() else Path("/sys/fs/cgroup")) / "minidocker" / cid
    assert cgroup.exists()
    os.kill(pid, 9)
    (runtime.root / cid / "state.json").write_bytes(b"")
    assert wait_status(runtime, cid, "stopped")["status"] == "stopped"
    runtime.run("delete", cid, check=True)
    assert not (runtime.root / cid).exists()
    assert not cgroup.exists()


def test_a_created_init_lets_go_of_its_creators_close_on_exec_fds(runtime: Runtime,
                                                                  make_bundle) -> None:
    """The engine creates a container in its monitor's own process, which forks the init:
    while the init waits for `start` it must not keep what the monitor had open
    close-on-exec (runc's init, a new executable, never has it). A monitor killed after
    create left the init holding its end of the report pipe, and the `run` reading that
    pipe for the monitor's report waited for ever (issue 18)."""
    import select

    from minidocker.engine.runtimes import InProcess
    b = make_bundle(["true"])
    cid = runtime.new_id()
    r, w = os.pipe()  # close-on-exec, as the engine's report pipe
    child = os.fork()
    if child == 0:  # pragma: no cover - the "monitor": creates, then dies before start
        code = 1
        try:
            os.close(r)
            InProcess(str(runtime.root)).create(cid, str(b.path), None)
            code = 0
        finally:
            os._exit(code)
    try:
        os.close(w)
        assert os.waitpid(child, 0)[1] == 0
        assert wait_status(runtime, cid, "created")["status"] == "created"
        readable, _, _ = select.select([r], [], [], 30)
        assert readable, "the created container's init still holds the creator's pipe"
        assert os.read(r, 1) == b""
    finally:
        os.close(r)
        runtime.run("delete", "--force", cid)
