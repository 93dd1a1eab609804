"""`minidocker system reset` (as podman's): after a confirmation or -f, every container,
image, volume and network of the root is gone, its default bridge and nft table too —
also when the root's files were deleted by hand."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import zlib
from pathlib import Path

from tests.conftest import run_captured, tool
from tests.integration.engine.conftest import Engine, mounts_under


def links() -> set[str]:
    out = subprocess.run(["ip", "-j", "link", "show"], capture_output=True, text=True).stdout
    return {link["ifname"] for link in json.loads(out or "[]")}


def table_exists(name: str) -> bool:
    return subprocess.run(["nft", "list", "table", "ip", name],
                          capture_output=True).returncode == 0


def test_reset_removes_everything_of_the_root(engine: Engine) -> None:
    engine.ok("import", engine.image, "mine:1")
    engine.ok("network", "create", "app")
    engine.ok("volume", "create", "data")
    up = engine.ok("run", "-d", "-p", "127.0.0.1::80", "-v", "data:/data", "mine:1",
                   "sleep", "600").strip()
    on_app = engine.ok("run", "-d", "--network", "app", "mine:1", "sleep", "600").strip()
    engine.ok("create", "--name", "stopped", "mine:1", "true")
    broken = engine.ok("create", "--name", "broken", "mine:1", "true").strip()
    (engine.root / "containers" / broken / "state.json").write_text("{")
    pids = [engine.inspect(c)["State"]["Pid"] for c in (up, on_app)]
    networks = json.loads((engine.root / "network" / "networks.json").read_text())
    bridges = {n["bridge"] for n in networks.values()}
    assert bridges <= links() and table_exists(engine.net_tag)

    asked = engine.run("system", "reset", input=b"n\n")
    assert asked.returncode == 0 and "Are you sure" in asked.stdout
    assert len(engine.container_dirs()) == 4  # nothing removed without a yes

    proc = engine.run("system", "reset", "-f", timeout=120)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert up in proc.stdout and broken in proc.stdout
    assert engine.container_dirs() == [] and mounts_under(engine.root) == []
    for cid in (up, on_app, broken):
        assert not [c for c in os.listdir("/sys/fs/cgroup")
                    if os.path.isdir(f"/sys/fs/cgroup/{c}/minidocker/{cid}")]
    assert all(not os.path.exists(f"/proc/{pid}") or
               Path(f"/proc/{pid}/stat").read_text().split()[2] in ("Z", "X") for pid in pids)
    assert not bridges & links() and not table_exists(engine.net_tag)
    leftover = sorted(str(p.relative_to(engine.root)) for p in engine.root.rglob("*"))
    assert leftover == ["network", "network/config.json"], leftover
    assert engine.ok("images", "-q") == "" and engine.ok("volume", "ls", "-q") == ""
    assert engine.ok("ps", "-aq") == ""
    engine.ok("run", "--rm", engine.image, "true")  # the root works again afterwards


def test_reset_of_a_root_deleted_by_hand_removes_its_bridge_and_table(
        busybox_rootfs: Path) -> None:
    root = Path(tempfile.mkdtemp(prefix="md-reset-"))
    suffix = f"{zlib.crc32(str(root.resolve()).encode()):08x}"
    bridge, table = f"mdr{suffix}", f"minidocker_{suffix}"  # the root's own names
    cli = [tool("minidocker"), "--root", str(root)]
    try:
        run_captured([*cli, "run", "--rm", str(busybox_rootfs), "true"], check=True)
        assert bridge in links() and table_exists(table)
        shutil.rmtree(root)  # by hand
        proc = run_captured([*cli, "system", "reset", "-f"])
        assert proc.returncode == 0, proc.stderr
        assert bridge not in links() and not table_exists(table)
    finally:
        subprocess.run(["ip", "link", "del", bridge], capture_output=True)
        subprocess.run(["nft", "delete", "table", "ip", table], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def test_reset_unmounts_what_a_killed_build_left_mounted(engine: Engine) -> None:
    """A build killed with -9 may leave a read-only view mounted in its work dir; reset
    unmounts it instead of leaving it (and the directory under it) behind."""
    with open("/proc/sys/kernel/pid_max") as f:
        dead = int(f.read()) + 1  # no process can have it
    view = engine.root / "build" / "tmp" / f"{dead}-1" / "view"
    view.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(view)], check=True)
    try:
        (view / "file").write_text("x")
        subprocess.run(["mount", "-o", "remount,ro", str(view)], check=True)
        engine.ok("system", "reset", "-f")
        assert mounts_under(engine.root) == []
        assert not (engine.root / "build").exists()
    finally:
        subprocess.run(["umount", "-l", str(view)], capture_output=True)
