"""The host's cgroup mounts as `create` hands them to the init (CGROUPS_DONE's `mounts`),
from mountinfo text the CLI's thread read while Python imported."""

from __future__ import annotations

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


def test_the_prefetched_mountinfo_is_this_process_s_and_taken_once() -> None:
    assert cgroup.prefetched_mountinfo() is None  # none started
    cgroup.prefetch_mountinfo()
    text = cgroup.prefetched_mountinfo()
    assert text is not None
    with open("/proc/self/mountinfo") as f:
        now = f.read()
    # the same mounts (ids and points), whatever changed meanwhile elsewhere
    assert cgroup.cgroup_mounts(text) == cgroup.cgroup_mounts(now)
    assert cgroup.prefetched_mountinfo() is None
    import sys
    assert sys.getswitchinterval() == 0.005
