"""The whole engine as an ordinary user (issue 14): users the tests make run `minidocker`
with no root anywhere: the session's user namespace, images with several owners,
overlay in the user namespace, the rootless network (names, published ports, outbound
through slirp4netns), limits refused on this cgroup v1 host, and users kept apart."""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.integration.network.conftest import FakeContainer, run
from tests.integration.rootless.conftest import (
    DevOpen,
    TunOpen,
    User,
    Users,
    docker_archive,
    free_port,
    with_owned_files,
)


@pytest.fixture(scope="module")
def alice(users: Users, busybox_tar: bytes) -> User:
    """A user with subordinate ids, busybox imported as bb:1."""
    user = users.make()
    tar = user.give("bb.tar", busybox_tar)
    user.run("import", str(tar), "bb:1", check=True)
    return user


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [x for x in proc.stderr.splitlines() if not x.startswith("hint:")]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_the_engine_runs_in_one_user_namespace_kept_between_commands(alice: User) -> None:
    maps = alice.ok("unshare", "cat", "/proc/self/uid_map").split()
    start, count = alice.subuids[0]
    assert maps == ["0", str(alice.uid), "1", "1", str(start), str(count)]
    first = alice.ok("unshare", "readlink", "/proc/self/ns/user", "/proc/self/ns/mnt")
    again = alice.ok("unshare", "readlink", "/proc/self/ns/user", "/proc/self/ns/mnt")
    assert first == again
    # the state is the user's own, under $XDG_DATA_HOME's default and $XDG_RUNTIME_DIR
    assert alice.root.is_dir() and alice.root.stat().st_uid == alice.uid
    assert (alice.run_dir / "minidocker" / "session").stat().st_uid == alice.uid
    assert alice.run_dir.joinpath("minidocker").stat().st_mode & 0o077 == 0
    # no mount of the session can be seen from the host
    with open("/proc/self/mountinfo") as f:
        assert str(alice.home) not in f.read()
    # a command given to unshare gets default signal dispositions
    assert alice.run("unshare", "sh", "-c", "yes | head -1").stdout == "y\n"


def test_run_exec_logs_stop_rm_across_commands(alice: User) -> None:
    out = alice.ok("run", "--rm", "--network", "none", "bb:1", "sh", "-c",
                   "id -u; cat /proc/self/uid_map | head -1; touch /f && echo written")
    uid, uid_map, written = out.splitlines()
    assert uid == "0" and written == "written"
    assert uid_map.split() == ["0", str(alice.uid), "1"]  # root inside is the user
    cid = alice.ok("run", "-d", "--name", "loop", "bb:1", "sh", "-c",
                   "echo started; while :; do sleep 1; done").strip()
    assert len(cid) == 64
    ps = alice.ok("ps", "--format", "{{.Names}} {{.Status}}")
    assert ps.startswith("loop Up")
    deadline = time.monotonic() + 10
    while "started" not in alice.ok("logs", "loop") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert alice.ok("logs", "loop") == "started\n"
    assert alice.ok("exec", "loop", "sh", "-c", "echo in; id -u") == "in\n0\n"
    assert alice.run("exec", "loop", "nonexistent").returncode == 127
    stats = alice.run("stats", "--no-stream", "loop")
    assert stats.returncode == 0 and "Traceback" not in stats.stderr, stats.stderr
    assert "sleep 1" in alice.ok("top", "loop") or "sh -c" in alice.ok("top", "loop")
    explained = alice.ok("explain", "loop")  # it reads the container's namespaces
    assert "user namespace" in explained and "network" in explained
    proc = alice.run("pause", "loop")  # the freezer is a cgroup's: none here
    assert proc.returncode != 0 and "no cgroup" in one_line_error(proc)
    assert alice.ok("stop", "-t", "1", "loop") == "loop\n"
    doc = json.loads(alice.ok("inspect", "loop"))[0]
    assert doc["State"]["Status"] == "exited"
    assert alice.ok("start", "loop") == "loop\n"
    assert alice.ok("ps", "-q") .strip() == cid[:12]
    assert alice.ok("rm", "-f", "loop") == "loop\n"
    assert alice.ok("ps", "-aq") == ""
    # nothing is left of it in the store or in the session's mounts
    assert not any(alice.root.joinpath("containers").glob(cid + "*"))
    assert cid not in alice.ok("unshare", "cat", "/proc/self/mountinfo")


def test_an_image_with_several_owners_keeps_them_inside(alice: User, busybox_tar: bytes,
                                                        tmp_path: Path) -> None:
    archive = docker_archive(with_owned_files(busybox_tar), "owned:1", tmp_path)
    mine = alice.give("owned.tar", archive.read_bytes())
    assert "owned:1" in alice.ok("load", "-i", str(mine))
    out = alice.ok("run", "--rm", "--network", "none", "owned:1", "sh", "-c",
                   "stat -c '%n %u:%g %a' /owned/www /owned/www/index.html /owned/user "
                   "/owned/nobody /owned/mixed")
    assert out.splitlines() == ["/owned/www 33:33 2775", "/owned/www/index.html 33:33 644",
                                "/owned/user 1000:1000 600", "/owned/nobody 65534:65534 644",
                                "/owned/mixed 0:42 640"]
    # on the host, the store holds them under the user's subordinate ids
    start = alice.subuids[0][0]
    found = list(alice.root.joinpath("image", "snapshots").glob("*/fs/owned/www"))
    assert found and found[0].stat().st_uid == start + 32
    assert found[0].parent.joinpath("user").stat().st_uid == start + 999
    # and `unshare` shows the store as containers see it
    shown = alice.ok("unshare", "stat", "-c", "%u", str(found[0]))
    assert shown.strip() == "33"
    # a container of the user writes as the mapped ids, and whiteouts work in the
    # user namespace's overlay (a deleted directory of the image stays deleted)
    out = alice.ok("run", "--rm", "--network", "none", "--user", "33", "owned:1", "sh",
                   "-c", "touch /owned/www/new && stat -c %u /owned/www/new")
    assert out.strip() == "33"
    alice.ok("run", "--name", "changer", "--network", "none", "owned:1", "sh", "-c",
             "rm -rf /owned/www && mkdir /owned/www && rm /owned/user")
    assert alice.ok("diff", "changer").split("\n").count("D /owned/user") == 1
    alice.ok("commit", "changer", "changed:1")
    out = alice.ok("run", "--rm", "--network", "none", "changed:1", "ls", "-A",
                   "/owned/www", "/owned")
    assert "index.html" not in out and "user" not in out.split()
    # the same snapshots through fuse-overlayfs, the fallback where the kernel refuses
    # (forced here: this kernel mounts overlayfs in a user namespace)
    with DevOpen("/dev/fuse"):
        out = alice.ok("run", "--rm", "--network", "none", "changed:1", "sh", "-c",
                       "grep -c fuse /proc/mounts; ls -A /owned/www /owned; stat -c %u "
                       "/owned/nobody", env={"MINIDOCKER_OVERLAY": "fuse-overlayfs"})
    count, *listing = out.split()
    assert int(count) >= 1 and "index.html" not in listing and "user" not in listing
    assert listing[-1] == "65534"
    alice.ok("rm", "changer")
    saved = alice.home / "changed.tar"
    alice.ok("save", "-o", str(saved), "changed:1")
    assert saved.stat().st_uid == alice.uid and saved.stat().st_size > 0


def test_ports_published_on_the_host_and_refused_below_1024(alice: User) -> None:
    port = free_port()
    alice.ok("run", "-d", "--name", "web", "-p", f"127.0.0.1:{port}:80", "bb:1", "sh", "-c",
             "mkdir -p /www && echo hello from $(hostname) > /www/index.html && "
             "exec httpd -f -p 80 -h /www")
    try:
        body = ""
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                    body = r.read().decode()
                break
            except OSError:
                time.sleep(0.2)
        assert body.startswith("hello from ")
        assert alice.ok("port", "web").strip() == f"80/tcp -> 127.0.0.1:{port}"
        # the same host port again: refused, and nothing is left of that container
        proc = alice.run("run", "-d", "--name", "web2", "-p", f"127.0.0.1:{port}:80",
                         "bb:1", "true")
        assert proc.returncode == 125 and "already in use" in one_line_error(proc)
        assert alice.run("ps", "-a", "--format", "{{.Names}}").stdout.split() in (
            ["web"], ["web2", "web"], ["web", "web2"])
        alice.run("rm", "-f", "web2")
    finally:
        alice.run("rm", "-f", "web")
    # the forwarder went with its container: the port is free again (its last
    # connections may linger in TIME_WAIT: SO_REUSEADDR)
    deadline = time.monotonic() + 10
    while True:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
                s.listen()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
        time.sleep(0.1)
    # below net.ipv4.ip_unprivileged_port_start (1024 here): one clear line
    proc = alice.run("run", "-d", "-p", "80:80", "bb:1", "true")
    assert proc.returncode == 125
    line = one_line_error(proc)
    assert "ip_unprivileged_port_start=" in line and "host port 80" in line
    assert alice.ok("ps", "-aq") == ""


def test_containers_reach_each_other_by_name_on_a_user_network(alice: User) -> None:
    alice.ok("network", "create", "appnet")
    try:
        alice.ok("run", "-d", "--name", "db", "--network", "appnet", "--network-alias",
                 "database", "bb:1", "sh", "-c",
                 "mkdir /www && echo I am db > /www/index.html && exec httpd -f -p 80 -h /www")
        for name in ("db", "database"):
            out = alice.ok("run", "--rm", "--network", "appnet", "bb:1", "wget", "-q",
                           "-O", "-", f"http://{name}/")
            assert out == "I am db\n"
        # the default network has no names, as Docker's
        proc = alice.run("run", "--rm", "bb:1", "wget", "-q", "-T", "2", "-O", "-",
                         "http://db/")
        assert proc.returncode != 0
    finally:
        alice.run("rm", "-f", "db")
        alice.run("network", "rm", "appnet")
    assert "appnet" not in alice.ok("network", "ls")


def test_outbound_connections_through_slirp4netns(alice: User) -> None:
    tag = os.urandom(3).hex()
    ns = FakeContainer(f"mdrl{tag}")
    host_end = f"mdrl{tag}h"
    try:
        third = random.randrange(0, 256)
        host_ip, far_ip = f"198.18.{third}.1", f"198.18.{third}.2"
        run("ip", "link", "add", host_end, "type", "veth", "peer", "name", "up0", "netns",
            ns.name)
        run("ip", "addr", "add", f"{host_ip}/24", "dev", host_end)
        run("ip", "link", "set", host_end, "up")
        ns.exec("ip", "addr", "add", f"{far_ip}/24", "dev", "up0")
        ns.exec("ip", "link", "set", "up0", "up")
        ns.serve(7000, "far")
        with TunOpen():  # slirp4netns makes a tap device: /dev/net/tun is 0600 here
            out = alice.ok("run", "--rm", "bb:1", "nc", "-w", "5", far_ip, "7000")
        assert out.startswith("tcp far from 198.18.")
        # slirp4netns keeps its tap open: outbound still works with the device closed again
        out = alice.ok("run", "--rm", "bb:1", "nc", "-w", "5", far_ip, "7000")
        assert out.startswith("tcp far from 198.18.")
    finally:
        ns.remove()
        run("ip", "link", "del", host_end, check=False)


def test_host_and_none_networks(alice: User) -> None:
    out = alice.ok("run", "--rm", "--network", "none", "bb:1", "ip", "-o", "link")
    assert [line.split(":")[1].strip() for line in out.splitlines()] == ["lo"]
    out = alice.ok("run", "--rm", "--network", "host", "bb:1", "sh", "-c",
                   "readlink /proc/self/ns/net; ls /sys/class/net")
    netns, *links = out.split()
    assert netns == os.readlink("/proc/self/ns/net")  # the host's own
    assert "lo" in links and "eth0" in links  # /sys shows the host's (a bind mount)


def test_limits_are_refused_clearly_without_a_delegated_cgroup(alice: User) -> None:
    for flag in (["-m", "32m"], ["--pids-limit", "10"], ["--cpus", "0.5"]):
        proc = alice.run("run", "--rm", "--network", "none", *flag, "bb:1", "true")
        assert proc.returncode == 125
        line = one_line_error(proc)
        assert "delegated" in line and "cgroup v1" in line, line
    assert alice.ok("ps", "-aq") == ""


def test_what_needs_root_is_refused_in_one_line(alice: User) -> None:
    proc = alice.run("run", "--rm", "--network", "none", "--device", "/dev/sda", "bb:1",
                     "true")
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    # root's store (made here for the test when missing) cannot be written to
    store = Path("/var/lib/minidocker")
    made = not store.exists()
    store.mkdir(mode=0o755, exist_ok=True)
    try:
        before = sorted(os.listdir(store))
        for args in (["volume", "create", "v"], ["network", "create", "n"]):
            proc = alice.run("--root", str(store), *args)
            assert proc.returncode == 1
            assert "Permission denied" in one_line_error(proc)
        assert sorted(os.listdir(store)) == before
    finally:
        if made:
            store.rmdir()


def test_another_user_can_neither_see_nor_stop_them(alice: User, users: Users) -> None:
    alice.ok("run", "-d", "--name", "private", "--network", "none", "bb:1", "sleep", "300")
    bob = users.make()
    try:
        assert bob.ok("ps", "-a", "--format", "{{.Names}}") == ""
        proc = bob.run("stop", "private")
        assert proc.returncode != 0 and "no such container" in proc.stderr.lower()
        for args in (["ps", "-a"], ["stop", "private"], ["rm", "-f", "private"]):
            proc = bob.run("--root", str(alice.root), *args)
            assert proc.returncode != 0 and "Traceback" not in proc.stderr
        # bob's session is his own
        assert bob.ok("unshare", "readlink", "/proc/self/ns/user") != \
            alice.ok("unshare", "readlink", "/proc/self/ns/user")
        assert alice.ok("ps", "--format", "{{.Names}} {{.State}}") == "private running\n"
    finally:
        alice.run("rm", "-f", "private")


def test_a_user_without_subordinate_ids(users: Users, busybox_tar: bytes,
                                        tmp_path: Path) -> None:
    carol = users.make(ranges=False)
    tar = carol.give("bb.tar", busybox_tar)
    proc = carol.run("import", str(tar), "bb:1")
    assert proc.returncode == 0, proc.stderr
    assert "no subordinate ids" in proc.stderr and "/etc/subuid" in proc.stderr
    assert carol.ok("unshare", "cat", "/proc/self/uid_map").split() == ["0", str(carol.uid),
                                                                       "1"]
    assert carol.ok("run", "--rm", "--network", "none", "bb:1", "id", "-u") == "0\n"
    # the warning comes once, with the session
    assert "warning" not in carol.run("ps").stderr
    archive = docker_archive(with_owned_files(busybox_tar), "owned:1", tmp_path)
    mine = carol.give("owned.tar", archive.read_bytes())
    proc = carol.run("load", "-i", str(mine))
    assert proc.returncode != 0
    assert "not map" in one_line_error(proc) and "subuid" in proc.stderr
    assert "owned" not in carol.ok("images")


def test_volumes_keep_their_owner_with_keep_id(alice: User) -> None:
    data = alice.home / "data"
    data.mkdir()
    os.chown(data, alice.uid, alice.gid)
    alice.give("data/mine", b"mine\n")
    out = alice.ok("run", "--rm", "--network", "none", "--userns=keep-id",
                   "-v", f"{data}:/data", "-v", "named:/named", "bb:1", "sh", "-c",
                   "id -u; id -g; stat -c %u /data/mine; touch /data/made /named/made; "
                   "stat -c %u /named/made /etc/passwd /")
    assert out.split() == [str(alice.uid), str(alice.gid), str(alice.uid), str(alice.uid),
                           "0", "0"]
    assert (data / "made").stat().st_uid == alice.uid  # the user's own file on the host
    made = alice.root / "volumes" / "named" / "_data" / "made"
    assert made.stat().st_uid == alice.uid
    # without keep-id the user is root inside: the same file shows as root's
    out = alice.ok("run", "--rm", "--network", "none", "-v", "named:/named", "bb:1",
                   "stat", "-c", "%u", "/named/made")
    assert out == "0\n"
    alice.ok("volume", "rm", "named")
    # --user still wins over keep-id's default
    out = alice.ok("run", "--rm", "--network", "none", "--userns=keep-id", "--user", "0",
                   "bb:1", "id", "-u")
    assert out == "0\n"


def test_userns_host_is_accepted_and_keep_id_refused_for_root(tmp_path: Path,
                                                               busybox_rootfs: Path) -> None:
    from tests.conftest import run_captured, tool
    cmd = [tool("minidocker"), "--root", str(tmp_path / "root"), "run", "--rm", "--network",
           "none"]
    proc = run_captured([*cmd, "--userns=host", str(busybox_rootfs), "true"])
    assert proc.returncode == 0, proc.stderr
    proc = run_captured([*cmd, "--userns=keep-id", str(busybox_rootfs), "true"])
    assert proc.returncode == 125 and "rootless" in one_line_error(proc)


def test_push_pull_and_build(alice: User, tmp_path: Path) -> None:
    import shutil
    if not shutil.which("docker-registry"):
        pytest.fail("docker-registry is not installed (scripts/setup --dev)")
    from tests.integration.image.conftest import Registry
    reg = Registry(tmp_path / "registry")
    try:
        ref = f"{reg.addr}/rootless/bb:1"
        alice.ok("tag", "bb:1", ref)
        alice.ok("push", ref)
        alice.ok("rmi", ref)
        alice.ok("pull", ref)
        assert alice.ok("run", "--rm", "--network", "none", ref, "echo", "pulled") == \
            "pulled\n"
        context = alice.home / "ctx"
        context.mkdir()
        os.chown(context, alice.uid, alice.gid)
        alice.give("ctx/Dockerfile", b"FROM bb:1\nRUN mkdir /built && chown 33:33 /built\n"
                                     b"COPY Dockerfile /built/\n")
        alice.ok("build", "-t", "built:1", str(context))
        out = alice.ok("run", "--rm", "--network", "none", "built:1", "stat", "-c", "%u:%g",
                       "/built", "/built/Dockerfile")
        assert out.split() == ["33:33", "0:0"]
    finally:
        reg.stop()
