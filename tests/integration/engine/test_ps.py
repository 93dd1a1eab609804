"""ps: default and --all, -q, -n, -l, filters, --format, --no-trunc; rename; prune."""

from __future__ import annotations

from tests.integration.engine.conftest import Engine


def _setup(engine: Engine) -> tuple[str, str, str]:
    a = engine.ok("run", "-d", "--name", "web", "--label", "tier=front", engine.image,
                  "sleep", "60").strip()
    b = engine.ok("run", "--name", "job", "--label", "tier=back", engine.image,
                  "true").strip() or engine.ok("ps", "-lq", "--no-trunc").strip()
    c = engine.ok("create", "--name", "idle", engine.image, "true").strip()
    return a, b, c


def test_ps_lists_and_filters(engine: Engine) -> None:
    a, _, c = _setup(engine)
    assert engine.ok("ps", "-q") == a[:12] + "\n"
    assert engine.ok("ps", "-aq").split() == [c[:12], engine.ok("ps", "-aq").split()[1],
                                              a[:12]]
    assert engine.ok("ps", "-l", "--format", "{{.Names}}") == "idle\n"
    assert engine.ok("ps", "-n", "2", "--format", "{{.Names}}").split() == ["idle", "job"]
    fmt = ["--format", "{{.Names}}"]
    assert engine.ok("ps", "-a", "--filter", "status=exited", *fmt) == "job\n"
    assert engine.ok("ps", "-a", "--filter", "status=created", *fmt) == "idle\n"
    assert engine.ok("ps", "--filter", "name=we", *fmt) == "web\n"
    assert engine.ok("ps", "-a", "--filter", "label=tier=back", *fmt) == "job\n"
    assert sorted(engine.ok("ps", "-a", "--filter", "label=tier", *fmt).split()) == \
        ["job", "web"]
    assert engine.ok("ps", "-a", "-f", "name=web", "-f", "name=job", *fmt).split() == \
        ["job", "web"]
    assert engine.run("ps", "--filter", "status=bogus").returncode != 0
    assert engine.ok("ps", "--no-trunc", "-q") == a + "\n"


def test_ps_table_header_and_command_column(engine: Engine) -> None:
    engine.ok("create", "--name", "x", engine.image, "sh", "-c", "echo a long command here")
    lines = engine.ok("ps", "-a").splitlines()
    assert lines[0].split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS",
                                "PORTS", "NAMES"]
    assert '"sh -c echo a long c…"' in lines[1]
    assert "Created" in lines[1]


def test_rename_and_lookup_by_prefix(engine: Engine) -> None:
    cid = engine.ok("create", "--name", "before", engine.image, "true").strip()
    engine.ok("rename", "before", "after")
    assert engine.ok("inspect", "-f", "{{.Name}}", cid[:6]) == "/after\n"
    assert engine.run("inspect", "before").returncode != 0
    engine.ok("create", "--name", "before", engine.image, "true")  # the old name is free


def test_generated_names_are_adjective_noun(engine: Engine) -> None:
    engine.ok("create", engine.image, "true")
    name = engine.ok("ps", "-a", "--format", "{{.Names}}").strip()
    adjective, _, noun = name.partition("_")
    assert adjective.isalpha() and noun.rstrip("0123456789").isalpha()


def test_container_prune_keeps_running(engine: Engine) -> None:
    a, _, _ = _setup(engine)
    out = engine.ok("container", "prune", "-f")
    assert "Deleted Containers:" in out
    assert engine.ok("ps", "-aq") == a[:12] + "\n"
    assert engine.ok("container", "ls", "--format", "{{.Names}}") == "web\n"
    assert "Containers" in engine.ok("system", "df")
    assert "Running: 1" in engine.ok("info")


def test_container_prune_sweeps_state_dirs_of_creates_killed_early(engine: Engine) -> None:
    """The runtime's state directory is made under a temporary name that names its
    creator (`.new-<pid>-<start>-<random>`): a create killed before renaming it leaves
    it, and container prune removes it once its creator is gone (never a live one's)."""
    import os
    import subprocess
    from pathlib import Path

    from minidocker.runtime.state import proc_stat

    def start_time(pid: int) -> int:
        found = proc_stat(pid)
        assert found is not None
        return found[1]

    engine.ok("run", "--rm", engine.image, "true")  # the runtime root is there
    dead = subprocess.Popen(["sleep", "100"])
    dead_start = start_time(dead.pid)
    dead.kill()
    dead.wait()
    runtime_root = Path(engine.root) / "runtime"
    gone = runtime_root / f".new-{dead.pid}-{dead_start}-0a0b0c0d"
    live = runtime_root / f".new-{os.getpid()}-{start_time(os.getpid())}-01020304"
    for directory in (gone, live):
        directory.mkdir()
        (directory / "creating").write_text("")
    engine.ok("container", "prune", "-f")
    assert not gone.exists() and live.exists()
    (live / "creating").unlink()
    live.rmdir()


def test_ps_filters_since_before_health_expose_publish(engine: Engine) -> None:
    """Docker's ps filters: since= and before= a container (by creation), health=
    (none without a check), expose= and publish= (container ports, ranges, tcp by
    default; a published port is an exposed one too)."""
    fmt = ["--format", "{{.Names}}"]
    engine.ok("create", "--name", "first", engine.image, "true")
    engine.ok("create", "--name", "mid", "-p", "127.0.0.1::80", "--expose", "90-91/udp",
              engine.image, "true")
    engine.ok("create", "--name", "last", "--health-cmd", "true", engine.image, "true")

    def names(*filters: str) -> list[str]:
        args = [a for f in filters for a in ("--filter", f)]
        return engine.ok("ps", "-a", *args, *fmt).split()

    assert names("since=first") == ["last", "mid"]
    assert names("before=last") == ["mid", "first"]
    assert names("since=first", "before=last") == ["mid"]
    # never started: no health status yet, so "none" as Docker's (its State.Health is nil)
    assert names("health=none") == ["last", "mid", "first"]
    assert names("health=starting") == []
    engine.ok("start", "last")
    engine.wait_for(lambda: names("health=none") == ["mid", "first"])
    assert names("expose=80") == ["mid"]
    assert names("expose=90/udp") == names("expose=85-95/udp") == ["mid"]
    assert names("expose=90") == []  # tcp
    assert names("publish=80/tcp") == ["mid"]
    assert names("publish=90/udp") == []  # exposed, not published
    assert engine.inspect("mid")["Config"]["ExposedPorts"] == {"80/tcp": {}, "90/udp": {},
                                                               "91/udp": {}}
    for bad, message in (("health=ok", "Unrecognised filter value for health: ok"),
                         ("publish=1:80", "filter for 'publish' should not contain ':'"),
                         ("since=nosuch", "no such container: nosuch")):
        result = engine.run("ps", "--filter", bad)
        assert result.returncode == 1 and message in result.stderr, result.stderr
        assert len(result.stderr.splitlines()) == 1


def test_prune_until_and_labels(engine: Engine) -> None:
    """--filter until= on container, network, image and system prune: only what was
    created before; label= applies to every kind system prune removes."""
    import time
    engine.ok("create", "--name", "old", engine.image, "true")
    engine.ok("network", "create", "--label", "keep=1", "oldnet")
    time.sleep(2.5)
    engine.ok("create", "--name", "new", "--label", "keep=1", engine.image, "true")
    engine.ok("network", "create", "newnet")
    assert engine.ok("network", "prune", "-f", "--filter", "until=1h") == ""
    out = engine.ok("container", "prune", "-f", "--filter", "until=2s")
    assert engine.ok("ps", "-a", "--format", "{{.Names}}") == "new\n", out
    out = engine.ok("network", "prune", "-f", "--filter", "until=2s")
    assert "oldnet" in out and "newnet" not in out
    out = engine.ok("system", "prune", "-f", "--filter", "label!=keep")
    assert "newnet" in out
    assert engine.ok("ps", "-a", "--format", "{{.Names}}") == "new\n"
    for command in (("container", "prune"), ("network", "prune"), ("image", "prune"),
                    ("system", "prune")):
        result = engine.run(*command, "-f", "--filter", "until=soon")
        assert result.returncode == 1 and "invalid filter 'until=soon'" in result.stderr
    result = engine.run("volume", "prune", "-f", "--filter", "until=1h")  # as Docker 20.10
    assert result.returncode == 1 and "invalid filter 'until'" in result.stderr
    engine.ok("system", "prune", "-f", "--filter", "until=0s")
    assert engine.ok("ps", "-aq") == ""
