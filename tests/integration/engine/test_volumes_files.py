"""Volumes (named, anonymous, bind, --mount) and the filesystem commands cp, diff, export,
commit."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

from tests.integration.engine.conftest import Engine, mounts_under


def test_named_volume_outlives_its_container(engine: Engine) -> None:
    engine.ok("run", "--rm", "-v", "data:/data", engine.image, "sh", "-c",
              "echo kept > /data/file")
    assert engine.ok("volume", "ls", "-q") == "data\n"
    assert engine.ok("run", "--rm", "-v", "data:/data:ro", engine.image, "cat",
                     "/data/file") == "kept\n"
    result = engine.run("run", "--rm", "-v", "data:/data:ro", engine.image, "touch", "/data/x")
    assert result.returncode != 0
    doc = engine.inspect("data")
    assert doc["Name"] == "data" and doc["Driver"] == "local"
    engine.ok("volume", "rm", "data")
    assert engine.ok("volume", "ls", "-q") == ""


def test_volume_in_use_cannot_be_removed(engine: Engine) -> None:
    engine.ok("volume", "create", "busy")
    engine.ok("create", "--name", "user", "--mount", "type=volume,source=busy,target=/b",
              engine.image, "true")
    assert engine.run("volume", "rm", "busy").returncode != 0
    engine.ok("rm", "user")
    engine.ok("volume", "rm", "busy")


def test_anonymous_volume_removed_with_rm_v(engine: Engine) -> None:
    engine.ok("run", "--name", "anon", "-v", "/scratch", engine.image, "touch", "/scratch/f")
    names = engine.ok("volume", "ls", "-q").split()
    assert len(names) == 1 and len(names[0]) == 64
    engine.ok("rm", "-v", "anon")
    assert engine.ok("volume", "ls", "-q") == ""


def test_bind_mount_and_tmpfs_mount(engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("from host\n")
    out = engine.ok("run", "--rm", "-v", f"{tmp_path}:/host",
                    "--mount", "type=tmpfs,target=/fast", engine.image, "sh", "-c",
                    "cat /host/in.txt; echo back > /host/out.txt; "
                    "grep ' /fast ' /proc/mounts | cut -d' ' -f3")
    assert out == "from host\ntmpfs\n"
    assert (tmp_path / "out.txt").read_text() == "back\n"


def test_cp_both_ways_and_diff(engine: Engine, tmp_path: Path) -> None:
    cid = engine.ok("run", "-d", engine.image, "sh", "-c",
                    "echo new > /created; rm /etc/group; sleep 60").strip()
    engine.wait_for(lambda: "A /created" in engine.ok("diff", cid))
    diff = engine.ok("diff", cid).splitlines()
    assert "A /created" in diff and "D /etc/group" in diff and "C /etc" in diff
    engine.ok("cp", f"{cid}:/created", str(tmp_path / "copy"))
    assert (tmp_path / "copy").read_text() == "new\n"
    (tmp_path / "up.txt").write_text("uploaded\n")
    engine.ok("cp", str(tmp_path / "up.txt"), f"{cid}:/tmp/")
    assert engine.ok("exec", cid, "cat", "/tmp/up.txt") == "uploaded\n"
    # a symlink in the container cannot send a copy outside it
    engine.ok("exec", cid, "ln", "-s", "/", "/escape")
    engine.ok("cp", str(tmp_path / "up.txt"), f"{cid}:/escape/tmp/via-link.txt")
    assert engine.ok("exec", cid, "cat", "/tmp/via-link.txt") == "uploaded\n"
    assert not Path("/tmp/via-link.txt").exists()


def test_export_of_a_stopped_container(engine: Engine, tmp_path: Path) -> None:
    cid = engine.ok("run", "-d", engine.image, "sh", "-c", "echo x > /exported").strip()
    engine.ok("wait", cid)
    out = tmp_path / "fs.tar"
    engine.ok("export", "-o", str(out), cid)
    with tarfile.open(out) as tf:
        names = tf.getnames()
    assert "./exported" in names and "./bin/busybox" in names
    data = subprocess.run(engine.cmd("export", cid), capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        assert "./exported" in tf.getnames()
    assert mounts_under(engine.root) == []


def test_commit_then_run_the_new_image(engine: Engine) -> None:
    cid = engine.ok("run", "-d", engine.image, "sh", "-c", "echo layered > /baked").strip()
    engine.ok("wait", cid)
    image_id = engine.ok("commit", "-c", 'CMD ["cat", "/baked"]', cid, "baked:v1").strip()
    assert image_id.startswith("sha256:")
    assert engine.ok("run", "--rm", "baked:v1") == "layered\n"
    cid2 = engine.ok("run", "-d", "baked:v1", "sh", "-c", "echo second > /more").strip()
    engine.ok("wait", cid2)
    engine.ok("commit", cid2, "baked:v2")
    assert engine.ok("run", "--rm", "baked:v2", "cat", "/baked", "/more") == \
        "layered\nsecond\n"
    assert engine.run("rmi", "baked:v1").returncode != 0  # cid2 holds a lease on it
    engine.ok("rm", cid2)
    engine.ok("rmi", "baked:v1")


def test_cp_into_a_tree_with_planted_symlinks_stays_inside(engine: Engine,
                                                          tmp_path: Path) -> None:
    """A directory copied into the container is written through the container's view of
    its symlinks (a link to an absolute path means inside the container), never the
    host's: an absolute link planted in an existing subdirectory cannot catch the copy."""
    victim = tmp_path / "victim"
    victim.mkdir()
    cid = engine.ok("run", "-d", engine.image, "sh", "-c",
                    f"mkdir -p /data/tree {victim}; ln -s {victim} /data/tree/sub; "
                    f"ln -s {victim}/single /data/file; sleep 60").strip()
    engine.wait_for(lambda: "A /data" in engine.ok("diff", cid))
    src = tmp_path / "tree"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "pwned").write_text("x\n")
    engine.ok("cp", str(src), f"{cid}:/data")
    single = tmp_path / "single.txt"
    single.write_text("one\n")
    engine.ok("cp", str(single), f"{cid}:/data/file")
    assert list(victim.iterdir()) == []
    assert engine.ok("exec", cid, "cat", f"{victim}/pwned") == "x\n"
    assert engine.ok("exec", cid, "cat", f"{victim}/single") == "one\n"
