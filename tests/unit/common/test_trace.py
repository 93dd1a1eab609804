"""The trace leaf module: the file format (checked against the trace-event schema), one
track per process across fork, steps that tile a process's time, and no import or
effect when tracing is off."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import minidocker
from minidocker import trace
from minidocker.engine import traceview
from tests.trace_schema import check_trace


def _by(events: list[dict], ph: str) -> list[dict]:
    return [e for e in events if e["ph"] == ph]


def test_events_of_forked_processes_reach_one_valid_file(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    tracer = trace.Tracer(str(path), "parent", command=["minidocker-runtime", "run", "x"])
    tracer.step("cgroup", "write", path="/sys/fs/cgroup/x/memory.max", value="1048576")
    pid = os.fork()
    if pid == 0:  # the child writes its own events into the same file
        try:
            tracer.process("child")
            tracer.step("mount", "mount", source="proc", target="/proc", type="proc")
            grandchild = os.fork()
            if grandchild == 0:
                tracer.step("process", "unannounced child's step")
                os._exit(0)
            os.waitpid(grandchild, 0)
            tracer.execve("/bin/true", ["true"], ["PATH=/bin", "SECRET=hunter2"])
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    tracer.mark("sync", "READY")
    tracer.finish(exit_code=0)

    events = check_trace(path)
    names = {e["pid"]: e["args"] for e in events
             if e["ph"] == "M" and e["name"] == "process_name"}
    assert len(names) == 3
    parent_pid = next(p for p, a in names.items() if a["name"] == "parent")
    child_pid = next(p for p, a in names.items() if a["name"] == "child")
    other = next(p for p, a in names.items() if a["name"] == "child of child")
    assert parent_pid == os.getpid() and child_pid == pid
    assert names[child_pid]["ppid"] == parent_pid and names[other]["ppid"] == child_pid
    assert names[parent_pid]["command"] == ["minidocker-runtime", "run", "x"]
    steps = {(e["pid"], e["name"]): e for e in _by(events, "X")}
    assert steps[(parent_pid, "write")]["args"]["value"] == "1048576"
    assert steps[(child_pid, "mount")]["args"]["target"] == "/proc"
    assert steps[(child_pid, "execve")]["args"]["env"] == ["PATH", "SECRET"]
    assert "hunter2" not in path.read_text()
    assert steps[(child_pid, "child")]["cat"] == "process"  # the child's span, at execve
    assert steps[(parent_pid, "parent")]["args"]["exit_code"] == 0
    assert steps[(child_pid, "mount")]["args"]["at"] == \
        f"{__file__}:test_events_of_forked_processes_reach_one_valid_file"  # (not minidocker's)
    assert _by(events, "i")[0]["s"] == "t"
    # the parent's span holds its steps and the child's (it waited for the child)
    span = steps[(parent_pid, "parent")]
    for e in _by(events, "X"):
        assert span["ts"] <= e["ts"] and e["ts"] + e["dur"] <= span["ts"] + span["dur"] + 1


def test_steps_tile_the_time_of_a_process(tmp_path: Path) -> None:
    tracer = trace.Tracer(str(tmp_path / "t.json"), "p")
    for i in range(5):
        sum(range(10000))
        tracer.step("x", f"s{i}", i=i)
    events = [e for e in trace.load(str(tmp_path / "t.json")) if e["ph"] == "X"]
    assert [e["name"] for e in events] == ["s0", "s1", "s2", "s3", "s4"]
    for a, b in zip(events, events[1:], strict=False):
        assert abs(a["ts"] + a["dur"] - b["ts"]) < 2  # µs: the next starts where one ends
        assert a["dur"] > 0


def test_a_second_command_appends_to_the_same_timeline(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    trace.Tracer(str(path), "create").finish()
    trace.Tracer(str(path), "start").finish()
    events = check_trace(path)
    assert [e["name"] for e in events if e["ph"] == "X"] == ["create", "start"]
    assert path.read_text().count("[") == 1


def test_a_failing_write_never_reaches_the_traced_command(tmp_path: Path) -> None:
    tracer = trace.Tracer(str(tmp_path / "t.json"), "p")
    os.close(tracer.fd)
    tracer.step("x", "y", value=object())  # not JSON either
    tracer.finish()


def test_namespace_and_capability_steps_read_the_kernel(tmp_path: Path) -> None:
    tracer = trace.Tracer(str(tmp_path / "t.json"), "p")
    tracer.unshare(0x00020000 | 0x04000000)  # (not really unshared: names and inodes)
    tracer.capabilities()
    events = {e["name"]: e for e in trace.load(str(tmp_path / "t.json")) if e["ph"] == "X"}
    ns = events["unshare"]["args"]
    assert ns["flags"] == ["CLONE_NEWNS", "CLONE_NEWUTS"]
    assert ns["namespaces"]["mnt"] == os.readlink("/proc/self/ns/mnt")
    assert ns["namespaces"]["uts"] == os.readlink("/proc/self/ns/uts")
    caps = events["capabilities"]["args"]
    status = dict(line.split(":\t", 1) for line in
                  Path("/proc/self/status").read_text().splitlines() if ":\t" in line)
    assert len(caps["effective"]) == bin(int(status["CapEff"], 16)).count("1")
    assert len(caps["bounding"]) == bin(int(status["CapBnd"], 16)).count("1")


def test_seccomp_step_counts_syscalls_per_action(tmp_path: Path) -> None:
    tracer = trace.Tracer(str(tmp_path / "t.json"), "p")
    tracer.seccomp({"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
                    "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
                                 {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"},
                                 {"names": ["open"], "action": "SCMP_ACT_ALLOW"}]})
    ev = next(e for e in trace.load(str(tmp_path / "t.json")) if e["name"] == "seccomp")
    assert ev["args"]["syscalls_by_action"] == {"SCMP_ACT_ALLOW": 3, "SCMP_ACT_ERRNO": 1}
    assert ev["args"]["default_action"] == "SCMP_ACT_ERRNO"


@pytest.mark.parametrize("text, count", [
    ('[\n{"name":"a","ph":"i","ts":1,"pid":1,"tid":1},\n', 1),
    ('[{"name":"a","ph":"i","ts":1,"pid":1,"tid":1}]', 1),
    ('{"traceEvents":[{"name":"a","ph":"i","ts":1,"pid":1,"tid":1}]}', 1),
    ("[\n", 0),
])
def test_load_reads_both_json_formats(tmp_path: Path, text: str, count: int) -> None:
    (tmp_path / "t.json").write_text(text)
    assert len(trace.load(str(tmp_path / "t.json"))) == count


@pytest.mark.parametrize("text", ["", "hello", '{"a": 1}', "[1, 2]", "[{"])
def test_load_refuses_what_is_not_a_trace(tmp_path: Path, text: str) -> None:
    (tmp_path / "t.json").write_text(text)
    with pytest.raises(trace.TraceFormatError):
        trace.load(str(tmp_path / "t.json"))


def test_show_indents_each_process_below_its_parent(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    tracer = trace.Tracer(str(path), "runtime")
    tracer.step("cgroup", "mkdir", path="/sys/fs/cgroup/memory/c1")
    pid = os.fork()
    if pid == 0:
        tracer.process("init")
        tracer.step("mount", "mount", target="/proc", options=["nosuid", "noexec"])
        tracer.finish()
        os._exit(0)
    os.waitpid(pid, 0)
    tracer.step("sync", "READY received")
    tracer.finish()
    summary = traceview.summarize(trace.load(str(path)))
    assert summary.steps == 3 and len(summary.processes) == 2
    text = [line for row in summary.rows for line in row.lines()]
    runtime = next(i for i, t in enumerate(text) if "runtime [pid" in t)
    init = next(i for i, t in enumerate(text) if "init [pid" in t)
    mount = next(i for i, t in enumerate(text) if "mount: mount" in t)
    assert runtime < init < mount
    indent = [len(t) - len(t.lstrip()) for t in (text[runtime][21:], text[init][21:],
                                                  text[mount][21:])]
    assert indent[0] < indent[1] < indent[2]
    assert "options=[nosuid, noexec]" in text[mount]
    assert f"forked by {os.getpid()}" in text[init]
    ats = [row.at_ms for row in summary.rows]
    assert ats == sorted(ats) and ats[0] == 0


def test_tracing_off_imports_nothing_of_the_trace() -> None:
    code = ("import sys, minidocker\n"
            "import minidocker.runtime.cli, minidocker.runtime.create, minidocker.runtime.init\n"
            "import minidocker.runtime.rootfs, minidocker.runtime.process\n"
            "import minidocker.runtime.exec, minidocker.runtime.namespaces\n"
            "assert minidocker.TRACE is None\n"
            "assert 'minidocker.trace' not in sys.modules, 'trace imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True,
                   env={**os.environ, "PYTHONPATH": str(Path(minidocker.__file__).parents[1])})


def _guarded_calls(tree: ast.AST) -> tuple[int, list[int]]:
    """(calls of minidocker.TRACE.<method>, lines of those not inside `if minidocker.TRACE`)."""
    def is_flag(node: ast.AST) -> bool:
        return (isinstance(node, ast.Attribute) and node.attr == "TRACE"
                and isinstance(node.value, ast.Name) and node.value.id == "minidocker")

    calls, unguarded = 0, []

    def visit(node: ast.AST, guarded: bool) -> None:
        nonlocal calls
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and is_flag(node.func.value):
            calls += 1
            if not guarded:
                unguarded.append(node.lineno)
        inside = guarded or (isinstance(node, ast.If) and is_flag(node.test))
        for child in ast.iter_child_nodes(node):
            visit(child, inside and not (isinstance(node, ast.If) and child in node.orelse))

    visit(tree, False)
    return calls, unguarded


def test_every_traced_step_checks_the_flag_first() -> None:
    """A step that called minidocker.TRACE without `if minidocker.TRACE:` would fail when
    tracing is off: each site is exactly that one check."""
    src = Path(minidocker.__file__).parent
    total = 0
    for path in sorted(src.rglob("*.py")):
        calls, unguarded = _guarded_calls(ast.parse(path.read_text()))
        total += calls
        assert not unguarded, f"{path}: minidocker.TRACE used unchecked at lines {unguarded}"
    assert total > 60  # the runtime's, the network's and the engine's steps


def test_the_run_path_imports_nothing_of_the_trace_when_off() -> None:
    code = ("import sys, minidocker\n"
            "import minidocker.cli.main, minidocker.cli.commands.run\n"
            "import minidocker.cli.commands.exec, minidocker.cli.commands.start\n"
            "import minidocker.engine.lifecycle, minidocker.network.api\n"
            "import minidocker.network.link, minidocker.network.nat\n"
            "import minidocker.linux.cgroups.v1, minidocker.linux.cgroups.v2\n"
            "assert 'minidocker.trace' not in sys.modules, 'trace imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True,
                   env={**os.environ, "PYTHONPATH": str(Path(minidocker.__file__).parents[1])})


def test_trace_show_cli(tmp_path: Path) -> None:
    from tests.conftest import tool
    path = tmp_path / "t.json"
    tracer = trace.Tracer(str(path), "p")
    tracer.step("mount", "mount", target="/proc")
    tracer.finish()
    show = [tool("minidocker"), "trace", "show"]
    out = subprocess.run([*show, "--code", str(path)], capture_output=True, text=True,
                         check=True).stdout
    assert "mount: mount" in out and "target=/proc" in out
    assert f"at {__file__}:test_trace_show_cli" in out
    doc = subprocess.run([*show, "--format", "json", str(path)], capture_output=True,
                         text=True, check=True).stdout
    assert [e["name"] for e in json.loads(doc) if e["ph"] == "X"] == ["mount", "p"]
    for bad, message in ((tmp_path / "none.json", "no such file"),
                         (tmp_path / "bad.json", "not a trace")):
        if bad.name == "bad.json":
            bad.write_text("hello")
        result = subprocess.run([*show, str(bad)], capture_output=True, text=True)
        assert result.returncode == 1
        assert result.stderr.startswith("minidocker: error: trace file ")
        assert message in result.stderr and len(result.stderr.splitlines()) == 1
