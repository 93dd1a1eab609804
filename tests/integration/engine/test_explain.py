"""`minidocker explain`: what isolates a running container, as the kernel shows it in
/proc (and nftables): the limit, the mounts, the capabilities, the namespaces, seccomp
and the published port agree with what the test reads itself."""

from __future__ import annotations

import json
import os
import re
import socket
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.integration.engine.conftest import Engine

PROFILE = {"defaultAction": "SCMP_ACT_ALLOW",
           "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_web(engine: Engine, tmp_path: Path, name: str, *extra: str) -> tuple[str, int, Path]:
    """A container with a memory limit, a read-only bind mount, a published port and a
    custom seccomp profile, serving HTTP: (id, host port, bind source)."""
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "index.html").write_text("hello from the bind mount\n")
    profile = tmp_path / "profile.json"
    profile.write_text(json.dumps(PROFILE))
    port = free_port()
    cid = engine.ok("run", "-d", "--name", name, "-m", "48m", "-v", f"{shared}:/www:ro",
                    "-p", f"127.0.0.1:{port}:80", "--security-opt", f"seccomp={profile}",
                    *extra, engine.image, "httpd", "-f", "-p", "80", "-h", "/www").strip()
    return cid, port, shared


def facts(doc: dict[str, Any], topic: str) -> list[dict[str, Any]]:
    return [f for f in doc["Facts"] if f["Topic"] == topic]


def status_of(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {k: v.strip() for k, _, v in (line.partition(":") for line in lines)}


def test_explain_agrees_with_the_kernel(engine: Engine, tmp_path: Path) -> None:
    cid, port, shared = start_web(engine, tmp_path, "explained")
    pid = engine.inspect(cid)["State"]["Pid"]
    doc = json.loads(engine.ok("explain", "explained", "--format", "json"))
    assert (doc["Id"], doc["Name"], doc["Pid"]) == (cid, "explained", pid)

    # namespaces: the inodes of /proc/PID/ns, private ones differ from the host's
    for fact in facts(doc, "namespaces"):
        kind = fact["Subject"].split()[0]
        assert fact["Namespace"] == os.readlink(f"/proc/{pid}/ns/{kind}")
        assert fact["Private"] == (fact["Namespace"] != os.readlink(f"/proc/self/ns/{kind}"))
    private = {f["Subject"].split()[0] for f in facts(doc, "namespaces") if f["Private"]}
    assert {"mnt", "pid", "net", "ipc", "uts"} <= private

    # the memory limit: 48m in the file the kernel enforces, found from /proc/PID/cgroup
    memory_path = next(line.split(":", 2)[2] for line in
                       Path(f"/proc/{pid}/cgroup").read_text().splitlines()
                       if "memory" in line.split(":")[1].split(","))
    limit_file = f"/sys/fs/cgroup/memory{memory_path}/memory.limit_in_bytes"
    limit = next(f for f in facts(doc, "cgroups") if f["Subject"] == "memory.limit_in_bytes")
    assert limit["File"] == limit_file
    assert limit["Raw"] == Path(limit_file).read_text().strip() == str(48 * 1024 * 1024)
    assert "64 MiB" not in limit["Value"] and "48 MiB" in limit["Value"]

    # mounts: exactly the container's mount table, the bind mount read-only from its source
    table = [line.split(" - ")[0].split() for line in
             Path(f"/proc/{pid}/mountinfo").read_text().splitlines()]
    assert [f["Target"] for f in facts(doc, "mounts")] == [fields[4] for fields in table]
    www = next(f for f in facts(doc, "mounts") if f["Target"] == "/www")
    assert www["Root"] == str(shared) and www["ReadOnly"] is True
    assert "bind mount" in www["Explanation"]
    root = next(f for f in facts(doc, "mounts") if f["Target"] == "/")
    assert root["Type"] == "overlay"
    assert [layer["Position"] for layer in root["Layers"]] == ["lower 1 of 1 (topmost first)",
                                                                "upper"]
    assert root["Layers"][0]["Dir"] == engine.image

    # capabilities by name, from the masks in /proc/PID/status
    status = status_of(pid)
    caps = {f["Subject"]: f for f in facts(doc, "capabilities")}
    assert caps["effective"]["Mask"] == status["CapEff"]
    assert len(caps["effective"]["Capabilities"]) == bin(int(status["CapEff"], 16)).count("1")
    assert "CAP_NET_BIND_SERVICE" in caps["effective"]["Capabilities"]
    assert "CAP_SYS_ADMIN" in caps["dropped"]["Capabilities"]
    assert "CAP_SYS_ADMIN" not in caps["bounding"]["Capabilities"]

    security = {f["Subject"]: f for f in facts(doc, "security")}
    assert security["seccomp"]["Mode"] == "filter"
    assert security["seccomp"]["Filters"] == int(status["Seccomp_filters"]) >= 1
    assert security["no_new_privs"]["Enabled"] is (status["NoNewPrivs"] == "1")

    # network: eth0's address from netlink in its namespace; the port the kernel forwards
    eth0 = next(f for f in facts(doc, "network") if f["Subject"] == "eth0")
    ip = engine.inspect(cid)["NetworkSettings"]["IPAddress"]
    assert any(a.startswith(f"{ip}/") for a in eth0["Addresses"])
    assert any(f["Subject"] == "route" and f["Destination"] == "default"
               for f in facts(doc, "network"))
    ports = [f for f in facts(doc, "network") if f["Subject"] == "published port"]
    assert [(p["HostIp"], p["HostPort"], p["ContainerIp"], p["ContainerPort"], p["Protocol"])
            for p in ports] == [("127.0.0.1", port, ip, 80, "tcp")]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(b"GET /index.html HTTP/1.0\r\n\r\n")
        reply = b""
        while chunk := conn.recv(4096):
            reply += chunk
    assert b"hello from the bind mount" in reply

    # every fact is explained and points to a section of docs/isolation.md that exists
    page = (REPO / "docs" / "isolation.md").read_text()
    anchors = {re.sub(r"[^a-z0-9_ -]", "", h.lower()).replace(" ", "-")
               for h in re.findall(r"^## (.+)$", page, re.M)}
    for fact in doc["Facts"]:
        assert fact["Explanation"]
        path, _, anchor = fact["Docs"].partition("#")
        assert path == "docs/isolation.md" and anchor in anchors, fact


def test_explain_text_explains_each_line(engine: Engine, tmp_path: Path) -> None:
    start_web(engine, tmp_path, "texty", "--security-opt", "no-new-privileges")
    out = engine.ok("explain", "texty")
    assert out.startswith("Container ")
    for heading in ("Namespaces", "Cgroups", "Mounts", "Capabilities", "Network"):
        assert f"\n{heading}" in out
    assert re.search(r"no_new_privs +on\n", out)
    assert re.search(r"published port +127\.0\.0\.1:\d+ -> [\d.]+:80/tcp", out)
    explained = [line for line in out.splitlines() if "[docs/isolation.md#" in line]
    assert len(explained) > 30


@pytest.mark.parametrize("setup, message", [
    ([], "no such container"),
    (["create"], "is not running"),
])
def test_explain_refuses_what_it_cannot_read(engine: Engine, setup: list[str],
                                             message: str) -> None:
    if setup:
        engine.ok("create", "--name", "idle", engine.image, "true")
    result = engine.run("explain", "idle")
    assert result.returncode == 1
    assert result.stderr.startswith("minidocker: error:") and message in result.stderr
    assert "Traceback" not in result.stderr
