"""`run`/`create` parse their plain command lines without argparse: the result must be
exactly argparse's, and anything unusual must be left to argparse (None)."""

from __future__ import annotations

import argparse

import pytest

from minidocker.cli.commands import create, run


def argparse_of(module: object, argv: list[str]) -> dict[str, object] | None:
    parser = argparse.ArgumentParser(prog="minidocker x")
    module.add_arguments(parser)  # type: ignore[attr-defined]
    try:
        return vars(parser.parse_args(argv))
    except SystemExit:
        return None


SAME = [
    ["busybox"],
    ["busybox", "true"],
    ["--rm", "--network", "none", "./images/busybox", "true"],
    ["--rm", "--net=none", "img", "sh", "-c", "echo hi; exit 3"],
    ["-it", "--name", "web", "-e", "A=1", "-e", "B", "--env-file", "f", "img"],
    ["-ti", "-p", "8080:80", "-p", "53:53/udp", "-P", "img", "--rm", "-d"],
    ["-d", "--restart", "always", "-l", "a=b", "--label=c=d", "img", "cmd", "--", "x"],
    ["--cpu-shares", "512", "-c", "7", "--pids-limit", "10", "--stop-timeout=3", "img"],
    ["--oom-score-adj=-500", "--memory-swap=-1", "-m", "64m", "img"],
    ["-h", "host", "-w", "/tmp", "-u", "1000:1000", "--entrypoint", "", "img", "a"],
    ["-v", "/a:/b:ro", "--mount", "type=tmpfs,dst=/t", "--tmpfs", "/run:size=1m", "img"],
    ["--cap-add", "NET_ADMIN", "--cap-drop=ALL", "--privileged", "--read-only", "--init",
     "--security-opt", "no-new-privileges", "img"],
    ["--dns", "1.1.1.1", "--dns-search", "x", "--dns-option", "ndots:1", "--add-host",
     "h:1.2.3.4", "--network-alias", "al", "--ip", "10.0.0.5", "--mac-address",
     "92:d0:c6:0a:29:33", "--sysctl", "net.core.somaxconn=1", "--ulimit", "nofile=5:5",
     "--runtime", "runc", "--stop-signal", "SIGINT", "--cpus", "0.5", "--cpuset-cpus", "0",
     "--name=", "img"],
    ["-a", "stdout", "--attach=stderr", "img"],
    ["img", "-e", "X", "--help"],
    ["", "x"],
]

FALLBACK = [
    [], ["--rm"], ["--help"], ["-h"], ["--netw", "none", "img"], ["--", "img"],
    ["--pids-limit", "-1", "img"], ["--pids-limit", "x", "img"], ["-eA=1", "img"],
    ["-e=A", "img"], ["-ie", "A", "img"], ["--rm=1", "img"], ["-", "img"], ["-x", "img"],
    ["--bogus", "img"], ["--name", "-x", "img"], ["--name"], ["-itx", "img"],
]


@pytest.mark.parametrize("argv", SAME)
def test_run_parses_as_argparse(argv: list[str]) -> None:
    fast = run.parse_fast(argv)
    assert fast is not None
    assert vars(fast) == argparse_of(run, argv)


@pytest.mark.parametrize("argv", [a for a in SAME if "-d" not in a and "-a" not in a
                                  and "--attach=stderr" not in a])
def test_create_parses_as_argparse(argv: list[str]) -> None:
    fast = create.parse_fast(argv)
    assert fast is not None
    assert vars(fast) == argparse_of(create, argv)


@pytest.mark.parametrize("argv", FALLBACK)
def test_unusual_command_lines_are_left_to_argparse(argv: list[str]) -> None:
    assert run.parse_fast(argv) is None
    assert create.parse_fast(argv) is None


def test_run_only_flags_are_not_create_flags() -> None:
    assert create.parse_fast(["-d", "img"]) is None
    assert create.parse_fast(["-a", "stdout", "img"]) is None
