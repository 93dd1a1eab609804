"""Volumes (named, anonymous, bind, --mount) and the filesystem commands cp, diff, export,
commit."""

from __future__ import annotations

import contextlib
import ctypes
import io
import os
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import error_lines
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


def _regular_files(top: Path) -> dict[str, str]:
    """Every regular file below `top` (or `top` itself) and its text, symlinks not followed."""
    found: dict[str, str] = {}
    if top.is_file() and not top.is_symlink():
        return {str(top): top.read_text(errors="replace")}
    for dirpath, _, names in os.walk(top):
        for name in names:
            path = Path(dirpath) / name
            if path.is_file() and not path.is_symlink():
                found[str(path)] = path.read_text(errors="replace")
    return found


def test_cp_out_never_reads_the_host_through_planted_symlinks(engine: Engine,
                                                             tmp_path: Path) -> None:
    """Links the container planted (absolute, `../../..`, as the last component or in the
    middle of the path) resolve inside the container: a host file they name is never
    copied out. The last component is copied as the link itself, as docker cp does."""
    host = tmp_path / "host"
    host.mkdir()
    (host / "secret").write_text("HOST SECRET\n")
    up = "../" * 12
    cid = engine.ok("run", "-d", engine.image, "sh", "-c",
                    f"mkdir -p /data/tree; ln -s {host}/secret /data/abs; "
                    f"ln -s {up}{host}/secret /etc/rel; ln -s {host} /data/tree/hostdir; "
                    f"ln -s {up}{host} /data/up; echo inside > /data/real; "
                    "ln -s real /data/link; ln -s /data /inner; sleep 60").strip()
    engine.wait_for(lambda: "A /inner" in engine.ok("diff", cid))
    out = tmp_path / "out"
    out.mkdir()
    for src in ("/data/tree/hostdir/secret", "/data/up/secret", "/data/up/./secret"):
        result = engine.run("cp", f"{cid}:{src}", str(out / "x"))
        assert result.returncode != 0 and "Traceback" not in result.stderr
        assert result.stderr.startswith("minidocker: error: ")
        assert len(error_lines(result.stderr)) == 1
        assert src.split("/")[-1] in result.stderr
    for src in ("/data/abs", "/etc/rel", "/data/up/"):
        result = engine.run("cp", "-L", f"{cid}:{src}", str(out / "y"))
        assert result.returncode != 0 and "Traceback" not in result.stderr
    # without -L the last component is copied as the link it is
    engine.ok("cp", f"{cid}:/data/abs", str(out / "abs"))
    assert os.readlink(out / "abs") == f"{host}/secret"
    engine.ok("cp", f"{cid}:/etc/rel", str(out))
    assert os.readlink(out / "rel") == f"{up}{host}/secret"
    engine.ok("cp", f"{cid}:/data", str(out / "data"))
    assert os.readlink(out / "data" / "tree" / "hostdir") == str(host)
    tar = subprocess.run(engine.cmd("cp", f"{cid}:/data", "-"), capture_output=True,
                         check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as tf:
        assert tf.getmember("data/abs").issym()
        assert tf.extractfile("data/real").read() == b"inside\n"  # type: ignore[union-attr]
    # links that stay inside the container work, intermediate ones included
    engine.ok("cp", f"{cid}:/inner/link", str(out / "link"))
    assert os.readlink(out / "link") == "real"
    engine.ok("cp", "-L", f"{cid}:/inner/link", str(out / "followed"))
    assert (out / "followed").read_text() == "inside\n"
    engine.ok("cp", "-L", f"{cid}:/inner", str(out / "innerdir"))
    assert (out / "innerdir" / "real").read_text() == "inside\n"
    leaked = [p for p, text in _regular_files(out).items() if "HOST SECRET" in text]
    assert leaked == []


@contextlib.contextmanager
def _exchanging(a: Path, b: Path) -> Iterator[None]:
    """While the body runs, swap `a` and `b` (renameat2 RENAME_EXCHANGE) in a tight loop,
    as a container racing the engine would."""
    libc = ctypes.CDLL(None, use_errno=True)
    stop = threading.Event()

    def exchange() -> None:
        while not stop.is_set():
            libc.renameat2(-100, bytes(a), -100, bytes(b), 2)  # AT_FDCWD, RENAME_EXCHANGE

    flipper = threading.Thread(target=exchange)
    flipper.start()
    try:
        yield
    finally:
        stop.set()
        flipper.join()


def test_cp_out_symlink_exchange_race_stays_inside(engine: Engine, tmp_path: Path) -> None:
    """CVE-2018-15664: while cp runs, the container swaps a directory on the source path
    with a link to a host directory (renameat2 RENAME_EXCHANGE in a tight loop, done here
    through the host's view of the container's filesystem). Nothing of the host's is
    copied: at worst the copy fails, or copies the link itself."""
    host = tmp_path / "host"
    host.mkdir()
    (host / "secret").write_text("HOST SECRET\n")
    cid = engine.ok("run", "-d", engine.image, "sh", "-c",
                    f"mkdir -p /w/d; echo inside > /w/d/secret; ln -s {host} /w/l; "
                    "sleep 60").strip()
    engine.wait_for(lambda: "A /w" in engine.ok("diff", cid))
    view = engine.root / "containers" / cid / "rootfs" / "w"
    out = tmp_path / "out"
    out.mkdir()
    with _exchanging(view / "d", view / "l"):
        for i in range(15):
            engine.run("cp", f"{cid}:/w/d/secret", str(out / f"file{i}"))
            engine.run("cp", f"{cid}:/w/d", str(out / f"dir{i}"))
            engine.run("cp", f"{cid}:/w/d/.", str(out / f"contents{i}"))
    copied = _regular_files(out)
    assert copied, "nothing was copied at all"
    assert [p for p, text in copied.items() if "HOST" in text] == []


def test_diff_never_lists_a_host_directory_swapped_in(engine: Engine, tmp_path: Path
                                                      ) -> None:
    """`diff` walks the upper dir that the container writes: a directory swapped for a
    link to a host directory while it walks (as in the cp race above) must not make it
    list the host's names."""
    host = tmp_path / "host"
    host.mkdir()
    (host / "host-only-name").write_text("x")
    cid = engine.ok("run", "-d", engine.image, "sh", "-c",
                    f"mkdir -p /w/d; echo inside > /w/d/inner; ln -s {host} /w/l; "
                    "sleep 60").strip()
    engine.wait_for(lambda: "A /w/d/inner" in engine.ok("diff", cid))
    upper = engine.root / "containers" / cid / "upper" / "w"
    assert (upper / "d").is_dir(), "the test needs the container's upper dir"
    with _exchanging(upper / "d", upper / "l"):
        listings = [engine.run("diff", cid).stdout for _ in range(100)]
    assert any("/w/d/inner" in text or "/w/l/inner" in text for text in listings)
    assert [text for text in listings if "host-only-name" in text] == []


def test_cp_in_a_tar_archive_from_stdin(engine: Engine, tmp_path: Path) -> None:
    """`cp - CONTAINER:DIR` unpacks a tar stream into a directory of the container (owned
    by root without -a); anything but a directory, or an entry reaching above it, is one
    clear error and writes nothing."""
    cid = engine.ok("run", "-d", engine.image, "sleep", "60").strip()

    def archive(*entries: tuple[str, bytes]) -> bytes:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for name, data in entries:
                info = tarfile.TarInfo(name)
                info.size, info.uid, info.gid = len(data), 1234, 1234
                tar.addfile(info, io.BytesIO(data))
        return buf.getvalue()

    ok = engine.run("cp", "-", f"{cid}:/tmp", input=archive(("a.txt", b"A\n"),
                                                             ("d/b.txt", b"B\n")))
    assert ok.returncode == 0, ok.stderr
    assert engine.ok("exec", cid, "sh", "-c", "cat /tmp/a.txt /tmp/d/b.txt; "
                     "stat -c %u /tmp/a.txt") == "A\nB\n0\n"
    bad = engine.run("cp", "-", f"{cid}:/tmp/a.txt", input=archive(("x", b"x")))
    assert bad.returncode == 1 and "not a directory" in bad.stderr
    evil = engine.run("cp", "-", f"{cid}:/tmp", input=archive(("ok", b"1"),
                                                               ("../../up", b"2")))
    assert evil.returncode == 1 and "outside" in evil.stderr
    assert len(error_lines(evil.stderr)) == 1
    assert engine.run("exec", cid, "test", "-e", "/up").returncode != 0


def test_cp_out_follows_docker_cp_rules(engine: Engine, tmp_path: Path) -> None:
    """File to a new file or into a directory, a directory to a new one or into one,
    `dir/.` for its contents only, -a for the owners; errors as one line."""
    cid = engine.ok("run", "-d", engine.image, "sh", "-c",
                    "mkdir -p /d/sub; echo f > /d/f; echo g > /d/sub/g; chown -R 7:8 /d; "
                    "chmod 640 /d/f; sleep 60").strip()
    engine.wait_for(lambda: "A /d" in engine.ok("diff", cid))
    engine.ok("cp", f"{cid}:/d/f", str(tmp_path / "file"))
    assert (tmp_path / "file").read_text() == "f\n"
    assert (tmp_path / "file").stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "file").stat().st_uid == 0  # the copy is ours without -a
    engine.ok("cp", f"{cid}:/d/sub/g", str(tmp_path / "file"))  # overwrites a file
    assert (tmp_path / "file").read_text() == "g\n"
    engine.ok("cp", f"{cid}:/d/f", f"{tmp_path}/")
    assert (tmp_path / "f").read_text() == "f\n"
    engine.ok("cp", f"{cid}:/d", str(tmp_path / "new"))
    assert (tmp_path / "new" / "sub" / "g").read_text() == "g\n"
    engine.ok("cp", f"{cid}:/d", str(tmp_path / "new"))  # exists now: copied into it
    assert (tmp_path / "new" / "d" / "f").read_text() == "f\n"
    (tmp_path / "contents").mkdir()
    engine.ok("cp", f"{cid}:/d/.", str(tmp_path / "contents"))
    assert sorted(p.name for p in (tmp_path / "contents").iterdir()) == ["f", "sub"]
    engine.ok("cp", "-a", f"{cid}:/d/sub", str(tmp_path / "owned"))
    assert (tmp_path / "owned" / "g").stat().st_uid == 7
    assert (tmp_path / "owned" / "g").stat().st_gid == 8
    for args, words in (((f"{cid}:/d", str(tmp_path / "file")), "cannot copy a directory"),
                        ((f"{cid}:/d/f", f"{tmp_path}/nodir/"), "no such directory"),
                        ((f"{cid}:/d/f", f"{tmp_path}/nodir/x"), "no such directory"),
                        ((f"{cid}:/d/f/.", str(tmp_path / "x")), "Not a directory"),
                        ((f"{cid}:/nope", str(tmp_path / "x")), "could not find the file")):
        result = engine.run("cp", *args)
        assert result.returncode == 1, args
        assert result.stderr.startswith("minidocker: error: ") and words in result.stderr
        assert len(error_lines(result.stderr)) == 1
    assert not (tmp_path / "x").exists() and not (tmp_path / "nodir").exists()


def test_a_new_volume_gets_the_images_content(engine: Engine) -> None:
    """Docker: a new named volume mounted where the image has files starts with a copy of
    them (owners and modes kept), and a volume with content keeps its own; nocopy (and
    --mount volume-nocopy) leaves it empty."""
    out = engine.ok("run", "--rm", "--network", "none", "-v", "etcvol:/etc", engine.image,
                    "sh", "-c", "ls /etc; echo mine > /etc/added")
    assert "passwd" in out.split()
    listing = engine.ok("run", "--rm", "--network", "none", "-v", "etcvol:/mnt",
                        engine.image, "ls", "-ln", "/mnt/passwd", "/mnt/added")
    assert "0        0" in listing.replace("  ", "   ") or " 0 " in listing
    assert "/mnt/added" in listing  # the copy happened once: what we added is there
    assert engine.ok("run", "--rm", "--network", "none", "-v", "empty1:/etc:nocopy",
                     engine.image, "ls", "/etc") == ""
    assert engine.ok("run", "--rm", "--network", "none", "--mount",
                     "type=volume,src=empty2,dst=/etc,volume-nocopy", engine.image, "ls",
                     "/etc") == ""


def test_local_volume_options_mount_a_filesystem(engine: Engine, tmp_path: Path) -> None:
    """Docker's local driver options: `volume create --opt type=tmpfs --opt device=tmpfs
    --opt o=size=8m,uid=1000` is a tmpfs, and type=none o=bind device=DIR a host directory,
    mounted when a container uses the volume; removing the volume unmounts it and never
    deletes what the bound directory holds. Options are checked as dockerd's."""
    from tests.integration.engine.conftest import mounts_under
    engine.ok("volume", "create", "--opt", "type=tmpfs", "--opt", "device=tmpfs",
              "--opt", "o=size=8m,uid=1000", "fast")
    assert engine.ok("volume", "inspect", "-f", "{{json .Options}}", "fast") == \
        '{"device":"tmpfs","o":"size=8m,uid=1000","type":"tmpfs"}\n'
    out = engine.ok("run", "--rm", "-v", "fast:/data", engine.image, "sh", "-c",
                    "stat -c '%u' /data; df -k /data | tail -1; echo kept > /data/f")
    owner, df = out.splitlines()
    assert owner == "1000" and df.split()[0] == "tmpfs" and df.split()[1] == "8192", out
    assert engine.ok("run", "--rm", "-v", "fast:/data", engine.image, "cat", "/data/f") == \
        "kept\n"
    host = tmp_path / "host"
    host.mkdir()
    (host / "mine").write_text("host file\n")
    engine.ok("volume", "create", "--opt", "type=none", "--opt", "o=bind", "--opt",
              f"device={host}", "bound")
    assert engine.ok("run", "--rm", "-v", "bound:/b", engine.image, "sh", "-c",
                     "cat /b/mine; echo new > /b/made") == "host file\n"
    assert (host / "made").read_text() == "new\n"
    assert len(mounts_under(engine.root)) == 2
    engine.ok("volume", "rm", "fast", "bound")
    assert mounts_under(engine.root) == []
    assert sorted(p.name for p in host.iterdir()) == ["made", "mine"]  # untouched
    for opts, message in ((["foo=1"], 'invalid option key: "foo"'),
                          (["type=tmpfs"], 'missing required option: "device"'),
                          (["o=size=1m", "device=x"], 'missing required option: "type"')):
        result = engine.run("volume", "create", *[a for o in opts for a in ("--opt", o)], "v")
        assert result.returncode == 1 and message in result.stderr, result.stderr
    engine.ok("volume", "create", "--opt", "type=nosuchfs", "--opt", "device=x", "bad")
    result = engine.run("run", "--rm", "-v", "bad:/d", engine.image, "true")
    assert result.returncode == 125 and "error while mounting volume" in result.stderr
    assert engine.ok("ps", "-aq") == "" and mounts_under(engine.root) == []
    assert engine.ok("volume", "ls", "-q").split() == ["bad"]
