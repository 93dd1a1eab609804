"""The Docker SDK for Python (PyPI `docker`) on minidocker's API: what a test suite or a
script written for Docker does."""

from __future__ import annotations

import io
import tarfile
import time

import pytest

from tests.integration.api.conftest import Service


def last_subnet(service: Service) -> str:
    """The last /24 of the root's private pool (tests/integration/network/private.py):
    ours alone, and not the first that the pool hands out."""
    import ipaddress
    import json
    config = json.loads((service.root / "network" / "config.json").read_text())
    pool = ipaddress.ip_network(config["pools"][0]["base"])
    return str(list(pool.subnets(new_prefix=24))[-1])


def test_sdk_container_life(service: Service) -> None:
    client = service.client()
    assert client.ping() is True
    assert client.version()["ApiVersion"] == "1.41"
    out = client.containers.run("busybox", ["sh", "-c", "echo hello; echo oops >&2"],
                                remove=True, stderr=True)
    assert out == b"hello\noops\n"
    box = client.containers.run("busybox", ["sh", "-c", "echo ready; sleep 60"], detach=True,
                                name="sdkbox", labels={"suite": "api"},
                                environment={"GREETING": "hi"})
    assert box.status in ("created", "running")
    box.reload()
    assert box.status == "running"
    assert box.labels == {"suite": "api"}
    assert [c.name for c in client.containers.list(filters={"label": "suite=api"})] == ["sdkbox"]
    assert client.containers.list(filters={"label": "suite=other"}) == []
    deadline = time.monotonic() + 10
    while b"ready" not in box.logs() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert box.logs() == b"ready\n"
    code, output = box.exec_run(["sh", "-c", "echo $GREETING; exit 4"])
    assert (code, output) == (4, b"hi\n")
    code, (out, err) = box.exec_run(["sh", "-c", "echo o; echo e >&2"], demux=True)
    assert (code, out, err) == (0, b"o\n", b"e\n")
    stats = box.stats(stream=False)
    assert stats["pids_stats"]["current"] >= 1 and "memory_stats" in stats
    assert "sleep 60" in str(box.top()["Processes"])
    box.pause()
    box.reload()
    assert box.status == "paused"
    box.unpause()
    box.rename("sdkbox2")
    box.reload()
    assert box.name == "sdkbox2"
    box.kill(signal="SIGKILL")
    assert box.wait(timeout=30)["StatusCode"] == 137
    box.remove()
    import docker.errors
    with pytest.raises(docker.errors.NotFound):
        client.containers.get("sdkbox2")


def test_sdk_archive_and_changes(service: Service) -> None:
    client = service.client()
    box = client.containers.run("busybox", ["sleep", "60"], detach=True)
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        payload = b"put by the SDK\n"
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    assert box.put_archive("/tmp", data.getvalue()) is True
    assert box.exec_run(["cat", "/tmp/hello.txt"]).output == b"put by the SDK\n"
    stream, stat = box.get_archive("/tmp/hello.txt")
    assert stat["name"] == "hello.txt" and stat["size"] == len(payload)
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
        member = tar.extractfile("hello.txt")
        assert member is not None and member.read() == payload
    assert {"Path": "/tmp/hello.txt", "Kind": 1} in box.diff()
    exported = b"".join(box.export())
    with tarfile.open(fileobj=io.BytesIO(exported)) as tar:
        names = [n.removeprefix("./") for n in tar.getnames()]
        assert "bin/busybox" in names and "tmp/hello.txt" in names
    box.remove(force=True)


def test_sdk_images_networks_volumes(service: Service) -> None:
    client = service.client()
    image = client.images.get("busybox")
    assert "busybox:latest" in image.tags
    assert image.tag("sdk/bb", "one") is True
    assert "sdk/bb:one" in client.images.get("sdk/bb:one").tags
    assert client.images.get(image.id).id == image.id
    history = image.history()
    assert history and "Created" in history[0]
    saved = b"".join(client.images.get("sdk/bb:one").save(named="sdk/bb:one"))
    client.images.remove("sdk/bb:one")
    [loaded] = client.images.load(saved)
    assert "sdk/bb:one" in loaded.tags
    import docker.types
    subnet = last_subnet(service)
    ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=subnet)])
    net = client.networks.create(f"{service.engine.net_tag}s", ipam=ipam,
                                 labels={"made": "sdk"})
    assert net.attrs["IPAM"]["Config"][0]["Subnet"] == subnet
    assert net.attrs["Labels"] == {"made": "sdk"}
    vol = client.volumes.create("sdkvol", labels={"k": "v"})
    assert vol.attrs["Labels"] == {"k": "v"}
    box = client.containers.run("busybox", ["sleep", "60"], detach=True,
                                volumes={"sdkvol": {"bind": "/v", "mode": "rw"}})
    net.connect(box)
    net.reload()
    assert [c.id for c in net.containers] == [box.id]
    net.disconnect(box)
    box.remove(force=True)
    vol.remove()
    net.remove()
    report = client.containers.prune()
    assert report["SpaceReclaimed"] >= 0
    assert client.volumes.prune()["VolumesDeleted"] in (None, [])
    assert client.df()["Images"]
    assert client.info()["Images"] >= 1


def test_sdk_detached_exec_is_inspectable_to_its_end(service: Service) -> None:
    """exec_start(detach=True), then exec_inspect: running with its pid, listed in the
    container's ExecIDs, then ended with its exit code, as dockerd reports it; one that
    cannot start is an error with 127 recorded. The CLI's exec -d the same."""
    import docker
    client = service.client()
    api = client.api
    container = client.containers.run("busybox", ["sleep", "60"], detach=True)
    try:
        exec_id = api.exec_create(container.id, ["sh", "-c", "while [ ! -e /tmp/go ]; do "
                                                 "sleep 0.05; done; exit 3"])["Id"]
        assert not api.exec_start(exec_id, detach=True)  # (the SDK returns "")
        info = api.exec_inspect(exec_id)
        assert info["Running"] is True and info["ExitCode"] is None and info["Pid"] > 0
        assert exec_id in client.containers.get(container.id).attrs["ExecIDs"]
        container.exec_run(["touch", "/tmp/go"])
        deadline = time.monotonic() + 30
        while api.exec_inspect(exec_id)["Running"] and time.monotonic() < deadline:
            time.sleep(0.05)
        info = api.exec_inspect(exec_id)
        assert (info["Running"], info["ExitCode"]) == (False, 3)
        assert not client.containers.get(container.id).attrs["ExecIDs"]

        bad = api.exec_create(container.id, ["no-such-program"])["Id"]
        with pytest.raises(docker.errors.APIError, match="executable file not found"):
            api.exec_start(bad, detach=True)
        assert (api.exec_inspect(bad)["Running"], api.exec_inspect(bad)["ExitCode"]) == \
            (False, 127)

        # the CLI's exec -d: its error and exit code, and nothing of the watcher left
        cli = service.engine.run("exec", "-d", container.id, "no-such-program")
        assert cli.returncode == 127 and "executable file not found" in cli.stderr
        for _ in range(20):  # a process that ends before the watcher looks ran all the same
            quick = service.engine.run("exec", "-d", container.id, "true")
            assert quick.returncode == 0, quick.stderr
        leftovers = [p.name for p in (service.root / "containers" / container.id).iterdir()
                     if p.name.startswith("exec-")]
        deadline = time.monotonic() + 10
        while leftovers and time.monotonic() < deadline:
            time.sleep(0.05)
            leftovers = [p.name for p in (service.root / "containers" / container.id)
                         .iterdir() if p.name.startswith("exec-")]
        assert leftovers == []
    finally:
        container.remove(force=True)
