"""Damaged container records: state.json or config.json of a running or stopped
container flipped, truncated, emptied, removed, or given a field of the wrong type. `ps -a`
still works (the others listed, the damaged one reported), and `rm -f` removes it with
everything it had."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from tests.faults.harness import IMAGE, RANDOM, TRIALS, FaultRoot

FIELDS = {"state.json": ["Pid", "Status", "ExitCode", "StartedAt", "MonitorPid", "Health",
                         "Networks", "Running"],
          "config.json": ["Id", "Name", "Config", "HostConfig", "Mounts", "Args", "Created",
                          "Lowers"]}
WRONG = ["abc", 12, -1, None, [], {}, True, "2026-99-99T99:99:99Z"]


def damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "flip":
        i = RANDOM.randrange(len(data))
        path.write_bytes(data[:i] + bytes([data[i] ^ (1 << RANDOM.randrange(8))]) +
                         data[i + 1:])
    elif how == "truncate":
        path.write_bytes(data[:RANDOM.randrange(len(data))])
    elif how == "remove":
        path.unlink()
    else:  # a field of the wrong type
        doc = json.loads(data)
        doc[RANDOM.choice(FIELDS[path.name])] = RANDOM.choice(WRONG)
        path.write_text(json.dumps(doc))


def test_damaged_records_are_reported_and_removable(faults: FaultRoot) -> None:
    problems: list[str] = []
    for _ in range(max(4, 2 * TRIALS)):
        good = faults.ok("run", "-d", "--name", "good", IMAGE, "sleep", "600").strip()
        running = RANDOM.random() < 0.5
        bad = faults.ok("run", "-d", "-p", "127.0.0.1::80", "-v", "/anon", IMAGE, "sh",
                        "-c", "sleep 600" if running else "true").strip()
        if not running:
            faults.wait_for(lambda bad=bad: faults.status(bad) == "exited")
        time.sleep(0.3)  # its monitor has settled (it writes in the record as it starts)
        name, how = RANDOM.choice(list(FIELDS)), RANDOM.choice(["flip", "truncate", "remove",
                                                                "type", "type"])
        record = faults.root / "containers" / bad
        damage(record / name, how)
        os.utime(record, (0, 0))  # not a create in progress
        what = f"{name} {how} ({'running' if running else 'exited'})"
        found = []
        ps = faults.run("ps", "-a", "--no-trunc", "--format", "{{.ID}}")
        if ps.returncode != 0 or "Traceback" in ps.stderr or good not in ps.stdout:
            found.append(f"ps -a: {ps.returncode} {ps.stderr.strip()[:200]}")
        if bad not in ps.stdout and bad[:12] not in ps.stderr:
            found.append(f"ps -a neither lists nor reports {bad[:12]}")
        inspect = faults.run("inspect", bad)
        if "Traceback" in inspect.stderr:
            found.append(f"inspect: {inspect.stderr.strip()[-200:]}")
        problems += faults.verify("damaged record", what, found=found)
    assert not problems, problems
