"""Bad input on the command line: `run`, `exec`, `network create` and `volume create`
with one to three of their flags given odd values (empty, out of range, a wrong type, odd
characters, very long) or plausible ones. Each command either works or fails with one
error line (Docker's exit codes: run's 125, 126 or 127, the others' 1 or 125) and no
traceback; whatever it made is removable and nothing is left (tests/faults/harness.py's
invariants).

Flags that would reach outside the container are not fuzzed: a host namespace (the value
`host` of --network, --pid, --ipc, --uts, --userns, --cgroupns), --privileged, -P (every
exposed port on every address), --cgroup-parent (a cgroup outside minidocker's), --cidfile
and --trace (files in the working directory), --pull (a registry on the internet);
--publish is bound to 127.0.0.1; --restart gets no valid policy (a restart loop of `true`
has no settled status to check). -d, -i, -t and -a are left out: standard input is
/dev/null here."""

from __future__ import annotations

import pytest

from tests.faults.harness import FIGURES, IMAGE, RANDOM, TRIALS, FaultRoot

ODD = ["", "abc", "-1", "0", "1", "1e308", "99999999999999999999", "nan", "-0", "0x10",
       "1.5", ":", "::", "=", "a=b", "a=", "=b", ",", "host", "container:nope", "é",
       "a" * 300, " ", "-", "--x", "1:2", "1:2:3:4", "/", "../..", "/proc/self", "a b",
       "'\"", "%s%n", "$HOME", "\t", "on-failure:abc", "always:3"]
PLAUSIBLE = {"int": ["100", "-100", "2"], "uint16": ["10", "1000", "5"],
             "bytes": ["10m", "1g", "512", "7m"], "duration": ["1s", "-1s", "1ns", "10ms"],
             "decimal": ["0.5", "3", "0.001"], "ulimit": ["nofile=10:20", "nproc=-1"],
             "mount": ["type=tmpfs,dst=/t", "type=volume,dst=/v"],
             "map": ["net.ipv4.ip_forward=1", "kernel.msgmax=1"]}
SKIP = {"privileged", "publish-all", "cgroup-parent", "cidfile", "trace", "pull", "detach",
        "interactive", "tty", "attach"}
NO_HOST = {"network", "net", "pid", "ipc", "uts", "userns", "cgroupns"}
# Docker's client: run fails with 125 (126, 127: the command cannot be run), the other
# commands with 1, or 125 for a flag it cannot parse
CODES = {"run": (0, 125, 126, 127), "exec": (0, 1, 125, 126, 127)}
CODES.update(network=(0, 1, 125), volume=(0, 1, 125))
EXTRA_LINES = ("minidocker: warning:", "hint:", "See 'minidocker ")


def _flags(command: str) -> list[tuple[str, str]]:
    """(name, kind) of the command's flags that are fuzzed."""
    if command == "run":
        from minidocker.cli.commands._container_flags import CREATE_FLAGS, RUN_FLAGS
        table = CREATE_FLAGS + RUN_FLAGS
    else:
        from importlib import import_module
        first, _, sub = command.partition(" ")
        spec = import_module(f"minidocker.cli.commands.{first}").SPEC
        table = (spec.subcommands[sub] if sub else spec).flags
    return [(flag[1], flag[2]) for flag in table if flag[1] not in SKIP]


def _value(name: str, kind: str) -> str | None:
    """A value for --name (None: the flag alone, for a bool)."""
    if kind == "bool":
        return RANDOM.choice([None, None, "false", "abc"])
    values = PLAUSIBLE[kind] if kind in PLAUSIBLE and RANDOM.random() < 0.4 else ODD
    if name in NO_HOST:
        values = [v for v in values if v != "host"]
    if name == "restart":
        values = [v for v in values if v not in ("always", "unless-stopped", "on-failure")]
    value = RANDOM.choice(values)
    return "127.0.0.1:" + value if name == "publish" else value


def _one_line(stderr: str) -> bool:
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if not line.startswith(EXTRA_LINES)]
    return len(errors) == 1 and errors[0].startswith("minidocker: error: ") and \
        "Traceback" not in stderr


def _running(env: FaultRoot) -> list[str]:
    env.ok("run", "-d", "--name", "fz", "--network", "none", IMAGE, "sleep", "600")
    return ["fz"]


# command -> (trials per TRIALS, setup returning the arguments before the flags' end,
# arguments after the flags)
CASES = {
    "run": (12, None, [IMAGE, "true"]),
    "exec": (3, _running, ["true"]),
    "network create": (3, None, ["fz"]),
    "volume create": (2, None, ["fz"]),
}


@pytest.mark.parametrize("command", list(CASES))
def test_fuzzed_flags_fail_in_one_line_and_leave_nothing(faults: FaultRoot,
                                                         command: str) -> None:
    trials, setup, tail = CASES[command]
    flags = _flags(command)
    problems: list[str] = []
    for _ in range(trials * TRIALS):
        argv: list[str] = []
        for name, kind in RANDOM.sample(flags, RANDOM.randint(1, min(3, len(flags)))):
            value = _value(name, kind)
            argv.append(f"--{name}" if value is None else f"--{name}={value}")
        what = f"{command} " + " ".join(a[:40] for a in argv)
        target = setup(faults) if setup else []
        proc = faults.run(*command.split(), *argv, *target, *tail, timeout=90)
        found = []
        if proc.returncode not in CODES[command.split()[0]]:
            found.append(f"{what}: exit {proc.returncode}: {proc.stderr.strip()[-300:]!r}")
        elif proc.returncode and not _one_line(proc.stderr):
            found.append(f"{what}: not one line: {proc.stderr.strip()[-300:]!r}")
        FIGURES.add(f"{command} accepted", proc.returncode == 0, failure=False)
        problems += faults.verify("fuzzed flags", what, found=found)
    assert not problems, problems
