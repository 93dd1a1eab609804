"""The fresh interpreters a threaded server spawns (monitors, spares) get exactly the
descriptors meant for them, and no other thread's spawn can get those."""

from __future__ import annotations

import os

import pytest

from minidocker.engine import start


def test_the_spawned_interpreter_finds_its_descriptors_at_3_and_up_and_no_others() -> None:
    r1, w1 = os.pipe()
    r2, w2 = os.pipe()
    stray_r, stray_w = os.pipe()  # close-on-exec, as Python makes every descriptor
    try:
        boot = ("import os; fds = sorted(int(f) for f in os.listdir('/proc/self/fd'));"
                "out = int(sys.argv[2]);"
                "os.write(out, (sys.argv[1] + ' ' + ' '.join(map(str, fds))).encode());"
                "os.write(int(sys.argv[3]), b'second')")
        # sources numbered as the targets, in the order that would clobber one another
        pid = start.spawn_interpreter(boot, ["hello"], [w2, w1])
        os.close(w1)
        os.close(w2)
        w1 = w2 = -1
        assert os.waitpid(pid, 0)[1] == 0
        with os.fdopen(r2, "rb") as f:
            r2 = -1
            said = f.read().decode()
        with os.fdopen(r1, "rb") as f:
            r1 = -1
            assert f.read() == b"second"
        word, *listed = said.split()
        assert word == "hello"
        fds = {int(fd) for fd in listed}
        assert {3, 4} <= fds and not {stray_r, stray_w} & fds
    finally:
        for fd in (r1, w1, r2, w2, stray_r, stray_w):
            if fd >= 0:
                os.close(fd)


def test_no_descriptor_is_inheritable_while_another_thread_may_spawn(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Marking a start report's pipe inheritable for the spawn let a spare monitor spawned
    by another thread at that moment keep it open: the start waited for its end forever,
    holding the container's start lock (a `docker run --rm` of the API hung)."""
    def inheritable() -> set[int]:
        fds = set()
        for fd in range(3, 1024):
            try:
                if os.get_inheritable(fd):
                    fds.add(fd)
            except OSError:
                pass
        return fds

    already = inheritable()  # what whoever started the tests left us (not ours to judge)
    seen: list[set[int]] = []
    real = os.posix_spawn

    def watching(path, argv, env, **kw):  # type: ignore[no-untyped-def]
        seen.append(inheritable() - already)
        return real(path, argv, env, **kw)

    monkeypatch.setattr(os, "posix_spawn", watching)
    r, w = os.pipe()
    try:
        spare = start.spawn_spare()
        assert spare is not None
        spare.close()  # the spare, told nothing, exits
        pid = start.spawn_interpreter("pass", [], [w])
        os.waitpid(pid, 0)
    finally:
        os.close(r)
        os.close(w)
    assert len(seen) == 2 and not any(seen), f"inheritable during a spawn: {seen}"
