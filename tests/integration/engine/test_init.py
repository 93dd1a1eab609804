"""--init: a static init (tini or catatonit from the host) as PID 1."""

from __future__ import annotations

import time

from minidocker.engine.lifecycle import INIT_BINARIES
from tests.integration.engine.conftest import Engine


def _have_init() -> bool:
    import os
    return any(os.access(p, os.X_OK) for p in INIT_BINARIES)


def test_init_is_pid_1_and_forwards_the_stop_signal(engine: Engine) -> None:
    if not _have_init():
        result = engine.run("run", "--rm", "--init", engine.image, "true")
        assert result.returncode == 125 and "no static init" in result.stderr
        assert engine.container_dirs() == []
        return
    assert engine.ok("run", "--rm", "--init", engine.image, "cat", "/proc/1/comm") == \
        "docker-init\n"
    cid = engine.ok("run", "-d", "--init", engine.image, "sleep", "60").strip()
    start = time.monotonic()
    engine.ok("stop", "-t", "10", cid)
    assert time.monotonic() - start < 5  # sleep got SIGTERM through the init
    assert engine.inspect(cid)["State"]["ExitCode"] == 143


def test_init_reaps_orphans(engine: Engine) -> None:
    def zombies(*flags: str) -> int:
        cid = engine.ok("run", "-d", *flags, engine.image, "sh", "-c",
                        "sh -c 'sleep 0.1 &'; exec sleep 30").strip()
        time.sleep(0.8)  # the orphaned sleep has ended by now
        out = engine.ok("exec", cid, "ps", "-o", "stat,comm")
        engine.ok("rm", "-f", cid)
        return sum(1 for line in out.splitlines() if line.startswith("Z"))

    assert zombies() == 1  # `exec sleep` as PID 1 never reaps
    if _have_init():
        assert zombies("--init") == 0
