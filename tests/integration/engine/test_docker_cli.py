"""The command line behaves as Docker's: each test says what Docker does, and checks that
we do the same (docs/cli.md)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import error_lines
from tests.integration.engine.conftest import Engine


def refused(engine: Engine, *argv: str) -> str:
    """A run refused before anything is made: exit 125, one error line (and Docker's
    "See ... --help" hint), no traceback, no container left."""
    result = engine.run(*argv)
    assert result.returncode == 125, result
    assert "Traceback" not in result.stderr
    lines = error_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert engine.container_dirs() == []
    return lines[0]


def test_flags_are_taken_by_their_whole_name_only(engine: Engine) -> None:
    """Docker: `--priv` is an unknown flag (argparse took it for --privileged)."""
    assert refused(engine, "run", "--priv", engine.image, "true") == \
        "minidocker: error: unknown flag: --priv"
    result = engine.run("run", "--priv", engine.image, "true")
    assert result.stderr.splitlines()[1] == "See 'minidocker run --help'."


@pytest.mark.parametrize(("argv", "message"), [
    (["--cpus", "abc"], 'invalid argument "abc" for "--cpus" flag: failed to parse abc as '
                        "a rational number"),
    (["--cpus", "1e308"], "Range of CPUs is from 0.01 to"),
    (["-e", "=novar"], 'invalid argument "=novar" for "-e, --env" flag: invalid environment '
                       "variable: =novar"),
    (["-m", "100"], "Minimum memory limit allowed is 6MB"),
    (["--oom-score-adj", "5000"], "Invalid value 5000, range for oom score adj is "
                                  "[-1000, 1000]"),
    (["--tmpfs", ":bad"], "invalid mount path: '' mount path must be absolute"),
    (["--cpuset-cpus", "4096"], "Requested CPUs are not available - requested 4096"),
    (["--memory-swap", "10m", "-m", "20m"], "Minimum memoryswap limit should be larger than "
                                            "memory limit"),
    (["--restart", "always", "--rm"], "cannot specify both --restart and --rm"),
    (["--restart", "sometimes"], "invalid restart policy 'sometimes'"),
    (["-w", "relative"], "the working directory 'relative' is invalid, it needs to be an "
                         "absolute path"),
    (["-u", "-5"], "invalid user '-5'"),
    (["--stop-signal", "SIGNOPE"], "Invalid signal: SIGNOPE"),
    (["--health-interval", "5"], 'time: missing unit in duration "5"'),
    (["--mac-address", "zz"], "zz is not a valid mac address"),  # was Python's int() text
    (["-v", ":/x"], "invalid spec: :/x: empty section between colons"),  # was accepted
    (["-v", "/tmp:"], "invalid spec: /tmp:: empty section between colons"),
])
def test_bad_values_are_refused_before_anything_is_made(engine: Engine, argv: list[str],
                                                        message: str) -> None:
    """Docker checks every value first and says what is wrong with it, naming the flag
    or the limit; so do we (it used to be tracebacks, runtime errors or containers that
    exit 127)."""
    assert message in refused(engine, "run", "--rm", *argv, engine.image, "true")


def test_env_file_with_a_nul_byte_is_refused(engine: Engine, tmp_path: Path) -> None:
    env = tmp_path / "env"
    env.write_bytes(b"A=1\nB=x\x00y\n")
    assert "contains a NUL byte at line 2" in refused(
        engine, "run", "--rm", "--env-file", str(env), engine.image, "true")


def test_env_and_label_files(engine: Engine, tmp_path: Path) -> None:
    """Docker: KEY=VALUE lines, comments and blank lines skipped, KEY alone takes the
    caller's value; --label-file likewise, -l over it."""
    env = tmp_path / "env"
    env.write_text("# a comment\n\nA=1\nFROM_CALLER\nUNSET_HERE\n")
    labels = tmp_path / "labels"
    labels.write_text("a=1\nb=2\n")
    out = engine.ok("run", "--rm", "--network", "none", "--env-file", str(env), engine.image,
                    "sh", "-c", "echo $A-$FROM_CALLER-${UNSET_HERE-unset}",
                    env={**os.environ, "FROM_CALLER": "yes"})
    assert out == "1-yes-unset\n"
    cid = engine.ok("create", "--label-file", str(labels), "-l", "b=3", engine.image,
                    "true").strip()
    assert engine.inspect(cid)["Config"]["Labels"] == {"a": "1", "b": "3"}


def test_cidfile(engine: Engine, tmp_path: Path) -> None:
    """Docker writes the id to --cidfile, and refuses a file that exists."""
    path = tmp_path / "cid"
    cid = engine.ok("run", "-d", "--cidfile", str(path), engine.image, "sleep", "30").strip()
    assert path.read_text() == cid
    assert "container ID file found" in refused_keep(engine, "run", "--cidfile", str(path),
                                                     engine.image, "true")
    bad = tmp_path / "bad"
    result = engine.run("run", "--rm", "--cidfile", str(bad), "-m", "1", engine.image, "true")
    assert result.returncode == 125 and not bad.exists()  # removed when the run fails


def refused_keep(engine: Engine, *argv: str) -> str:
    before = engine.container_dirs()
    result = engine.run(*argv)
    assert result.returncode == 125 and "Traceback" not in result.stderr
    assert engine.container_dirs() == before
    return result.stderr


def test_usage_errors_exit_as_dockers(engine: Engine) -> None:
    """Docker: a wrong number of arguments exits 1 with the usage; an unknown command 1."""
    result = engine.run("stop")
    assert result.returncode == 1
    assert '"minidocker stop" requires at least 1 argument.' in result.stderr
    assert "Usage:  minidocker stop [OPTIONS] CONTAINER [CONTAINER...]" in result.stderr
    result = engine.run("nosuch")
    assert result.returncode == 1 and "'nosuch' is not a minidocker command" in result.stderr


def test_system_df_format_and_verbose(engine: Engine) -> None:
    """Docker's df -v lists each image, container and volume; --format its rows."""
    cid = engine.ok("create", "-v", "data:/data", engine.image, "true").strip()
    types = engine.ok("system", "df", "--format", "{{.Type}}").split("\n")
    assert types[:4] == ["Images", "Containers", "Local Volumes", "Build Cache"]
    verbose = engine.ok("system", "df", "-v")
    assert "Containers space usage:" in verbose and cid[:12] in verbose
    assert "Local Volumes space usage:" in verbose and "\ndata " in verbose


def test_update_a_running_container(engine: Engine) -> None:
    """Docker: `update` changes memory, CPUs and pids of a running container at once,
    and its restart policy: exiting after `update --restart always`, it starts again."""
    cid = engine.ok("run", "-d", "--network", "none", "-m", "64m", engine.image, "sh", "-c",
                    "sleep 2; exit 3").strip()
    assert engine.ok("update", "-m", "128m", "--cpus", "0.5", "--pids-limit", "50",
                     "--restart", "always", cid).strip() == cid
    cgroup = engine.ok("exec", cid, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes",
                       "/sys/fs/cgroup/pids/pids.max", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us")
    assert cgroup.split() == [str(128 << 20), "50", "50000"]
    host = engine.inspect(cid)["HostConfig"]
    assert (host["Memory"], host["NanoCpus"], host["PidsLimit"]) == (128 << 20, 5 * 10**8, 50)
    engine.wait_for(lambda: engine.inspect(cid)["RestartCount"] >= 1, timeout=30)
    result = engine.run("update", cid)
    assert result.returncode == 1 and "one or more flags" in result.stderr
    assert "Minimum memory limit allowed is 6MB" in engine.run("update", "-m", "1", cid).stderr
    engine.ok("update", "--restart", "no", cid)
    assert engine.inspect(cid)["HostConfig"]["RestartPolicy"]["Name"] == "no"


def test_outputs_scripts_parse_are_dockers(engine: Engine) -> None:
    """Docker: exec -t sets TERM=xterm; inspect shows every HostConfig key (ShmSize ...)
    and ExecIDs; ps -s shows "SIZE (virtual SIZE)"; events' --format has .Time; stats
    prints I/O in decimal units (kB, MB) and memory in binary ones (MiB)."""
    cid = engine.ok("run", "-d", "--network", "none", engine.image, "sleep", "60").strip()
    assert "TERM=xterm" in engine.ok("exec", "-t", cid, "env")
    assert "TERM=" not in engine.ok("exec", cid, "env")
    doc = engine.inspect(cid)
    assert doc["HostConfig"]["ShmSize"] == 64 << 20 and doc["HostConfig"]["IpcMode"]
    assert "ExecIDs" in doc and "MaskedPaths" in doc["HostConfig"]
    size = engine.ok("ps", "-s", "--format", "{{.Size}}").strip()
    assert size.startswith("0B (virtual ") and size.endswith("B)")
    # a template that shows .Size asks for it without -s, as Docker's client does
    assert engine.ok("ps", "--format", "{{.Size}}").strip() == size
    assert '"ExecIDs":null' in engine.ok("inspect", "-f", "{{json .}}", cid)
    assert engine.ok("inspect", "-f", "{{.ExecIDs}}", cid) == "[]\n"
    times = engine.ok("events", "--since", "0", "--until", str(time.time()), "--filter",
                      f"container={cid}", "--format", "{{.Time}} {{.Action}}").split("\n")
    assert times[0].split()[0].isdigit() and times[0].split()[1] == "create"
    io = engine.ok("stats", "--no-stream", "--format", "{{.BlockIO}}", cid)
    assert "iB" not in io


def ns(engine: Engine, *args: str, kind: str = "pid") -> str:
    return engine.ok("run", "--rm", "--network", "none", *args, engine.image, "readlink",
                     f"/proc/self/ns/{kind}").strip()


def test_namespace_modes(engine: Engine) -> None:
    """Docker: --pid/--ipc/--uts host share the host's namespace, --pid and --ipc
    container:NAME the other container's (and its /dev/shm), --cgroupns host the host's."""
    host = {k: os.readlink(f"/proc/self/ns/{k}") for k in ("pid", "ipc", "uts", "cgroup")}
    assert ns(engine, "--pid", "host") == host["pid"] != ns(engine)
    assert ns(engine, "--ipc", "host", kind="ipc") == host["ipc"]
    assert ns(engine, "--uts", "host", kind="uts") == host["uts"]
    assert ns(engine, "--cgroupns", "host", kind="cgroup") == host["cgroup"]
    engine.ok("run", "-d", "--name", "first", "--network", "none", "--ipc", "shareable",
              engine.image, "sh", "-c", "echo shared > /dev/shm/note; sleep 60")
    engine.ok("run", "-d", "--name", "private", "--network", "none", engine.image, "sleep",
              "60")
    assert "non-shareable IPC" in refused_keep(engine, "run", "--rm", "--ipc",
                                               "container:private", engine.image, "true")
    first = {k: engine.ok("exec", "first", "readlink", f"/proc/self/ns/{k}").strip()
             for k in ("pid", "ipc")}
    assert ns(engine, "--pid", "container:first") == first["pid"]
    assert ns(engine, "--ipc", "container:first", kind="ipc") == first["ipc"]
    engine.wait_for(lambda: "shared" in engine.ok("exec", "first", "cat", "/dev/shm/note"))
    assert engine.ok("run", "--rm", "--network", "none", "--ipc", "container:first",
                     engine.image, "cat", "/dev/shm/note") == "shared\n"
    engine.ok("stop", "-t", "0", "first")
    assert "cannot join PID of a non running container" in refused_keep(
        engine, "run", "--rm", "--pid", "container:first", engine.image, "true")
    for argv, message in ((["--pid", "nope"], "--pid: invalid PID mode: nope"),
                          (["--uts", "host", "-h", "x"], "Conflicting options: hostname and "
                                                         "the UTS mode"),
                          (["--userns", "remap"], "--userns: invalid USER mode: remap"),
                          (["--storage-opt", "size=1G"], "--storage-opt is supported only"),
                          (["--platform", "linux/arm64"], "no emulation"),
                          (["--platform", "bogus"], 'error parsing specified platform: "bogus"'),
                          (["--pull", "sometimes"], "invalid pull option"),
                          (["--expose", "abc"], "invalid range format for --expose: abc"),
                          (["--device", "/no/such"], "error gathering device information"),
                          (["--device-cgroup-rule", "x 1:3 rwm"], "invalid device cgroup "
                                                                  "format")):
        assert message in refused_keep(engine, "run", "--rm", *argv, engine.image, "true")


def test_resource_and_device_flags(engine: Engine) -> None:
    """Docker's cgroup flags land in the container's cgroup; --device makes the node;
    --shm-size sizes /dev/shm; --group-add, --domainname, --expose as Docker's."""
    out = engine.ok(
        "run", "--rm", "--network", "none", "--memory-reservation", "32m", "--cpu-period",
        "50000", "--cpu-quota", "25000", "--oom-kill-disable", "-m", "64m", "--shm-size",
        "16m", "--device", "/dev/null:/dev/mynull:rw", "--group-add", "10", "--domainname",
        "example.org", "--platform", "linux/amd64", engine.image, "sh", "-c",
        "cat /sys/fs/cgroup/memory/memory.soft_limit_in_bytes "
        "/sys/fs/cgroup/cpu/cpu.cfs_period_us /sys/fs/cgroup/cpu/cpu.cfs_quota_us; "
        "grep -c 'oom_kill_disable 1' /sys/fs/cgroup/memory/memory.oom_control; "
        "grep ' /dev/shm ' /proc/mounts | grep -o 'size=[0-9]*k'; "
        "echo x > /dev/mynull && stat -c '%t:%T' /dev/mynull; id -G; "
        "cat /proc/sys/kernel/domainname")
    lines = out.split("\n")
    assert lines[:4] == [str(32 << 20), "50000", "25000", "1"]
    assert lines[4] == "size=16384k" and lines[5] == "1:3"
    assert "10" in lines[6].split() and lines[7] == "example.org"
    cid = engine.ok("create", "--expose", "8080", "--expose", "9000-9001/udp", engine.image,
                    "true").strip()
    assert set(engine.inspect(cid)["Config"]["ExposedPorts"]) >= {"8080/tcp", "9000/udp",
                                                                  "9001/udp"}


def test_volumes_from(engine: Engine) -> None:
    """Docker: --volumes-from mounts the other container's volumes at the same places."""
    engine.ok("run", "--name", "data", "--network", "none", "-v", "store:/store",
              engine.image, "sh", "-c", "echo kept > /store/file")
    assert engine.ok("run", "--rm", "--network", "none", "--volumes-from", "data",
                     engine.image, "cat", "/store/file") == "kept\n"
    result = engine.run("run", "--rm", "--network", "none", "--volumes-from", "data:ro",
                        engine.image, "sh", "-c", "echo x > /store/other")
    assert result.returncode != 0 and "Read-only file system" in result.stderr


def test_pull_never_and_missing(engine: Engine) -> None:
    """Docker: --pull never refuses an image it does not have, without pulling."""
    message = refused_keep(engine, "run", "--rm", "--pull", "never", "nosuchimage:1", "true")
    assert "nosuchimage" in message and "Pulling" not in message


def test_a_run_racing_rm_f_says_so(engine: Engine) -> None:
    """A run whose container an rm -f removes while it starts (or runs: its monitor is
    killed with it) says that, never the runtime's internals ("executable file not
    found", "does not exist") or a lost monitor."""
    import random
    import subprocess
    messages: dict[str, str] = {}
    for i in range(15):
        run = subprocess.Popen(engine.cmd("run", "--name", f"race{i}", "--network", "none",
                                          engine.image, "true"),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(random.uniform(0.0, 0.3))
        engine.run("rm", "-f", f"race{i}")
        _, err = run.communicate(timeout=60)
        messages.update((line.split("error: ", 1)[-1], err) for line in err.splitlines()
                        if line.startswith("minidocker: error:"))
    for message in messages:
        assert re.search(r"was removed while it was (starting|running) \(rm -f\)$",
                         message), messages


def test_it_without_a_terminal_is_refused(engine: Engine) -> None:
    """Docker's client: -it whose input is no terminal is "the input device is not a TTY",
    exit 1, before anything is made; -t alone, -i alone and -itd are fine."""
    engine.ok("run", "-d", "--name", "up", engine.image, "sleep", "60")
    before = engine.ok("ps", "-aq")
    for args in (("run", "-it", "--rm", engine.image, "true"),
                 ("exec", "-it", "up", "true")):
        result = engine.run(*args, stdin=subprocess.DEVNULL)
        assert (result.returncode, result.stderr) == (
            1, "minidocker: error: the input device is not a TTY\n"), result
    assert engine.ok("ps", "-aq") == before
    assert engine.ok("run", "--rm", "-t", engine.image, "echo", "t",
                     stdin=subprocess.DEVNULL) == "t\r\n"
    assert engine.ok("run", "--rm", "-i", engine.image, "cat", input=b"i\n") == "i\n"
    engine.ok("run", "-itd", engine.image, "true", stdin=subprocess.DEVNULL)


def test_version_format_takes_dockers_field_names(engine: Engine) -> None:
    """Scripts ask `docker version --format '{{.Server.APIVersion}}'` (the Go field of
    JSON's ApiVersion); the platform is Docker's name for it (amd64, not x86_64)."""
    out = engine.ok("version", "--format", "{{.Server.APIVersion}} {{.Client.APIVersion}} "
                    "{{.Server.Os}}/{{.Server.Arch}}")
    from minidocker.image.hostplatform import host_platform
    assert out == f"1.41 1.41 {host_platform()}\n"
    client = json.loads(engine.ok("version", "--format", "{{json .Client}}"))
    assert client["ApiVersion"] == "1.41" and "APIVersion" not in client
    assert f"OS/Arch:    {host_platform()}" in engine.ok("version")


def test_inspect_format_reads_go_field_names(engine: Engine) -> None:
    """Docker runs inspect's --format on its typed structs, where JSON's Id is the field
    ID, then on the JSON: {{.ID}} and {{.Id}} both work, of a container, an image and a
    network, and {{json .}} keeps the JSON's keys."""
    cid = engine.ok("create", "--name", "c", engine.image, "true").strip()
    assert engine.ok("inspect", "-f", "{{.ID}} {{.Id}}", "c") == f"{cid} {cid}\n"
    net = engine.ok("network", "inspect", "-f", "{{.Id}}", "bridge").strip()
    assert engine.ok("network", "inspect", "-f", "{{.ID}}", "bridge").strip() == net
    assert '"ID"' not in engine.ok("inspect", "-f", "{{json .}}", "c")
    assert engine.run("inspect", "-f", "{{.NoSuchField}}", "c").returncode == 1


def test_storage_driver_is_dockers_overlay2(engine: Engine, tmp_path: Path) -> None:
    """Scripts read `docker info -f '{{.Driver}}'` (overlay2) and find a container's or an
    image's files through GraphDriver.Data, as Docker's overlay2 shows them."""
    archive = tmp_path / "img.tar"
    subprocess.run(["tar", "-C", engine.image, "-cf", str(archive), "."], check=True)
    engine.ok("import", str(archive), "gd:1")
    engine.ok("create", "--name", "g", "--network", "none", "gd:1", "true")
    assert engine.ok("info", "-f", "{{.Driver}}") == "overlay2\n"
    assert engine.ok("inspect", "-f", "{{.Driver}} {{.GraphDriver.Name}}", "g") == \
        "overlay2 overlay2\n"
    image = json.loads(engine.ok("image", "inspect", "gd:1"))[0]["GraphDriver"]
    assert image["Name"] == "overlay2" and "LowerDir" not in image["Data"]  # one layer
    assert Path(image["Data"]["UpperDir"], "bin", "busybox").exists()
