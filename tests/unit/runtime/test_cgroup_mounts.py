"""The host's cgroup mounts as `create` hands them to the init (CGROUPS_DONE's `mounts`),
from mountinfo's cgroup lines, kept in the runtime's root while the mounts stay the
same."""

from __future__ import annotations

import json
from pathlib import Path

from minidocker.runtime import cgroup

MOUNTINFO = """\
22 27 0:21 / /proc rw,relatime - proc proc rw
30 25 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 \
cgroup2 rw,nsdelegate
35 30 0:31 /docker/abc /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:15 - cgroup cgroup \
rw,cpu,cpuacct
36 30 0:32 / /sys/fs/cgroup/systemd rw,nosuid shared:16 - cgroup cgroup \
rw,xattr,name=systemd
60 27 0:95 / /tmp/a\\040b rw - tmpfs tmpfs rw
"""


def test_cgroup_mounts_from_mountinfo_text() -> None:
    assert cgroup.cgroup_mounts(MOUNTINFO) == [
        ("/sys/fs/cgroup/unified", "cgroup2", "rw,nsdelegate", "/"),
        ("/sys/fs/cgroup/cpu,cpuacct", "cgroup", "rw,cpu,cpuacct", "/docker/abc"),
        ("/sys/fs/cgroup/systemd", "cgroup", "rw,xattr,name=systemd", "/"),
    ]


def _live_cgroup_lines() -> str:
    with open("/proc/self/mountinfo") as f:
        return "\n".join(line for line in f.read().splitlines() if " - cgroup" in line)


def read_and_keep(root: Path) -> str:
    """What create does: the lines, and the cache written once it succeeded."""
    lines, doc = cgroup.host_cgroup_mountinfo(str(root))
    cgroup.save_cgroup_mounts(str(root), doc)
    return lines


def test_the_host_s_cgroup_lines_are_read_then_kept_while_nothing_changes(
        tmp_path: Path) -> None:
    lines, doc = cgroup.host_cgroup_mountinfo(str(tmp_path))
    assert lines == _live_cgroup_lines()
    assert cgroup.cgroup_mounts(lines) == cgroup.cgroup_mounts(_live_cgroup_lines())
    cache = tmp_path / cgroup.CACHE
    assert not cache.exists()  # written by save_cgroup_mounts once create succeeded
    cgroup.save_cgroup_mounts(str(tmp_path), doc)
    kept = json.loads(cache.read_text())
    assert kept["lines"] == lines
    # taken from the cache while every mount point and /sys/fs/cgroup are the same:
    # a changed root field that stat cannot see shows that it was not read again
    kept["lines"] = lines.replace(" / /sys/fs/cgroup", " /cached /sys/fs/cgroup", 1)
    cache.write_text(json.dumps(kept))
    assert cgroup.host_cgroup_mountinfo(str(tmp_path)) == (kept["lines"], None)


def test_a_changed_mount_point_or_a_bad_cache_means_reading_mountinfo(
        tmp_path: Path) -> None:
    cache = tmp_path / cgroup.CACHE
    lines = read_and_keep(tmp_path)
    kept = json.loads(cache.read_text())
    point = next(k for k in kept["keys"] if k)
    kept["keys"][point][1] += 1  # another inode: something was mounted over it
    kept["lines"] = "stale"
    cache.write_text(json.dumps(kept))
    assert read_and_keep(tmp_path) == lines
    assert json.loads(cache.read_text())["lines"] == lines  # written again
    for bad in ("", "{", '{"lines": 1}', "[]", '{"lines": "x", "keys": {}}'):
        cache.write_text(bad)
        assert read_and_keep(tmp_path) == lines
    # a root it cannot write to: read every time, no error
    assert read_and_keep(tmp_path / "missing" / "dir") == lines
