"""A Kubernetes pod on each runtime, driven as kubelet does it: the CRI API (runtime.v1,
gRPC over containerd's socket) with a RuntimeClass handler per runtime (runtime_type
io.containerd.runc.v2 with BinaryName, see daemons.Containerd), a pod sandbox on the
node's network (no CNI here) from a pause image made locally, and two containers that
talk over localhost and share the pod's PID and IPC namespaces.

The client is generated at test time by grpc_tools.protoc from cri/runtime_v1.proto,
the subset of the CRI definitions this test uses."""

from __future__ import annotations

import importlib
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.integration.clients.daemons import IMAGE, Containerd, wait_until
from tests.integration.clients.scenarios import HTTPD

PROTO = Path(__file__).resolve().parent / "cri" / "runtime_v1.proto"
K8S_NAMESPACE = "k8s.io"  # where the CRI plugin keeps its images, sandboxes, containers


@pytest.fixture(scope="module")
def cri(containerd: Containerd, image_archive: Path,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    grpc = pytest.importorskip("grpc", reason="grpcio is a dev dependency (pyproject)")
    out = tmp_path_factory.mktemp("cri-client")
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", f"-I{PROTO.parent}",
                    f"--python_out={out}", f"--grpc_python_out={out}", PROTO.name],
                   check=True)
    sys.path.insert(0, str(out))
    try:
        pb = importlib.import_module("runtime_v1_pb2")
        pb_grpc = importlib.import_module("runtime_v1_pb2_grpc")
    finally:
        sys.path.remove(str(out))
    # the images, where the CRI plugin looks for them (the sandbox image included)
    containerd.ok("images", "import", str(image_archive), namespace=K8S_NAMESPACE)
    channel = grpc.insecure_channel(f"unix://{containerd.sock}")
    try:
        yield SimpleNamespace(pb=pb, api=pb_grpc.RuntimeServiceStub(channel))
    finally:
        channel.close()
        containerd.remove_all(namespace=K8S_NAMESPACE)


def test_cri_version(cri: SimpleNamespace) -> None:
    version = cri.api.Version(cri.pb.VersionRequest(version="v1"), timeout=30)
    assert version.runtime_name == "containerd" and version.runtime_api_version == "v1"


def wait_exited(cri: SimpleNamespace, cid: str) -> Any:
    def exited() -> bool:
        status = cri.api.ContainerStatus(cri.pb.ContainerStatusRequest(container_id=cid),
                                         timeout=30).status
        return bool(status.state == cri.pb.CONTAINER_EXITED)

    wait_until(exited, 120, f"container {cid[:12]} exited")
    return cri.api.ContainerStatus(cri.pb.ContainerStatusRequest(container_id=cid),
                                   timeout=30).status


def test_pod_of_two_containers(containerd: Containerd, cri: SimpleNamespace, runtime: str,
                               tmp_path: Path) -> None:
    pb, api = cri.pb, cri.api
    uid = uuid.uuid4().hex
    logs = tmp_path / "logs"
    logs.mkdir()
    ns_opts = pb.NamespaceOption(network=pb.NODE, pid=pb.POD, ipc=pb.POD)
    sandbox = pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(name="web", uid=uid, namespace="default"),
        log_directory=str(logs),
        linux=pb.LinuxPodSandboxConfig(
            cgroup_parent=f"/{containerd.namespace}/pod{uid[:12]}",  # kubelet's cgroupfs form
            security_context=pb.LinuxSandboxSecurityContext(namespace_options=ns_opts)))
    sid = api.RunPodSandbox(pb.RunPodSandboxRequest(config=sandbox, runtime_handler=runtime),
                            timeout=120).pod_sandbox_id
    try:
        # the handler's runtime made the sandbox: its state is in that handler's Root
        assert (containerd.base / f"cri-root-{runtime}" / K8S_NAMESPACE / sid).is_dir()

        def start(name: str, script: str) -> str:
            config = pb.ContainerConfig(
                metadata=pb.ContainerMetadata(name=name), image=pb.ImageSpec(image=IMAGE),
                command=["sh", "-c", script], log_path=f"{name}.log",
                linux=pb.LinuxContainerConfig(
                    resources=pb.LinuxContainerResources(
                        memory_limit_in_bytes=48 << 20, cpu_shares=2,
                        cpu_period=100000, cpu_quota=50000),
                    security_context=pb.LinuxContainerSecurityContext(
                        namespace_options=ns_opts)))
            cid = api.CreateContainer(pb.CreateContainerRequest(
                pod_sandbox_id=sid, config=config, sandbox_config=sandbox),
                timeout=120).container_id
            api.StartContainer(pb.StartContainerRequest(container_id=cid), timeout=120)
            return str(cid)

        port = random.randrange(30000, 40000)  # the node's loopback: host network
        server = start("server", HTTPD.format(text=f"pod-{uid[:6]}",
                                              addr=f"127.0.0.1:{port}"))
        client = start("client", f"for i in $(seq 600); do "
                       f"wget -qO- http://127.0.0.1:{port}/ && break; sleep 0.1; done")
        status = wait_exited(cri, client)
        assert status.exit_code == 0, status
        # CRI's log format: "<time> stdout F <line>"
        deadline = time.monotonic() + 10
        while f"pod-{uid[:6]}" not in (logs / "client.log").read_text() and \
                time.monotonic() < deadline:
            time.sleep(0.1)
        assert f"stdout F pod-{uid[:6]}" in (logs / "client.log").read_text()
        # the server's view: the pod's PID namespace (the sandbox's pause process), its
        # cgroup limits through the read-only cgroup mount
        res = api.ExecSync(pb.ExecSyncRequest(container_id=server, timeout=30, cmd=[
            "sh", "-c", "ps -o comm | sort -u | tr '\\n' ' '; echo; "
            "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.shares; "
            "touch /sys/fs/cgroup/cpu/x || echo read-only"]), timeout=60)
        lines = res.stdout.decode().splitlines()
        assert res.exit_code == 0, res
        assert "sleep" in lines[0] and "httpd" in lines[0], lines  # sleep: the pause
        assert lines[1:] == [str(48 << 20), "2", "read-only"], lines
        failing = api.ExecSync(pb.ExecSyncRequest(container_id=server, cmd=["sh", "-c",
                                                                            "exit 7"]),
                               timeout=60)
        assert failing.exit_code == 7
        api.StopContainer(pb.StopContainerRequest(container_id=server, timeout=2),
                          timeout=60)
        assert wait_exited(cri, server).state == pb.CONTAINER_EXITED
        for cid in (client, server):
            api.RemoveContainer(pb.RemoveContainerRequest(container_id=cid), timeout=60)
    finally:
        api.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=sid), timeout=120)
        api.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=sid), timeout=120)
    assert not (containerd.base / f"cri-root-{runtime}" / K8S_NAMESPACE / sid).exists()
