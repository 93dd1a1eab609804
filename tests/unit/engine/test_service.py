"""The service layer's logic that needs no root: the context, errors and their statuses,
create's reading of Docker's body, listing with filters and sorting, name and id
lookup, prune selection, rename, wait, df, the volume and image lists. Records are made
by the service itself from a directory image (nothing runs: creating needs no root)."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from minidocker import errors
from minidocker.engine.records import Record
from minidocker.engine.service import Collect, Context, containers, execs, system, volumes
from minidocker.engine.service.filters import from_args, labels_match
from minidocker.errors import Conflict, NotFound, NotModified, UsageError


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    image = tmp_path / "image"
    for d in ("bin", "etc", "tmp"):
        (image / d).mkdir(parents=True)
    (image / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (image / "etc" / "group").write_text("root:x:0:\n")
    return image


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    return Context(str(tmp_path / "root"), sink=Collect())


def make(ctx: Context, rootfs: Path, name: str | None = None, **body: Any) -> str:
    doc = {"Image": str(rootfs), "Cmd": ["true"], **body}
    doc.setdefault("HostConfig", {})
    doc["HostConfig"].setdefault("NetworkMode", "none")
    return containers.create(ctx, doc, name=name)["Id"]


def set_state(ctx: Context, cid: str, **changes: Any) -> None:
    Record(ctx.root, cid).update(**changes)


# ---- context, errors, filters ------------------------------------------------------------


def test_context_is_explicit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINIDOCKER_ROOT", "/nowhere")
    ctx = Context("relative/root")
    assert ctx.root == os.path.abspath("relative/root")  # the environment plays no part
    assert type(ctx.sink).__name__ == "Sink"
    with pytest.raises(ValueError):
        Context(str(tmp_path), spawn="thread")
    assert Context(str(tmp_path), spawn="fork").may_fork()
    assert not Context(str(tmp_path), spawn="exec").may_fork()
    sink = Collect()
    assert ctx.with_sink(sink).sink is sink and ctx.with_sink(sink).root == ctx.root


def test_auto_spawn_forks_only_with_one_thread(tmp_path: Path) -> None:
    ctx = Context(str(tmp_path))
    results: list[bool] = []
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        results.append(ctx.may_fork())
    finally:
        stop.set()
        other.join()
    assert results == [False]


def test_errors_carry_docker_statuses() -> None:
    assert errors.status_of(UsageError("x")) == errors.BadParameter("x").status == 400
    assert errors.status_of(NotFound("x")) == 404
    assert errors.status_of(Conflict("x")) == 409
    assert errors.status_of(NotModified("x")) == 304 and NotModified("x").exit_code == 0
    assert errors.status_of(errors.MinidockerError("x")) == 500
    assert errors.status_of(FileNotFoundError()) == 404
    assert errors.status_of(RuntimeError()) == 500


def test_filters_from_flags_and_labels() -> None:
    assert from_args(["label=a=b", "status=exited", "label=c"]) == {
        "label": ["a=b", "c"], "status": ["exited"]}
    with pytest.raises(UsageError, match="name=value"):
        from_args(["status"])
    assert labels_match({"a": "b", "c": ""}, {"label": ["a=b", "c"]})
    assert not labels_match({"a": "b"}, {"label": ["a=x"]})
    assert not labels_match({"a": "b"}, {"label!": ["a"]})


# ---- create ------------------------------------------------------------------------------


def test_port_bindings_from_dockers_map() -> None:
    assert containers.port_specs({
        "80/tcp": [{"HostIp": "", "HostPort": "8080"}],
        "53/udp": [{"HostIp": "127.0.0.1", "HostPort": ""}],
        "9000": None}) == ["8080:80/tcp", "127.0.0.1::53/udp", "9000/tcp"]


def test_create_takes_dockers_body(ctx: Context, rootfs: Path, tmp_path: Path) -> None:
    host_dir = tmp_path / "data"
    host_dir.mkdir()
    cid = make(ctx, rootfs, name="web", Env=["A=1", "B"], Labels={"app": "x"},
               AttachStdout=True, HostConfig={
                   "NetworkMode": "none", "Binds": [f"{host_dir}:/data:ro"],
                   "Mounts": [{"Type": "tmpfs", "Target": "/scratch",
                               "TmpfsOptions": {"SizeBytes": 1 << 20, "Mode": 0o1777}}],
                   "RestartPolicy": {"Name": ""}})
    doc = containers.inspect(ctx, "web")
    assert doc["Id"] == cid and doc["Name"] == "/web"
    assert doc["Config"]["Env"][-2:] == ["A=1", "B="]  # nothing read from our environment
    assert doc["Config"]["AttachStdout"] and doc["Config"]["Labels"] == {"app": "x"}
    assert doc["HostConfig"]["RestartPolicy"]["Name"] == "no"
    mounts = {m["Destination"]: m for m in doc["Mounts"]}
    assert mounts["/data"]["Source"] == str(host_dir) and not mounts["/data"]["RW"]
    spec = json.loads(Path(ctx.root, "containers", cid, "bundle", "config.json").read_text())
    tmpfs = next(m for m in spec["mounts"] if m["destination"] == "/scratch")
    assert "size=1048576" in tmpfs["options"] and "mode=1777" in tmpfs["options"]
    assert doc["State"]["Status"] == "created"


def test_create_refuses_bad_bodies_and_leaves_nothing(ctx: Context, rootfs: Path) -> None:
    with pytest.raises(UsageError, match="Image"):
        containers.create(ctx, {"Cmd": ["true"]})
    with pytest.raises(UsageError, match="--restart and --rm"):
        make(ctx, rootfs, HostConfig={"AutoRemove": True,
                                      "RestartPolicy": {"Name": "always"}})
    with pytest.raises(UsageError, match="bind source path does not exist"):
        make(ctx, rootfs, HostConfig={"Mounts": [{"Type": "bind", "Source": "/no/such",
                                                  "Target": "/x"}]})
    with pytest.raises(NotFound):  # the API's create does not pull
        containers.create(ctx, {"Image": "nosuchimage:1"})
    assert containers.ls(ctx, all=True) == []
    assert volumes.ls(ctx)["Volumes"] == []


def test_create_warns_through_the_sink(ctx: Context, rootfs: Path) -> None:
    created = containers.create(ctx, {"Image": str(rootfs), "Cmd": ["true"], "HostConfig": {
        "NetworkMode": "host", "PortBindings": {"80/tcp": [{"HostPort": "8080"}]}}})
    assert created["Warnings"] == ["published ports are discarded when using host "
                                   "network mode"]
    assert isinstance(ctx.sink, Collect) and ctx.sink.warnings == created["Warnings"]


def test_default_runtime_of_the_context(tmp_path: Path, rootfs: Path) -> None:
    ctx = Context(str(tmp_path / "root"), runtime="runc")
    make(ctx, rootfs, name="r")
    assert containers.inspect(ctx, "r")["HostConfig"]["Runtime"] == "runc"


# ---- lookup, list, filters ----------------------------------------------------------------


def test_lookup_by_name_id_and_unique_prefix(ctx: Context, rootfs: Path) -> None:
    cid = make(ctx, rootfs, name="alpha")
    assert containers.find(ctx, "alpha").id == cid
    assert containers.find(ctx, "/alpha").id == cid
    assert containers.find(ctx, cid).id == cid
    assert containers.find(ctx, cid[:6]).id == cid
    with pytest.raises(NotFound):
        containers.inspect(ctx, "beta")


def test_ls_sorts_newest_first_and_filters(ctx: Context, rootfs: Path) -> None:
    first = make(ctx, rootfs, name="one", Labels={"tier": "web"})
    second = make(ctx, rootfs, name="two", Labels={"tier": "db"})
    set_state(ctx, second, Status="exited", ExitCode=3, StartedAt="2020-01-01T00:00:00Z",
              FinishedAt="2020-01-01T00:00:01Z")
    assert containers.ls(ctx) == []  # nothing runs
    listed = containers.ls(ctx, all=True)
    assert [c["Names"] for c in listed] == [["/two"], ["/one"]]
    assert listed[0]["Status"].startswith("Exited (3)") and listed[1]["Status"] == "Created"
    assert listed[0]["Image"] == str(rootfs) and isinstance(listed[0]["Created"], int)
    assert [c["Id"] for c in containers.ls(ctx, limit=1)] == [second]
    assert containers.ls(ctx, all=True, ids_only=True) == [{"Id": second}, {"Id": first}]
    assert [c["Id"] for c in containers.ls(ctx, filters={"label": ["tier=web"]},
                                           all=True)] == [first]
    # a status filter shows stopped ones without `all`; values of a key OR
    assert {c["Id"] for c in containers.ls(ctx, filters={"status": ["exited", "created"]})} \
        == {first, second}
    assert [c["Id"] for c in containers.ls(ctx, filters={"exited": ["3"]})] == [second]
    assert [c["Id"] for c in containers.ls(ctx, all=True, filters={"name": ["^on"]})] == [first]
    with pytest.raises(UsageError):
        containers.ls(ctx, filters={"colour": ["red"]})
    with pytest.raises(UsageError):
        containers.ls(ctx, filters={"status": ["sleeping"]})


# ---- state changes without a process --------------------------------------------------------


def test_stop_and_start_of_what_is_already_so(ctx: Context, rootfs: Path) -> None:
    cid = make(ctx, rootfs)
    with pytest.raises(NotModified):
        containers.stop(ctx, cid)
    with pytest.raises(Conflict, match="not running"):
        containers.kill(ctx, cid)
    with pytest.raises(Conflict, match="not running"):
        containers.pause(ctx, cid)
    with pytest.raises(Conflict, match="not running"):
        execs.create(ctx, cid, {"Cmd": ["true"]})
    with pytest.raises(Conflict):
        containers.attach(ctx, cid)
    with pytest.raises(NotFound):
        execs.inspect(ctx, "0" * 64)


def test_rename(ctx: Context, rootfs: Path) -> None:
    cid = make(ctx, rootfs, name="old")
    make(ctx, rootfs, name="taken")
    with pytest.raises(Conflict, match="already in use"):
        containers.rename(ctx, "old", "taken")
    with pytest.raises(UsageError):
        containers.rename(ctx, "old", "old")
    containers.rename(ctx, "old", "new")
    assert containers.find(ctx, "new").id == cid
    with pytest.raises(NotFound):
        containers.find(ctx, "old")


def test_wait_gives_the_exit_code(ctx: Context, rootfs: Path) -> None:
    cid = make(ctx, rootfs)
    set_state(ctx, cid, Status="exited", ExitCode=7)
    assert containers.wait(ctx, cid) == {"StatusCode": 7, "Error": None}
    with pytest.raises(UsageError):
        containers.wait(ctx, cid, condition="forever")


def test_prune_takes_the_stopped_ones_by_label(ctx: Context, rootfs: Path) -> None:
    keep = make(ctx, rootfs, Labels={"keep": "1"})
    gone = make(ctx, rootfs)
    Path(ctx.root, "containers", gone, "upper", "f").write_bytes(b"x" * 100)
    report = containers.prune(ctx, filters={"label!": ["keep"]})
    assert report == {"ContainersDeleted": [gone], "SpaceReclaimed": 100}
    assert [c["Id"] for c in containers.ls(ctx, all=True)] == [keep]
    with pytest.raises(UsageError):
        containers.prune(ctx, filters={"until": ["soon"]})
    with pytest.raises(UsageError):
        containers.prune(ctx, filters={"since": ["1h"]})
    assert containers.prune(ctx, filters={"until": ["1h"]})["ContainersDeleted"] == []


def test_stats_of_a_stopped_container(ctx: Context, rootfs: Path) -> None:
    cid = make(ctx, rootfs, name="s")
    doc = containers.stats(ctx, "s")
    assert doc["id"] == cid and doc["name"] == "/s"
    assert doc["cpu_stats"]["cpu_usage"]["total_usage"] == 0
    assert doc["cpu_stats"]["system_cpu_usage"] > 0 and doc["memory_stats"] == {}


def test_diff_of_the_upper_dir(ctx: Context, rootfs: Path) -> None:
    cid = make(ctx, rootfs)
    upper = Path(ctx.root, "containers", cid, "upper")
    (upper / "etc").mkdir()
    (upper / "etc" / "passwd").write_text("changed\n")
    (upper / "new").write_text("added\n")
    changes = containers.diff(ctx, cid)
    assert {"Path": "/etc/passwd", "Kind": 0} in changes
    assert {"Path": "/new", "Kind": 1} in changes


# ---- volumes, df, inspect of anything -----------------------------------------------------


def test_volumes_list_filters_and_prune(ctx: Context, rootfs: Path) -> None:
    volumes.create(ctx, "named", labels={"a": "1"})
    volumes.create(ctx, "spare")
    cid = make(ctx, rootfs, HostConfig={"Binds": ["named:/n", "/anon"]})
    anonymous = next(m["Name"] for m in containers.inspect(ctx, cid)["Mounts"]
                     if m["Destination"] == "/anon")
    names = [v["Name"] for v in volumes.ls(ctx)["Volumes"]]
    assert sorted(names) == sorted(["named", "spare", anonymous])
    assert [v["Name"] for v in volumes.ls(ctx, filters={"label": ["a=1"]})["Volumes"]] == \
        ["named"]
    assert [v["Name"] for v in volumes.ls(ctx, filters={"dangling": ["true"]})["Volumes"]] \
        == ["spare"]
    assert volumes.prune(ctx)["VolumesDeleted"] == []  # anonymous ones only, unused only
    assert volumes.prune(ctx, all=True)["VolumesDeleted"] == ["spare"]
    with pytest.raises(Conflict, match="in use"):
        volumes.remove(ctx, "named")
    containers.remove(ctx, cid, volumes=True)
    assert [v["Name"] for v in volumes.ls(ctx)["Volumes"]] == ["named"]


def test_df_counts_what_is_used(ctx: Context, rootfs: Path) -> None:
    volumes.create(ctx, "v")
    cid = make(ctx, rootfs, HostConfig={"Binds": ["v:/v"]})
    Path(ctx.root, "containers", cid, "upper", "f").write_bytes(b"y" * 10)
    Path(ctx.root, "volumes", "v", "_data", "g").write_bytes(b"z" * 5)
    usage = system.df(ctx)
    assert [c["SizeRw"] for c in usage["Containers"]] == [10]
    assert usage["Volumes"][0]["UsageData"] == {"Size": 5, "RefCount": 1}
    assert usage["Images"] == [] and usage["LayersSize"] == 0


def test_inspect_of_any_object_in_dockers_order(ctx: Context, rootfs: Path) -> None:
    make(ctx, rootfs, name="same")
    volumes.create(ctx, "same")
    volumes.create(ctx, "vol")
    assert system.inspect(ctx, "same")[0] == "container"
    assert system.inspect(ctx, "same", kind="volume")[0] == "volume"
    assert system.inspect(ctx, "vol")[0] == "volume"
    with pytest.raises(NotFound, match="no such object"):
        system.inspect(ctx, "nothing")
    with pytest.raises(NotFound):
        system.inspect(ctx, "vol", kind="container")
    with pytest.raises(UsageError):
        system.inspect(ctx, "vol", kind="plugin")


def test_version_and_info_shapes(ctx: Context, rootfs: Path) -> None:
    make(ctx, rootfs)
    version = system.version(ctx)
    assert version["ApiVersion"] == "1.41" and version["Os"] == "linux"
    assert version["Arch"] in ("amd64", "arm64") or version["Arch"] == os.uname().machine
    info = system.info(ctx)
    assert info["Containers"] == info["ContainersStopped"] == 1
    assert info["DockerRootDir"] == ctx.root


# ---- what the API server needs of the service ------------------------------------------------


def test_port_bindings_back_to_dockers_map() -> None:
    specs = ["8080:80/tcp", "127.0.0.1::53/udp", "9000/tcp", "7000-7001:7000-7001/tcp"]
    assert containers.port_bindings(specs) == {
        "80/tcp": [{"HostIp": "", "HostPort": "8080"}],
        "53/udp": [{"HostIp": "127.0.0.1", "HostPort": ""}],
        "9000/tcp": [{"HostIp": "", "HostPort": ""}],
        "7000/tcp": [{"HostIp": "", "HostPort": "7000"}],
        "7001/tcp": [{"HostIp": "", "HostPort": "7001"}]}
    assert containers.port_specs(containers.port_bindings(specs[:3])) == specs[:3]


def test_inspect_shows_dockers_port_bindings(ctx: Context, rootfs: Path) -> None:
    make(ctx, rootfs, name="p", HostConfig={
        "NetworkMode": "bridge",
        "PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}})
    assert containers.inspect(ctx, "p")["HostConfig"]["PortBindings"] == \
        {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}


def test_a_created_container_shows_the_networks_it_will_join() -> None:
    """As Docker's inspect: compose connects only what is not there (with the short id
    among the aliases)."""
    from minidocker.engine.networking import settings_doc
    cid = "ab" * 32
    config = {"Id": cid, "HostConfig": {"NetworkMode": "appnet"},
              "NetworkingConfig": {"EndpointsConfig": {
                  "appnet": {"Aliases": ["web"]},
                  "other": {"IPAMConfig": {"IPv4Address": "10.1.2.3"}}}}}
    networks = settings_doc(config, {"Status": "created"})["Networks"]
    assert sorted(networks) == ["appnet", "other"]
    assert networks["appnet"]["Aliases"] == ["web", cid[:12]]
    assert networks["other"]["IPAMConfig"] == {"IPv4Address": "10.1.2.3"}
    assert networks["appnet"]["IPAddress"] == ""
    bridge = settings_doc({"Id": cid, "HostConfig": {"NetworkMode": "bridge"}},
                          {"Status": "created"})["Networks"]
    assert list(bridge) == ["bridge"] and bridge["bridge"]["Aliases"] is None


def test_every_label_filter_must_hold(ctx: Context, rootfs: Path) -> None:
    both = make(ctx, rootfs, Labels={"project": "p", "oneoff": "False"})
    make(ctx, rootfs, Labels={"project": "p", "oneoff": "True"})
    found = containers.ls(ctx, all=True, filters={"label": ["project=p", "oneoff=False"]})
    assert [c["Id"] for c in found] == [both]


def test_create_refuses_an_unknown_restart_policy(ctx: Context, rootfs: Path) -> None:
    with pytest.raises(UsageError, match="restart policy 'sometimes'"):
        make(ctx, rootfs, HostConfig={"NetworkMode": "none",
                                      "RestartPolicy": {"Name": "sometimes"}})
    assert containers.ls(ctx, all=True) == []


def test_wait_ends_when_told(ctx: Context, rootfs: Path) -> None:
    cid = make(ctx, rootfs)
    from minidocker.engine.lifecycle import proc_stat
    me = proc_stat(os.getpid())
    assert me is not None  # this process stands in for the init and its monitor
    set_state(ctx, cid, Status="running", Pid=os.getpid(), PidStart=me[1],
              MonitorPid=os.getpid(), MonitorStart=me[1])
    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    assert containers.wait(ctx, cid, stop=stop)["StatusCode"] == -1


def test_update_of_a_stopped_container_keeps_it_for_the_next_start(ctx: Context,
                                                                   rootfs: Path) -> None:
    cid = make(ctx, rootfs, HostConfig={"Memory": 64 << 20, "NetworkMode": "none"})
    # Docker's client sends every key, zero where not asked: those keep the container's
    body = {"Memory": 128 << 20, "CpuShares": 0, "NanoCpus": 5 * 10**8, "PidsLimit": 30,
            "BlkioWeight": 0, "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 2},
            "OomKillDisable": None, "Devices": None}
    assert containers.update(ctx, cid, body) == {"Warnings": []}
    host = containers.inspect(ctx, cid)["HostConfig"]
    assert (host["Memory"], host["NanoCpus"], host["PidsLimit"]) == (128 << 20, 5 * 10**8, 30)
    assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    spec = json.loads((Path(ctx.root) / "containers" / cid / "bundle" /
                       "config.json").read_text())
    assert spec["linux"]["resources"]["memory"]["limit"] == 128 << 20
    assert spec["linux"]["resources"]["pids"] == {"limit": 30}
    assert spec["linux"]["resources"]["cpu"]["quota"] == 50000
    containers.update(ctx, cid, {"PidsLimit": -1})  # unlimited again
    assert containers.inspect(ctx, cid)["HostConfig"]["PidsLimit"] is None


def test_update_refuses_what_docker_refuses(ctx: Context, rootfs: Path) -> None:
    cid = make(ctx, rootfs, HostConfig={"Memory": 64 << 20, "MemorySwap": 96 << 20,
                                        "NetworkMode": "none"})
    with pytest.raises(UsageError, match="Minimum memory limit allowed is 6MB"):
        containers.update(ctx, cid, {"Memory": 100})
    with pytest.raises(UsageError, match="smaller than already set memoryswap"):
        containers.update(ctx, cid, {"Memory": 128 << 20})
    with pytest.raises(UsageError, match="not supported"):
        containers.update(ctx, cid, {"Privileged": True})
    with pytest.raises(UsageError, match="invalid restart policy 'sometimes'"):
        containers.update(ctx, cid, {"RestartPolicy": {"Name": "sometimes"}})
    auto = make(ctx, rootfs, HostConfig={"AutoRemove": True, "NetworkMode": "none"})
    with pytest.raises(Conflict, match="AutoRemove"):
        containers.update(ctx, auto, {"RestartPolicy": {"Name": "always"}})
    with pytest.raises(NotFound):
        containers.update(ctx, "nosuch", {"Memory": 128 << 20})
    assert containers.inspect(ctx, cid)["HostConfig"]["Memory"] == 64 << 20
