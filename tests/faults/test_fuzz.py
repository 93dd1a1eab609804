"""Bad input: config.json documents with a field of the wrong type, a missing field or an
odd value, run by `minidocker-runtime`. Each either runs or fails with a short error and
no traceback, and leaves no state, mount, cgroup or process behind."""

from __future__ import annotations

import copy
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.conftest import run_captured, tool
from tests.conftest import test_spec as oci_spec
from tests.faults.harness import FIGURES, RANDOM, TRIALS

VALUES: list[Any] = [None, 0, -1, 2**64, 1e308, "", "abc", [], {}, [1], {"a": 1}, True,
                     "\x00", "../../x", "/proc/self", "a" * 5000, "DELETE"]
# never mutated: with a namespace removed, or the cgroup moved, a fuzzed config could touch
# the host; hooks run host commands
FIXED = {("linux", "namespaces"), ("linux", "cgroupsPath"), ("hooks",)}


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if prefix:
        yield prefix
    if any(prefix[:len(f)] == f for f in FIXED):
        return
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from _paths(value, prefix + (i,))


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    for part in path[:-1]:
        doc = doc[part]
    if value == "DELETE":
        del doc[path[-1]]
    else:
        doc[path[-1]] = value


def base_spec() -> dict[str, Any]:
    spec = oci_spec(["true"])
    spec["hostname"] = "fuzz"
    spec["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}]
    spec["linux"]["resources"] = {"memory": {"limit": 100_000_000}, "pids": {"limit": 100},
                                  "cpu": {"shares": 512}}
    return spec


def _cgroups(path: str) -> list[str]:
    return [p for p in (f"/sys/fs/cgroup/{c}{path}" for c in os.listdir("/sys/fs/cgroup"))
            if os.path.isdir(p)]


def test_fuzzed_configs_fail_cleanly_and_leave_nothing(busybox_rootfs: Path,
                                                       tmp_path: Path) -> None:
    state = tmp_path / "state"
    spec = base_spec()
    paths = list(_paths(spec))
    problems: list[str] = []
    for _ in range(max(20, 20 * TRIALS)):
        cid = "fz" + uuid.uuid4().hex[:10]
        doc = copy.deepcopy(spec)
        doc["linux"]["cgroupsPath"] = f"/minidocker-faults/{cid}"
        path, value = RANDOM.choice(paths), RANDOM.choice(VALUES)
        try:
            _set(doc, path, value)
        except (KeyError, IndexError, TypeError):
            continue
        bundle = tmp_path / cid
        bundle.mkdir()
        (bundle / "rootfs").symlink_to(busybox_rootfs)
        (bundle / "config.json").write_text(json.dumps(doc))
        what = f"{'.'.join(map(str, path))} = {str(value)[:20]!r}"
        proc = run_captured([tool("minidocker-runtime"), "--root", str(state), "run", "-b",
                             str(bundle), cid], timeout=60)
        found = []
        err = proc.stderr.strip()
        if "Traceback" in err or proc.returncode and len(err.splitlines()) > 2:
            found.append(f"{what}: {proc.returncode} {err[-300:]!r}")
        delete = run_captured([tool("minidocker-runtime"), "--root", str(state), "delete",
                               "--force", cid])
        if "Traceback" in delete.stderr:
            found.append(f"{what}: delete: {delete.stderr[-300:]!r}")
        if (state / cid).exists():
            found.append(f"{what}: runtime state left")
        with open("/proc/self/mountinfo") as f:
            found += [f"{what}: mount {line.split()[4]}" for line in f
                      if line.split()[4].startswith(str(bundle))]
        found += [f"{what}: cgroup {p}" for p in _cgroups(f"/minidocker-faults/{cid}")]
        FIGURES.add("fuzzed config.json", not found, "; ".join(found))
        problems += found
        shutil.rmtree(bundle, ignore_errors=True)
    for path in _cgroups("/minidocker-faults"):
        try:
            os.rmdir(path)
        except OSError:
            pass
    assert not problems, problems
