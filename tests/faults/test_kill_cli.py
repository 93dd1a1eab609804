"""kill -9 of the CLI at a random moment of every state-changing command (build too); the invariants
(tests/faults/harness.py) must hold after each, and after a run that nothing disturbed."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.faults.harness import IMAGE, TRIALS, FaultRoot, kill_at_random, timed

Setup = Callable[[FaultRoot], None]


def nothing(env: FaultRoot) -> None:
    pass


def running(env: FaultRoot, *flags: str) -> None:
    env.ok("run", "-d", "--name", "t", *flags, IMAGE, "sleep", "600")


def created(env: FaultRoot) -> None:
    env.ok("create", "--name", "t", IMAGE, "sleep", "600")


def with_network(env: FaultRoot) -> None:
    env.ok("network", "create", "n1")


def running_and_network(env: FaultRoot) -> None:
    running(env)
    with_network(env)


def connected(env: FaultRoot) -> None:
    running_and_network(env)
    env.ok("network", "connect", "n1", "t")


def archive(env: FaultRoot) -> None:
    path = env.root.parent / f"{env.root.name}-archive.tar"
    if not path.exists():
        env.ok("save", "-o", str(path), IMAGE)


def build_context(env: FaultRoot) -> None:
    path = env.root.parent / f"{env.root.name}-context"
    if not path.exists():
        path.mkdir()
        (path / "data").write_bytes(os.urandom(1 << 20))
        (path / "Dockerfile").write_text(
            f"FROM {IMAGE}\nRUN echo one > /one && sleep 0.2\nCOPY data /data\n"
            "RUN cat /one /data > /two\n")


def paused(env: FaultRoot) -> None:
    running(env)
    env.ok("pause", "t")


def another_image(env: FaultRoot) -> None:
    """A container of IMAGE (so that prune -a keeps it) and an unused image."""
    running(env)
    env.ok("import", str(env.rootfs), "faulty:unused")


def with_volume(env: FaultRoot) -> None:
    env.ok("volume", "create", "vol1")


def exited(env: FaultRoot) -> None:
    env.ok("run", "--name", "t", "--network", "none", IMAGE, "true")


# name -> (setup, argv after `minidocker --root R`)
CASES: dict[str, tuple[Setup, list[str]]] = {
    "run -d": (nothing, ["run", "-d", "--name", "t", IMAGE, "sleep", "600"]),
    "run -d -p": (nothing, ["run", "-d", "--name", "t", "-p", "127.0.0.1::80", IMAGE,
                            "sleep", "600"]),
    "run --rm": (nothing, ["run", "--rm", IMAGE, "sh", "-c", "echo hi; sleep 0.2"]),
    "run -v": (nothing, ["run", "-d", "--name", "t", "-v", "/data", "-v", "vol1:/v", IMAGE,
                         "sleep", "600"]),
    "create": (nothing, ["create", "--name", "t", IMAGE, "sleep", "600"]),
    "start": (created, ["start", "t"]),
    "stop": (running, ["stop", "-t", "1", "t"]),
    "restart": (running, ["restart", "-t", "0", "t"]),
    "kill": (running, ["kill", "t"]),
    "rm -f": (running, ["rm", "-f", "t"]),
    "rm": (exited, ["rm", "t"]),
    "pause": (running, ["pause", "t"]),
    "unpause": (paused, ["unpause", "t"]),
    "update": (running, ["update", "--memory", "64m", "--cpus", "0.5", "--restart",
                         "on-failure:3", "t"]),
    "rename": (created, ["rename", "t", "t2"]),
    "exec": (running, ["exec", "t", "sh", "-c", "sleep 0.3"]),
    "commit": (running, ["commit", "t", "faulty:commit"]),
    "cp": (running, ["cp", "/etc/hostname", "t:/tmp/"]),
    "network create": (nothing, ["network", "create", "n1"]),
    "network rm": (with_network, ["network", "rm", "n1"]),
    "network connect": (running_and_network, ["network", "connect", "n1", "t"]),
    "network disconnect": (connected, ["network", "disconnect", "n1", "t"]),
    "volume create": (nothing, ["volume", "create", "vol1"]),
    "volume rm": (with_volume, ["volume", "rm", "vol1"]),
    "volume prune": (with_volume, ["volume", "prune", "-a", "-f"]),
    "network prune": (with_network, ["network", "prune", "-f"]),
    "rmi": (another_image, ["rmi", "faulty:unused"]),
    "image prune": (another_image, ["image", "prune", "-a", "-f"]),
    "import": (nothing, ["import", "ROOTFS", "faulty:import"]),
    "load": (archive, ["load", "-i", "ARCHIVE"]),
    "tag": (nothing, ["tag", IMAGE, "faulty:tag"]),
    "build": (build_context, ["build", "--no-cache", "-q", "-t", "faulty:build", "CONTEXT"]),
    "container prune": (exited, ["container", "prune", "-f"]),
    "system prune": (exited, ["system", "prune", "-f"]),
}

LONGEST: dict[str, float] = {}


def _argv(env: FaultRoot, argv: list[str]) -> list[str]:
    subst = {"ROOTFS": str(env.rootfs),
             "ARCHIVE": str(env.root.parent / f"{env.root.name}-archive.tar"),
             "CONTEXT": str(env.root.parent / f"{env.root.name}-context")}
    return env.cmd(*(subst.get(a, a) for a in argv))


@pytest.fixture(scope="module", autouse=True)
def _archive_cleanup(faults: FaultRoot) -> object:
    yield None
    Path(faults.root.parent / f"{faults.root.name}-archive.tar").unlink(missing_ok=True)
    shutil.rmtree(faults.root.parent / f"{faults.root.name}-context", ignore_errors=True)


@pytest.mark.parametrize("case", list(CASES))
def test_kill_the_cli_at_a_random_moment(faults: FaultRoot, case: str) -> None:
    setup, argv = CASES[case]
    problems = []
    if TRIALS == 1:  # make test: one kill somewhere in the first second
        LONGEST.setdefault(case, 1.0)
    elif case not in LONGEST:  # once undisturbed: how long it takes, and that it is clean
        setup(faults)
        LONGEST[case] = timed(_argv(faults, argv))
        problems += faults.verify("undisturbed command", case)
    for _ in range(TRIALS):
        setup(faults)
        delay, _code = kill_at_random(_argv(faults, argv), LONGEST[case] * 1.1)
        problems += faults.verify("kill -9 of the CLI", f"{case} at {delay:.3f}s")
    assert not problems, problems
