"""Debian's docker client (20.10, API 1.41) driving minidocker through
`minidocker system service`: the commands a Docker user types, unchanged."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from tests.conftest import drive_pty
from tests.integration.api.conftest import Service, minidocker
from tests.integration.image.conftest import Registry


def drive(service: Service, args: list[str], lines: list[bytes],
          rows_cols: tuple[int, int] = (30, 100)) -> tuple[str, int]:
    """Run `docker ARGS` on a pseudo-terminal, typing `lines` one by one."""
    from tests.integration.api.conftest import DOCKER
    out, code = drive_pty([DOCKER, *args], lines, rows_cols, env=service.env)
    return out.decode(errors="replace"), code


def test_run_foreground_output_and_exit_code(service: Service) -> None:
    result = service.docker("run", "--rm", "busybox", "sh", "-c",
                            "echo out; echo err >&2; exit 3")
    assert (result.stdout, result.stderr, result.returncode) == ("out\n", "err\n", 3)
    assert service.ok("ps", "-aq") == ""


def test_run_default_command_and_missing_command(service: Service) -> None:
    assert service.docker("run", "--rm", "busybox", "true").returncode == 0
    result = service.docker("run", "--rm", "busybox", "no-such-program")
    assert result.returncode == 127
    assert "no-such-program" in result.stderr
    result = service.docker("run", "--rm", "no-such-image:1")
    assert result.returncode == 125
    assert result.stderr.count("\n") <= 3, result.stderr


def test_run_i_stdin_half_close_reaches_the_container(service: Service) -> None:
    result = service.docker("run", "-i", "--rm", "busybox", "sh", "-c", "cat; echo done",
                            input=b"one\ntwo\n")
    assert (result.stdout, result.returncode) == ("one\ntwo\ndone\n", 0)


def test_run_it_under_a_pty(service: Service) -> None:
    text, code = drive(service, ["run", "-it", "--rm", "busybox", "sh"],
                       [b"tty; stty size; echo $((6*7))\r", b"exit 5\r"])
    assert "/dev/pts/0" in text
    assert "30 100" in text
    assert "42" in text
    assert code == 5


def test_detached_life_ps_logs_exec_stop_rm(service: Service) -> None:
    cid = service.ok("run", "-d", "--name", "web", "busybox", "sh", "-c",
                     "echo started; trap 'echo bye; exit 0' TERM; "
                     "while true; do sleep 0.1; done").strip()
    assert len(cid) == 64
    ps = service.ok("ps", "--format", "{{.ID}} {{.Names}} {{.Image}} {{.Status}}")
    assert ps.startswith(f"{cid[:12]} web busybox Up")
    deadline = time.monotonic() + 10
    while "started" not in service.ok("logs", "web") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert service.ok("logs", "web") == "started\n"
    assert service.ok("exec", "web", "sh", "-c", "echo $((40+2))") == "42\n"
    assert service.docker("exec", "web", "sh", "-c", "exit 7").returncode == 7
    assert service.ok("inspect", "-f", "{{.State.Status}} {{.Name}}", "web") == \
        "running /web\n"
    assert service.ok("stop", "web") == "web\n"
    assert service.ok("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "web") == \
        "exited 0\n"
    assert "bye" in service.ok("logs", "web")
    assert service.ok("rm", "web") == "web\n"
    assert service.ok("ps", "-aq") == ""
    result = service.docker("rm", "web")
    assert result.returncode == 1 and "No such container: web" in result.stderr


def test_logs_follow_until_exit(service: Service) -> None:
    service.ok("run", "-d", "--name", "counter", "busybox", "sh", "-c",
               "for i in 1 2 3; do echo line$i; sleep 0.3; done")
    result = service.docker("logs", "-f", "-t", "counter", timeout=60)
    lines = result.stdout.splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == ["line1", "line2", "line3"]
    assert all(line[:4].isdigit() and "T" in line.split(" ")[0] for line in lines)
    assert service.ok("logs", "--tail", "1", "counter") == "line3\n"


def test_exec_it_under_a_pty(service: Service) -> None:
    service.ok("run", "-d", "--name", "box", "busybox", "sleep", "60")
    text, code = drive(service, ["exec", "-it", "box", "sh"],
                       [b"tty; stty size; echo $((2*21))\r", b"exit 3\r"], (20, 70))
    assert "/dev/pts/" in text and "20 70" in text and "42" in text
    assert code == 3


def test_cp_both_ways(service: Service, tmp_path: Path) -> None:
    service.ok("run", "-d", "--name", "box", "busybox", "sleep", "60")
    src = tmp_path / "in.txt"
    src.write_text("from the host\n")
    service.ok("cp", str(src), "box:/tmp/in.txt")
    assert service.ok("exec", "box", "cat", "/tmp/in.txt") == "from the host\n"
    service.ok("exec", "box", "sh", "-c", "mkdir -p /data/sub && echo deep > /data/sub/f")
    service.ok("cp", "box:/data", str(tmp_path / "out"))
    assert (tmp_path / "out" / "sub" / "f").read_text() == "deep\n"
    result = service.docker("cp", "box:/no/such", str(tmp_path / "x"))
    assert result.returncode == 1 and "no/such" in result.stderr


def test_stats_no_stream_and_top(service: Service) -> None:
    service.ok("run", "-d", "--name", "box", "busybox", "sleep", "60")
    out = service.ok("stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", "box")
    assert out.split() == ["box", "1"]
    top = service.ok("top", "box")
    assert "sleep 60" in top


def test_images_tag_save_load_rmi(service: Service, tmp_path: Path) -> None:
    assert "busybox" in service.ok("images", "--format", "{{.Repository}}:{{.Tag}}")
    service.ok("tag", "busybox", "mine/bb:v1")
    assert "mine/bb:v1" in service.ok("images", "--format", "{{.Repository}}:{{.Tag}}")
    archive = tmp_path / "bb.tar"
    service.ok("save", "-o", str(archive), "mine/bb:v1")
    assert archive.stat().st_size > 100_000
    assert "Untagged: mine/bb:v1" in service.ok("rmi", "mine/bb:v1")
    out = service.ok("load", "-i", str(archive))
    assert "Loaded image: mine/bb:v1" in out
    assert service.ok("run", "--rm", "mine/bb:v1", "echo", "loaded") == "loaded\n"
    result = service.docker("rmi", "no/such:image")
    assert result.returncode == 1 and "No such image" in result.stderr


def test_pull_and_push_with_a_local_registry(service: Service, registry: Registry) -> None:
    addr = registry.addr
    ref = f"{addr}/apitest/bb:{os.getpid()}"
    service.ok("tag", "busybox", ref)
    out = service.ok("push", ref)
    assert "digest: sha256:" in out
    service.ok("rmi", ref)
    out = service.ok("pull", ref)
    assert f"Downloaded newer image for {ref}" in out or f"Image is up to date for {ref}" in out
    assert service.ok("run", "--rm", ref, "echo", "pulled") == "pulled\n"
    result = service.docker("pull", f"{addr}/apitest/none:x")
    assert result.returncode == 1 and "not found" in result.stderr.lower()
    repo = f"{addr}/apitest/all{os.getpid()}"  # Docker's client sends no tag with -a
    service.ok("tag", "busybox", f"{repo}:a")
    service.ok("tag", "busybox", f"{repo}:b")
    out = service.ok("push", "--all-tags", repo)
    assert "a: digest: sha256:" in out and "b: digest: sha256:" in out, out
    service.ok("rmi", f"{repo}:a", f"{repo}:b")
    out = service.ok("pull", "--all-tags", repo)
    assert out.strip().endswith(repo), out
    tags = service.ok("images", "--format", "{{.Tag}}", repo)
    assert sorted(t for t in tags.split() if t != "<none>") == ["a", "b"]  # (and digests)


def test_networks_and_volumes(service: Service) -> None:
    net = f"{service.engine.net_tag}n"
    service.ok("network", "create", net)
    assert net in service.ok("network", "ls", "--format", "{{.Name}}").split()
    doc = json.loads(service.ok("network", "inspect", net))[0]
    assert doc["Name"] == net and doc["IPAM"]["Config"][0]["Subnet"]
    service.ok("volume", "create", "data")
    assert "data" in service.ok("volume", "ls", "-q").split()
    service.ok("run", "-d", "--name", "srv", "--network", net, "-v", "data:/data",
               "busybox", "sh", "-c", "echo kept > /data/f; httpd -f -p 80")
    out = service.ok("run", "--rm", "--network", net, "-v", "data:/data", "busybox", "sh",
                     "-c", "cat /data/f; wget -q -O /dev/null http://srv/ 2>&1; echo $?")
    assert out.split("\n")[0] == "kept"
    other = f"{service.engine.net_tag}o"
    service.ok("network", "create", other)
    service.ok("network", "connect", "--alias", "second", other, "srv")
    networks = json.loads(service.ok("inspect", "-f", "{{json .NetworkSettings.Networks}}",
                                     "srv"))
    assert sorted(networks) == sorted([net, other])
    assert "second" in networks[other]["Aliases"]
    service.ok("network", "disconnect", other, "srv")
    assert other not in service.ok("inspect", "-f", "{{json .NetworkSettings.Networks}}",
                                   "srv")
    service.ok("network", "rm", other)
    result = service.docker("volume", "rm", "data")
    assert result.returncode == 1 and "in use" in result.stderr
    service.ok("rm", "-f", "srv")
    service.ok("volume", "rm", "data")
    service.ok("network", "rm", net)
    result = service.docker("network", "inspect", net)
    assert result.returncode == 1


def test_events_from_both_front_ends(service: Service) -> None:
    since = str(int(time.time()) - 1)
    service.ok("run", "--rm", "--name", "viaapi", "busybox", "true")
    minidocker(service, "run", "--rm", "--name", "viacli", service.engine.image, "true")
    until = str(int(time.time()) + 1)
    time.sleep(1.1)
    out = service.ok("events", "--since", since, "--until", until, "--format",
                     "{{.Action}} {{.Actor.Attributes.name}}")
    lines = out.splitlines()
    for name in ("viaapi", "viacli"):
        for action in ("create", "start", "die", "destroy"):
            assert f"{action} {name}" in lines, out
    out = service.ok("events", "--since", since, "--until", until, "--filter",
                     "container=viacli", "--filter", "event=die", "--format", "{{.Action}}")
    assert out == "die\n"


def test_system_df_and_info(service: Service) -> None:
    service.ok("run", "-d", "--name", "box", "busybox", "sleep", "60")
    out = service.ok("system", "df", "--format", "{{.Type}} {{.TotalCount}} {{.Active}}")
    assert "Images 1 1" in out and "Containers 1 1" in out
    info = json.loads(service.ok("info", "--format", "{{json .}}"))
    assert (info["Containers"], info["ContainersRunning"], info["Images"]) == (1, 1, 1)


def test_one_engine_two_front_ends(service: Service) -> None:
    cid = minidocker(service, "run", "-d", "--name", "fromcli", service.engine.image,
                     "sleep", "60").stdout.strip()
    assert service.ok("ps", "-q", "--no-trunc") == cid + "\n"
    assert service.ok("exec", "fromcli", "echo", "hi") == "hi\n"
    api_id = service.ok("create", "--name", "fromapi", "busybox", "true").strip()
    assert minidocker(service, "inspect", "-f", "{{.State.Status}}",
                      "fromapi").stdout == "created\n"
    service.ok("rm", "-f", "fromcli")
    assert minidocker(service, "ps", "-aq", "--no-trunc").stdout == api_id + "\n"


def test_killing_the_service_loses_nothing(service: Service) -> None:
    service.ok("run", "-d", "--name", "keeper", "busybox", "sh", "-c",
               "sleep 1; echo after; sleep 60")
    service.stop(signal.SIGKILL)
    time.sleep(1.5)
    service.start()
    assert service.ok("inspect", "-f", "{{.State.Status}}", "keeper") == "running\n"
    deadline = time.monotonic() + 10
    while "after" not in service.ok("logs", "keeper") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert service.ok("logs", "keeper") == "after\n"


def test_a_client_that_disconnects_kills_no_container(service: Service) -> None:
    """`docker run` (attached) killed: the container runs on, as with dockerd."""
    import subprocess

    from tests.integration.api.conftest import DOCKER
    proc = subprocess.Popen([DOCKER, "run", "--name", "lonely", "busybox", "sh", "-c",
                             "echo up; sleep 60"], env=service.env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"up\n"
    proc.kill()
    proc.wait()
    time.sleep(0.5)
    assert service.ok("inspect", "-f", "{{.State.Status}}", "lonely") == "running\n"
    assert service.alive()


def test_build_with_the_classic_builders_api(service: Service, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(
        "FROM busybox\nARG WHO=nobody\nCOPY greeting /greeting\n"
        "RUN echo \"$(cat /greeting) $WHO\" > /out\nCMD [\"cat\", \"/out\"]\n")
    (tmp_path / "greeting").write_text("hello")
    env = {"DOCKER_BUILDKIT": "0"}
    out = service.ok("build", "-t", "built:1", "--build-arg", "WHO=api", str(tmp_path),
                     env={**service.env, **env})
    assert "Step 1/5 : FROM busybox" in out and "Successfully tagged built:1" in out
    assert service.ok("run", "--rm", "built:1") == "hello api\n"
    again = service.ok("build", "-t", "built:1", "--build-arg", "WHO=api", str(tmp_path),
                       env={**service.env, **env})
    assert "Using cache" in again
    kept = service.ok("builder", "prune", "-a", "-f", "--filter", "until=1h")  # /build/prune
    assert "Deleted build cache objects" not in kept and "Total reclaimed space" in kept
    assert "Deleted build cache objects" in service.ok("builder", "prune", "-a", "-f")
    rebuilt = service.ok("build", "-t", "built:1", "--build-arg", "WHO=api", str(tmp_path),
                         env={**service.env, **env})
    assert "Using cache" not in rebuilt.split("COPY")[1], rebuilt  # FROM's may stay
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN exit 3\n")
    result = service.docker("build", str(tmp_path), env={**service.env, **env})
    assert result.returncode != 0 and "exit code: 3" in result.stderr


def test_update_resources_and_restart_policy(service: Service) -> None:
    """docker update changes a running container's cgroup at once and its restart policy
    (the API answered 501 before)."""
    service.ok("run", "-d", "--name", "box", "-m", "64m", "busybox", "sleep", "60")
    assert service.ok("update", "-m", "96m", "--pids-limit", "40", "--restart",
                      "on-failure:3", "box").strip() == "box"
    limits = service.ok("exec", "box", "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes",
                        "/sys/fs/cgroup/pids/pids.max").split()
    assert limits == [str(96 << 20), "40"]
    fmt = "{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}} {{.HostConfig.RestartPolicy.Name}}"
    assert service.ok("inspect", "-f", fmt, "box").split() == [str(96 << 20), "40",
                                                               "on-failure"]
    bad = service.docker("update", "-m", "1", "box")
    assert bad.returncode != 0 and "Minimum memory limit allowed is 6MB" in bad.stderr
