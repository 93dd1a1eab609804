"""minidocker top: the running processes of a container (ps -ef by default)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("container", metavar="CONTAINER")
    parser.add_argument("ps_args", nargs=argparse.REMAINDER, metavar="[ps OPTIONS]")


def run(args: argparse.Namespace) -> int:
    import subprocess
    import sys

    from minidocker.cli.commands._common import find
    from minidocker.engine import lifecycle
    from minidocker.errors import Conflict, MinidockerError
    record = find(args.container)
    if lifecycle.live_state(record).get("Status") not in ("running", "paused"):
        raise Conflict(f"container {record.id} is not running")
    pids = lifecycle.runtime_of(record).pids(record.id)
    ps_args = args.ps_args or ["-ef"]
    out = subprocess.run(["ps", *ps_args], capture_output=True, text=True)
    if out.returncode != 0:
        raise MinidockerError(f"ps: {out.stderr.strip()}")
    lines = out.stdout.splitlines()
    if not lines:
        return 0
    header = lines[0].split()
    if "PID" not in header:
        raise MinidockerError("couldn't find PID field in ps output")
    col = header.index("PID")
    wanted = {str(p) for p in pids}
    sys.stdout.write(lines[0] + "\n")
    for line in lines[1:]:
        fields = line.split()
        if len(fields) > col and fields[col] in wanted:
            sys.stdout.write(line + "\n")
    return 0
