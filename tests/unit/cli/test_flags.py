"""The command-line grammar is Docker's (cobra and pflag): each case says what Docker does
and checks that we do the same."""

from __future__ import annotations

from typing import Any

import pytest

from minidocker.cli import flags
from minidocker.cli.main import main, resolve
from minidocker.units import nano_cpus, parse_duration, ram_in_bytes

RUN, *_ = resolve("run", [])
PS, *_ = resolve("ps", [])
RM, *_ = resolve("rm", [])


def run(*argv: str) -> Any:
    return flags.parse(RUN, list(argv))


def error(spec: flags.Spec, *argv: str) -> str:
    with pytest.raises(flags.FlagError) as e:
        flags.parse(spec, list(argv))
    return e.value.message


def test_whole_flag_names_only() -> None:
    """Docker refuses `--priv` (argparse took it for --privileged) and `--pid` is --pid,
    never --pids-limit."""
    assert error(RUN, "--priv", "img") == "unknown flag: --priv"
    assert error(RUN, "--pids", "5", "img") == "unknown flag: --pids"
    assert error(RUN, "--foo", "img") == "unknown flag: --foo"


def test_values_equals_or_next_argument() -> None:
    a = run("--name=web", "--hostname", "h", "-e", "A=1", "--env=B=2", "img")
    assert (a.name, a.hostname, a.env) == ("web", "h", ["A=1", "B=2"])
    assert run("--name", "-x", "img").name == "-x"  # pflag takes the next argument as is
    assert run("--pids-limit", "-1", "img").pids_limit == -1
    assert run("--name=", "img").name == ""


def test_short_flag_clusters() -> None:
    """-itd; a value after the last one, attached (-p80:80, -e=A=1) or next (-dp 80)."""
    a = run("-itd", "img")
    assert (a.interactive, a.tty, a.detach) == (True, True, True)
    assert run("-dp", "8080:80", "img").publish == ["8080:80"]
    assert run("-p8080:80", "img").publish == ["8080:80"]
    assert run("-e=A=1", "img").env == ["A=1"]
    assert error(RUN, "-itx", "img") == "unknown shorthand flag: 'x' in -itx"
    assert error(RUN, "-p") == "flag needs an argument: 'p' in -p"
    assert error(RUN, "--publish") == "flag needs an argument: --publish"


def test_repeated_flags_add_up_or_the_last_wins() -> None:
    a = run("-e", "A=1", "-e", "B=2", "--name", "a", "--name", "b", "img")
    assert a.env == ["A=1", "B=2"] and a.name == "b"


def test_run_stops_at_the_image_others_take_flags_anywhere() -> None:
    a = run("--rm", "img", "ls", "-l", "--rm")
    assert a.image == "img" and a.command == ["ls", "-l", "--rm"] and a.rm
    a = flags.parse(RM, ["c1", "-f", "c2"])
    assert a.force and a.containers == ["c1", "c2"]
    a = flags.parse(RM, ["--", "-c1"])
    assert a.containers == ["-c1"]


def test_bools_take_only_equals_values() -> None:
    assert run("--rm=false", "img").rm is False
    assert run("--sig-proxy=false", "img").sig_proxy is False
    assert run("img").sig_proxy is True
    assert error(RUN, "--sig-proxy=maybe", "img") == (
        'invalid argument "maybe" for "--sig-proxy" flag: strconv.ParseBool: parsing '
        '"maybe": invalid syntax')


def test_bad_values_are_named_with_their_flag() -> None:
    assert error(RUN, "--cpus", "abc", "img") == (
        'invalid argument "abc" for "--cpus" flag: failed to parse abc as a rational number')
    assert error(RUN, "-m", "100x", "img") == (
        "invalid argument \"100x\" for \"-m, --memory\" flag: invalid size: '100x'")
    assert error(PS, "--last", "x") == (
        'invalid argument "x" for "-n, --last" flag: strconv.ParseInt: parsing "x": '
        'invalid syntax')
    assert error(RUN, "-e", "=x", "img") == (
        'invalid argument "=x" for "-e, --env" flag: invalid environment variable: =x')
    assert error(RUN, "--health-interval", "5", "img") == (
        'invalid argument "5" for "--health-interval" flag: time: missing unit in duration '
        '"5"')
    assert error(RUN, "--ulimit", "foo", "img") == (
        'invalid argument "foo" for "--ulimit" flag: invalid ulimit argument: foo')
    assert error(RUN, "--sysctl", "foo", "img") == (
        "invalid argument \"foo\" for \"--sysctl\" flag: sysctl 'foo' is not whitelisted")
    assert error(PS, "--filter", "foo") == (
        'invalid argument "foo" for "-f, --filter" flag: bad format of filter (expected '
        'name=value)')


def test_argument_counts_are_dockers() -> None:
    e = pytest.raises(flags.FlagError, flags.parse, RUN, [])
    assert e.value.message == "requires at least 1 argument." and e.value.exit_code == 1
    assert error(PS, "a") == "accepts no arguments."
    assert error(resolve("rename", [])[0], "a") == "requires exactly 2 arguments."
    assert error(resolve("port", [])[0]) == "requires at least 1 and at most 2 arguments."


def test_typed_values() -> None:
    a = run("--cpus", "1.5", "-m", "64m", "--memory-swap", "-1", "--health-interval",
            "1m30s", "--ulimit", "nofile=10:20", "--sysctl", "net.core.somaxconn=5", "img")
    assert a.cpus == 1_500_000_000 and a.memory == 64 << 20 and a.memory_swap == -1
    assert a.health_interval == 90 * 10**9
    assert a.ulimit == [{"Name": "nofile", "Soft": 10, "Hard": 20}]
    assert a.sysctl == {"net.core.somaxconn": "5"}


@pytest.mark.parametrize(("text", "nano"), [("1.5", 1_500_000_000), ("3/2", 1_500_000_000),
                                            ("1e-2", 10_000_000), (".5", 500_000_000)])
def test_decimal(text: str, nano: int) -> None:
    assert nano_cpus(text) == nano


def test_decimal_errors() -> None:
    with pytest.raises(ValueError, match="too precise"):
        nano_cpus("0.0000000001")
    with pytest.raises(ValueError, match="rational number"):
        nano_cpus("1e100000")
    assert nano_cpus("1e308") > 2**63  # the service layer says how many CPUs there are


def test_sizes_and_durations() -> None:
    assert ram_in_bytes("512") == 512 and ram_in_bytes("1.5g") == 3 << 29
    assert ram_in_bytes("10 MiB") == 10 << 20 and ram_in_bytes("6MB") == 6 << 20
    for bad in ("100x", "", "k", "-1"):
        with pytest.raises(ValueError, match="invalid size"):
            ram_in_bytes(bad)
    assert parse_duration("1h30m") == 5400 * 10**9 and parse_duration("300ms") == 3 * 10**8
    assert parse_duration("0") == 0 and parse_duration("-2m") == -120 * 10**9
    with pytest.raises(ValueError, match='unknown unit "x"'):
        parse_duration("5x")


def test_help_is_dockers_layout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("\nUsage:  minidocker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\n"
                          "Run a command in a new container\n\nOptions:\n")
    assert "  -h, --hostname string " in out  # -h is --hostname, as Docker's
    assert "--net " not in out  # hidden aliases are not listed
    assert main(["help", "run"]) == 0
    assert capsys.readouterr().out == out
    assert main(["container", "ls", "--help"]) == 0
    out = capsys.readouterr().out
    assert "Usage:  minidocker container ls [OPTIONS]" in out and "Aliases:\n  ls, ps, list" in out
    assert main(["container", "--help"]) == 0
    out = capsys.readouterr().out
    assert "\nCommands:\n  attach " in out and "  prune       Remove all stopped containers" in out
    assert main(["ps", "-h"]) == 0
    assert main(["help", "nosuch"]) == 1


def test_usage_errors_are_two_lines(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--root", "/nonexistent", "run", "--foo", "img"]) == 125
    assert capsys.readouterr().err == ("minidocker: error: unknown flag: --foo\n"
                                       "See 'minidocker run --help'.\n")
    assert main(["--root", "/nonexistent", "stop"]) == 1
    err = capsys.readouterr().err
    assert err.startswith('minidocker: error: "minidocker stop" requires at least 1 argument.'
                          "\nSee 'minidocker stop --help'.\n\nUsage:  minidocker stop ")
    assert main(["nosuch"]) == 1
    assert "'nosuch' is not a minidocker command" in capsys.readouterr().err
    assert main(["container", "nosuch"]) == 1
    assert "'container nosuch' is not a minidocker command" in capsys.readouterr().err
