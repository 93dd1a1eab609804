"""The runtime's Go-style flag parser, signal names, ids and mount options."""

from __future__ import annotations

import signal

import pytest

from minidocker.errors import UsageError
from minidocker.linux import libc
from minidocker.runtime.flags import parse_flags
from minidocker.runtime.operations import parse_signal
from minidocker.runtime.rootfs import parse_options
from minidocker.runtime.state import Status, check_id

SPEC = {"bundle": True, "detach": False, "env": True}


def test_flag_forms() -> None:
    flags, rest = parse_flags(["--bundle", "b", "-d", "-env=A=1", "--env", "B=2", "id", "-x"],
                              SPEC, {"b": "bundle", "d": "detach", "e": "env"})
    assert flags == {"bundle": ["b"], "detach": True, "env": ["A=1", "B=2"]}
    assert rest == ["id", "-x"]  # flags stop at the first positional, as runc's do


def test_bool_flag_values_and_double_dash() -> None:
    flags, rest = parse_flags(["--detach=false", "--", "--bundle"], SPEC)
    assert flags == {"detach": False} and rest == ["--bundle"]
    with pytest.raises(UsageError, match="invalid boolean"):
        parse_flags(["--detach=maybe"], SPEC)


def test_unknown_and_missing_values() -> None:
    with pytest.raises(UsageError, match="not defined: --nope"):
        parse_flags(["--nope"], SPEC)
    with pytest.raises(UsageError, match="needs an argument"):
        parse_flags(["--bundle"], SPEC)


@pytest.mark.parametrize("text,number", [
    ("KILL", 9), ("SIGKILL", 9), ("kill", 9), ("9", 9), ("SIGTERM", 15), ("hup", 1),
    ("SIGRTMIN+1", signal.SIGRTMIN + 1), ("RTMAX-2", signal.SIGRTMAX - 2),
])
def test_signals(text: str, number: int) -> None:
    assert parse_signal(text) == number


@pytest.mark.parametrize("text", ["", "0", "65", "SIGFOO", "-9", "RTMIN+99"])
def test_bad_signals(text: str) -> None:
    with pytest.raises(UsageError, match="invalid signal"):
        parse_signal(text)


def test_container_ids() -> None:
    assert check_id("abc-1.2_x+y") == "abc-1.2_x+y"
    for bad in ("", ".", "..", "a/b", "a b", "é", "a\n"):
        with pytest.raises(UsageError):
            check_id(bad)


def test_status_rules() -> None:
    assert Status.CREATED.can_start() and not Status.RUNNING.can_start()
    assert Status.PAUSED.can_kill() and not Status.STOPPED.can_kill()
    assert Status.STOPPED.can_delete() and not Status.RUNNING.can_delete()
    assert Status.RUNNING == "running" and f"{Status.PAUSED}" == "paused"


def test_mount_options() -> None:
    flags, prop, data = parse_options(["rbind", "ro", "nosuid", "rprivate", "mode=755",
                                       "size=1m", "tmpcopyup"])
    assert flags == libc.MS_BIND | libc.MS_REC | libc.MS_RDONLY | libc.MS_NOSUID
    assert prop == libc.MS_PRIVATE | libc.MS_REC
    assert data == ["mode=755", "size=1m"]
    flags, _, _ = parse_options(["ro", "rw", "noexec", "exec", "nodev"])
    assert flags == libc.MS_NODEV
