"""Bundle generation: the image config merged with flags, Docker's defaults in the spec."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from minidocker.engine import bundle, volumes
from minidocker.engine.lifecycle import build_config
from minidocker.errors import MinidockerError, UsageError

CID = "a" * 64


def _image(tmp_path: Path) -> str:
    etc = tmp_path / "img" / "etc"
    etc.mkdir(parents=True, exist_ok=True)
    (etc / "passwd").write_text("root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/app:/bin/sh\n"
                                "nobody:x:65534:65534::/:/bin/false\n")
    (etc / "group").write_text("root:x:0:\napp:x:1000:\nstaff:x:50:app\n")
    return str(tmp_path / "img")


def _spec(tmp_path: Path, image_cfg: dict[str, Any], **options: Any) -> dict[str, Any]:
    lower = _image(tmp_path)
    opts: dict[str, Any] = {"HostConfig": {}, **options}
    config = build_config(CID, "n", "img", "sha256:x", [lower], image_cfg, opts)
    return bundle.make_spec(config, str(tmp_path / "rec"), [lower],
                            volumes.oci_mounts(config["Mounts"]))


def test_entrypoint_and_cmd(tmp_path: Path) -> None:
    image = {"Entrypoint": ["/entry"], "Cmd": ["default"]}
    assert _spec(tmp_path, image)["process"]["args"] == ["/entry", "default"]
    assert _spec(tmp_path, image, Cmd=["x"])["process"]["args"] == ["/entry", "x"]
    # --entrypoint drops the image's Cmd
    assert _spec(tmp_path, image, Entrypoint=["sh"])["process"]["args"] == ["sh"]
    with pytest.raises(UsageError, match="no command"):
        _spec(tmp_path, {})


def test_env_workdir_user_and_labels(tmp_path: Path) -> None:
    image = {"Cmd": ["run"], "Env": ["PATH=/opt/bin", "A=image"], "WorkingDir": "/app",
             "User": "app", "Labels": {"from": "image"}}
    spec = _spec(tmp_path, image, Env=["A=flag", "B=2"], Labels={"x": "y"})
    proc = spec["process"]
    assert "PATH=/opt/bin" in proc["env"] and "A=flag" in proc["env"]
    assert "A=image" not in proc["env"] and "B=2" in proc["env"]
    assert any(e.startswith("HOSTNAME=") for e in proc["env"])
    assert proc["cwd"] == "/app"
    assert proc["user"] == {"uid": 1000, "gid": 1000, "additionalGids": [50]}
    assert spec["hostname"] == CID[:12]


def test_user_forms(tmp_path: Path) -> None:
    lower = _image(tmp_path)
    assert bundle.resolve_user("", [lower]) == {"uid": 0, "gid": 0}
    assert bundle.resolve_user("1234", [lower]) == {"uid": 1234, "gid": 0}
    assert bundle.resolve_user("nobody:app", [lower])["gid"] == 1000
    assert bundle.resolve_user("app:7", [lower]) == {"uid": 1000, "gid": 7,
                                                      "additionalGids": [50]}
    with pytest.raises(MinidockerError, match="unable to find user"):
        bundle.resolve_user("ghost", [lower])


def test_docker_security_defaults(tmp_path: Path) -> None:
    spec = _spec(tmp_path, {"Cmd": ["x"]})
    caps = spec["process"]["capabilities"]["bounding"]
    assert len(caps) == 14 and "CAP_SYS_ADMIN" not in caps and "CAP_NET_RAW" in caps
    linux = spec["linux"]
    assert "/proc/kcore" in linux["maskedPaths"] and "/proc/sys" in linux["readonlyPaths"]
    assert linux["seccomp"]["defaultAction"] == "SCMP_ACT_ERRNO"
    dests = [m["destination"] for m in spec["mounts"]]
    for path in ("/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/proc", "/dev/shm"):
        assert path in dests
    assert {"type": "network"} in linux["namespaces"]


def test_privileged_and_cap_flags(tmp_path: Path) -> None:
    spec = _spec(tmp_path, {"Cmd": ["x"]}, HostConfig={"Privileged": True})
    assert "CAP_SYS_ADMIN" in spec["process"]["capabilities"]["bounding"]
    assert "seccomp" not in spec["linux"] and "maskedPaths" not in spec["linux"]
    assert bundle.capabilities(["NET_ADMIN"], ["chown"], False).count("CAP_NET_ADMIN") == 1
    assert "CAP_CHOWN" not in bundle.capabilities([], ["chown"], False)
    assert bundle.capabilities(["SYS_TIME"], ["ALL"], False) == ["CAP_SYS_TIME"]
    with pytest.raises(UsageError):
        bundle.capabilities(["NOPE"], [], False)


def test_security_opts(tmp_path: Path) -> None:
    spec = _spec(tmp_path, {"Cmd": ["x"]}, HostConfig={
        "SecurityOpt": ["seccomp=unconfined", "no-new-privileges"]})
    assert "seccomp" not in spec["linux"]
    assert spec["process"]["noNewPrivileges"] is True
    with pytest.raises(UsageError):
        bundle.seccomp_profile(["bogus=1"], [], False)


def test_resources_and_network_modes(tmp_path: Path) -> None:
    host = {"Memory": 64 << 20, "NanoCpus": 1_500_000_000, "CpuShares": 512,
            "CpusetCpus": "0", "PidsLimit": 10, "NetworkMode": "host",
            "Ulimits": [bundle.parse_ulimit("nofile=10:20")], "ReadonlyRootfs": True}
    spec = _spec(tmp_path, {"Cmd": ["x"]}, HostConfig=host)
    res = spec["linux"]["resources"]
    assert res["memory"] == {"limit": 64 << 20, "swap": 128 << 20}
    assert res["cpu"] == {"period": 100000, "quota": 150000, "shares": 512, "cpus": "0"}
    assert res["pids"] == {"limit": 10}
    assert {"type": "network"} not in spec["linux"]["namespaces"]
    assert spec["process"]["rlimits"] == [{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 20}]
    assert spec["root"]["readonly"] is True


def test_parse_sizes_and_ulimits() -> None:
    assert bundle.parse_bytes("512") == 512
    assert bundle.parse_bytes("64m") == 64 << 20
    assert bundle.parse_bytes("1.5g") == 3 << 29
    assert bundle.parse_bytes("2KiB") == 2048
    with pytest.raises(UsageError):
        bundle.parse_bytes("lots")
    with pytest.raises(UsageError):
        bundle.parse_ulimit("nofile=20:10")
    with pytest.raises(UsageError):
        bundle.parse_ulimit("bogus=1")


def test_ulimit_names_are_the_runtimes_rlimits() -> None:
    """Docker's 16 --ulimit names, each an rlimit the runtime knows (one list for both)."""
    import resource

    from minidocker.runtime.process import RLIMITS
    assert sorted(bundle.ULIMITS) == sorted([
        "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile",
        "nproc", "rss", "rtprio", "rttime", "sigpending", "stack", "as"])
    assert sorted(bundle.ULIMITS.values()) == sorted(RLIMITS)
    for name, number in RLIMITS.items():
        assert getattr(resource, name, number) == number


def test_volume_flags() -> None:
    assert volumes.parse_volume("data:/d:ro") == {
        "Type": "volume", "Source": "data", "Destination": "/d", "RW": False,
        "Name": "data", "Anonymous": False}
    assert volumes.parse_volume("/scratch")["Anonymous"] is True
    assert volumes.parse_volume("/host:/c")["Type"] == "bind"
    tmpfs = volumes.from_api_mount(volumes.parse_mount("type=tmpfs,target=/t,tmpfs-size=1m"))
    assert tmpfs["TmpfsSize"] == "1048576" and tmpfs["Destination"] == "/t"
    with pytest.raises(UsageError):
        volumes.parse_volume("a:relative")
    with pytest.raises(UsageError):
        volumes.parse_mount("type=nfs,target=/x")
    [m] = volumes.oci_mounts([volumes.parse_volume("/host:/c:ro")])
    assert m == {"destination": "/c", "type": "bind", "source": "/host",
                 "options": ["rbind", "rprivate", "ro"]}


def test_sysctls_only_of_the_containers_own_namespaces(tmp_path: Path) -> None:
    image = {"Cmd": ["run"]}
    spec = _spec(tmp_path, image, HostConfig={"Sysctls": {"net.ipv4.ip_forward": "1",
                                                           "kernel.shmmax": "4096"}})
    assert spec["linux"]["sysctl"] == {"net.ipv4.ip_forward": "1", "kernel.shmmax": "4096"}
    with pytest.raises(UsageError, match="kernel.panic=7 for --sysctl: kernel.panic is not "
                                         "namespaced"):
        _spec(tmp_path, image, HostConfig={"Sysctls": {"kernel.panic": "7"}})
    with pytest.raises(UsageError, match="--sysctl: set the hostname with --hostname"):
        _spec(tmp_path, image, HostConfig={"Sysctls": {"kernel.hostname": "x"}})
    with pytest.raises(UsageError, match="--sysctl: not allowed with --network host"):
        _spec(tmp_path, image, HostConfig={"Sysctls": {"net.ipv4.ip_forward": "1"},
                                           "NetworkMode": "host"})


def test_namespace_modes_shm_and_cgroup_parent(tmp_path: Path) -> None:
    spec = _spec(tmp_path, {"Cmd": ["true"]}, HostConfig={"PidMode": "host", "UTSMode": "host",
                                           "CgroupnsMode": "host", "ShmSize": 16 << 20,
                                           "CgroupParent": "/mine"})
    kinds = {ns["type"] for ns in spec["linux"]["namespaces"]}
    assert kinds == {"mount", "ipc", "network"} and "hostname" not in spec
    shm = next(m for m in spec["mounts"] if m["destination"] == "/dev/shm")
    assert f"size={16 << 20}" in shm["options"]
    assert spec["linux"]["cgroupsPath"].startswith("/mine/")
    spec = _spec(tmp_path, {"Cmd": ["true"]}, HostConfig={"IpcMode": "none"},
                 Domainname="example.org")
    assert not any(m["destination"] == "/dev/shm" for m in spec["mounts"])
    assert spec["domainname"] == "example.org"


def test_devices_rules_and_groups(tmp_path: Path) -> None:
    spec = _spec(tmp_path, {"Cmd": ["true"]}, HostConfig={
        "Devices": [{"PathOnHost": "/dev/null", "PathInContainer": "/dev/mynull",
                     "CgroupPermissions": "rw"}],
        "DeviceCgroupRules": ["c 10:* rwm"], "GroupAdd": ["10", "staff"]})
    assert spec["linux"]["devices"][0] | {"fileMode": 0} == {
        "path": "/dev/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 0,
        "uid": 0, "gid": 0}
    rules = spec["linux"]["resources"]["devices"]
    assert {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rw"} in rules
    assert {"allow": True, "type": "c", "major": 10, "access": "rwm"} in rules
    assert spec["process"]["user"]["additionalGids"] == [10, 50]
    with pytest.raises(UsageError, match="invalid device cgroup format"):
        bundle.parse_device_rule("c 1 rwm")
    with pytest.raises(UsageError, match="not a device node"):
        _spec(tmp_path, {"Cmd": ["true"]},
              HostConfig={"Devices": [{"PathOnHost": "/etc/passwd"}]})
    with pytest.raises(MinidockerError, match="Unable to find group nope"):
        _spec(tmp_path, {"Cmd": ["true"]}, HostConfig={"GroupAdd": ["nope"]})


def test_platforms_and_modes_as_docker_reads_them() -> None:
    from minidocker.engine.service import validate
    assert validate.platform("linux/x86_64") == "linux/amd64"
    assert validate.platform("arm64") == "linux/arm64"
    assert validate.platform("linux/arm/v7") == "linux/arm/v7"
    with pytest.raises(UsageError, match='error parsing specified platform: "foo"'):
        validate.platform("foo")
    with pytest.raises(UsageError, match="no emulation"):
        validate.runnable_platform("linux/s390x" if validate.platform("linux") !=
                                   "linux/s390x" else "linux/amd64")
    for host, message in (({"PidMode": "bad"}, "--pid: invalid PID mode: bad"),
                          ({"IpcMode": "container:"}, "--ipc: invalid IPC mode"),
                          ({"UsernsMode": "remap"}, "--userns: invalid USER mode"),
                          ({"StorageOpt": {"size": "1G"}}, "overlay over xfs"),
                          ({"Devices": [{"PathOnHost": "/dev/null",
                                         "CgroupPermissions": "x"}]}, "invalid device mode"),
                          ({"BlkioWeightDevice": [{"Path": "/dev/sda", "Weight": 5}]},
                           "invalid weight")):
        with pytest.raises(UsageError, match=message):
            validate.host_config(host)
