#!/usr/bin/env python3
"""The fault suite in its long mode: tests/faults with many trials per case (kill -9 of
the CLI and of monitors at random moments, full disks, damaged blobs and records, callers
with odd signal settings). Prints the figures (trials, passes per kind of fault) that the
suite prints at the end; exits non-zero if a trial failed.

Usage: bench_faults.py [--trials N] [--seed S] [-k EXPR]   (as root; N defaults to 20)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20, help="trials per case")
    parser.add_argument("--seed", type=int, help="repeat a run: its seed is printed")
    parser.add_argument("-k", dest="keyword", help="only the cases matching (pytest -k)")
    args = parser.parse_args()
    env = dict(os.environ, MINIDOCKER_FAULT_TRIALS=str(args.trials))
    if args.seed is not None:
        env["MINIDOCKER_FAULT_SEED"] = str(args.seed)
    cmd = [str(REPO / ".venv" / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider",
           str(REPO / "tests" / "faults")]
    if args.keyword:
        cmd += ["-k", args.keyword]
    return subprocess.run(cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL).returncode


if __name__ == "__main__":
    sys.exit(main())
