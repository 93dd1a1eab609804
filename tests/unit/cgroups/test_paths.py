"""Where a container's cgroup goes: OCI cgroupsPath absolute, relative, default, systemd."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from minidocker.errors import InvalidConfig, MinidockerError
from minidocker.linux import cgroups
from minidocker.linux.cgroups import common
from minidocker.linux.cgroups.v1 import V1Manager, discover_mounts
from minidocker.linux.cgroups.v2 import V2Manager


def test_default_path_is_under_minidocker(open_v2: Callable[..., V2Manager],
                                          v2_root: Path) -> None:
    mgr = open_v2(None, "abc")
    assert mgr.path == "/minidocker/abc"
    assert mgr.dir == str(v2_root / "minidocker" / "abc")


def test_absolute_path_is_taken_as_is(open_v2: Callable[..., V2Manager]) -> None:
    assert open_v2("/a/b/c").path == "/a/b/c"
    assert open_v2("//a/./b/").path == "/a/b"


def test_relative_path_is_under_the_runtimes_own_cgroup(
        open_v2: Callable[..., V2Manager], open_v1: Callable[..., V1Manager],
        v1_root: Path) -> None:
    assert open_v2("ctr/x").path == "/engine.scope/ctr/x"
    dirs = open_v1("ctr").dirs
    # v1: per hierarchy, from that hierarchy's line of /proc/self/cgroup
    assert dirs["memory"] == str(v1_root / "memory" / "engine" / "mem" / "ctr")
    assert dirs["cpu"] == str(v1_root / "cpu" / "engine" / "ctr")
    assert dirs["pids"] == str(v1_root / "pids" / "ctr")


@pytest.mark.parametrize("path", ["/a/../../etc", "../x", "a/../b", "/.."])
def test_a_path_escaping_the_hierarchy_is_refused(open_v2: Callable[..., V2Manager],
                                                  open_v1: Callable[..., V1Manager],
                                                  path: str) -> None:
    with pytest.raises(InvalidConfig, match=r"'\.\.' is not allowed"):
        open_v2(path)
    with pytest.raises(InvalidConfig, match=r"'\.\.' is not allowed"):
        open_v1(path)


def test_the_root_cgroup_is_refused(open_v2: Callable[..., V2Manager]) -> None:
    with pytest.raises(InvalidConfig, match="root cgroup"):
        open_v2("/")


@pytest.mark.parametrize("cid", ["a/b", "..", ""])
def test_a_container_id_that_is_not_a_name_is_refused(open_v2: Callable[..., V2Manager],
                                                      cid: str) -> None:
    with pytest.raises(InvalidConfig, match="container id"):
        open_v2(None, cid)


def test_systemd_cgroup_without_systemd_is_a_clear_error(
        open_v2: Callable[..., V2Manager], tmp_path: Path) -> None:
    with pytest.raises(MinidockerError, match="systemd is not running"):
        open_v2("system.slice:minidocker:c1", systemd=True,
                systemd_marker=str(tmp_path / "absent"))


def test_systemd_slice_names_map_to_their_cgroupfs_paths(tmp_path: Path) -> None:
    marker = str(tmp_path)
    assert common.systemd_path("system.slice:docker:abc", "abc", marker) == \
        "/system.slice/docker-abc.scope"
    assert common.systemd_path("a-b-c.slice:p:n", "n", marker) == \
        "/a.slice/a-b.slice/a-b-c.slice/p-n.scope"
    assert common.systemd_path(None, "x", marker) == "/system.slice/minidocker-x.scope"
    with pytest.raises(InvalidConfig, match="slice:prefix:name"):
        common.systemd_path("/not/systemd", "x", marker)


def test_v1_hierarchies_come_from_mountinfo() -> None:
    mountinfo = (
        "30 25 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n"
        "31 30 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
        "32 30 0:28 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n"
        "35 30 0:31 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
        "36 30 0:32 /docker/x /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
        "40 1 0:33 / /other rw - cgroup cgroup rw,pids\n"
    )
    found = discover_mounts("/sys/fs/cgroup", mountinfo)
    assert found == {"": ("/sys/fs/cgroup/unified", "/"),
                     "name=systemd": ("/sys/fs/cgroup/systemd", "/"),
                     "cpu": ("/sys/fs/cgroup/cpu,cpuacct", "/"),
                     "cpuacct": ("/sys/fs/cgroup/cpu,cpuacct", "/"),
                     "memory": ("/sys/fs/cgroup/memory", "/docker/x")}


def test_a_hierarchy_mounted_from_a_subtree_maps_paths_inside_it() -> None:
    mountinfo = "36 30 0:32 /docker/x /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
    mgr = cgroups.open_manager("/docker/x/inner", "c", mode="legacy", mountinfo=mountinfo)
    assert isinstance(mgr, V1Manager)
    assert mgr.dirs == {"memory": "/sys/fs/cgroup/memory/inner"}
    with pytest.raises(InvalidConfig, match="outside"):
        cgroups.open_manager("/elsewhere", "c", mode="legacy", mountinfo=mountinfo)


def test_detect_tells_the_layout(tmp_path: Path) -> None:
    assert cgroups.detect(str(tmp_path)) == "legacy"  # a tmpfs without cgroup2 inside
    assert cgroups.detect() in ("unified", "hybrid", "legacy")


def test_a_container_joins_name_systemd_but_no_other_named_hierarchy() -> None:
    """As runc: the container's /sys/fs/cgroup/systemd then shows its own cgroup."""
    mountinfo = (
        "32 30 0:28 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n"
        "33 30 0:29 / /sys/fs/cgroup/elogind rw - cgroup cgroup rw,name=elogind\n"
        "36 30 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
    )
    mgr = cgroups.open_manager(None, "c", mode="legacy", mountinfo=mountinfo)
    assert isinstance(mgr, V1Manager)
    assert mgr.dirs == {"memory": "/sys/fs/cgroup/memory/minidocker/c",
                        "name=systemd": "/sys/fs/cgroup/systemd/minidocker/c"}
    assert ("bind", "systemd", "/sys/fs/cgroup/systemd/minidocker/c") in [
        (s.kind, s.target, s.source) for s in mgr.mounts(cgroupns=False)]
