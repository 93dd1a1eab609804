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
