"""Behaviour where runc is the reference (issue 20): each test runs with minidocker-runtime
and with runc (the `any_runtime` fixture), so a test that passes with runc is right."""

from __future__ import annotations

from tests.conftest import Runtime, tool


def ours(rt: Runtime) -> bool:
    return rt.binary == tool("minidocker-runtime")


def test_ambient_capability_not_inheritable_is_left_out(any_runtime: Runtime,
                                                        make_bundle) -> None:
    """`runc spec` asks for ambient capabilities without inheritable ones, which the
    kernel refuses to raise: the container runs without them (ours warns, as runc 1.2)."""
    b = make_bundle(["sh", "-c", "grep CapAmb /proc/self/status"])
    caps = b.config["process"]["capabilities"]
    caps["ambient"] = ["CAP_KILL", "CAP_NET_BIND_SERVICE"]
    caps["inheritable"] = ["CAP_NET_BIND_SERVICE"]
    b.write()
    proc = any_runtime.run("run", "-b", str(b), any_runtime.new_id())
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout.split()[1], 16) == 1 << 10  # only NET_BIND_SERVICE
    if ours(any_runtime):
        assert "ambient capability CAP_KILL" in proc.stderr
