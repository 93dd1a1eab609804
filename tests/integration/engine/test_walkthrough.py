"""docs/how-a-container-starts.md stays true: the steps it lists for each process still
happen in a fresh trace of the same `minidocker run`, in that order, and every function
it links to exists. (Regenerate the page with scripts/trace_walkthrough.py.)"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from typing import Any

from tests.conftest import REPO
from tests.trace_schema import check_trace

PAGE = REPO / "docs" / "how-a-container-starts.md"


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("trace_walkthrough",
                                                  REPO / "scripts" / "trace_walkthrough.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def first_appearances(keys: list[str]) -> list[str]:
    """Each step once, where it first happens: how often a step repeats (cgroup
    directories that exist already, say) does not change what follows what."""
    seen: list[str] = []
    for key in keys:
        if key not in seen:
            seen.append(key)
    return seen


def page_steps() -> dict[str, list[str]]:
    """role heading -> the steps the page lists for it, in order."""
    steps: dict[str, list[str]] = {}
    role = None
    for line in PAGE.read_text().splitlines():
        heading = re.match(r"#### In (.+)$", line)
        if heading:
            role = heading.group(1)
            continue
        item = re.match(r"\d+\. \*\*(.+?)\*\*", line)
        if item and role is not None:
            steps.setdefault(role, []).append(item.group(1))
    return steps


def is_subsequence(wanted: list[str], found: list[str]) -> bool:
    it = iter(found)
    return all(any(f == w for f in it) for w in wanted)


def test_the_page_lists_the_steps_of_a_fresh_trace_in_order(tmp_path: Path) -> None:
    gen = _generator()
    listed = page_steps()
    assert set(listed) == set(gen.ROLES.values())
    assert sum(len(v) for v in listed.values()) > 40
    events, _, _ = gen.run_traced(tmp_path)
    (tmp_path / "check.json").write_text(
        "[\n" + ",\n".join(json.dumps(e) for e in events) + "\n]")
    check_trace(tmp_path / "check.json")
    fresh: dict[str, list[str]] = {}
    for role, steps in gen.walk(events):
        fresh.setdefault(gen.ROLES.get(role, role), []).extend(s["key"] for s in steps)
    for role, steps in listed.items():
        wanted, found = first_appearances(steps), first_appearances(fresh[role])
        assert is_subsequence(wanted, found), (role, wanted, found)


def test_the_page_links_to_functions_that_exist() -> None:
    links = re.findall(r"\[`([\w.]+)`\]\(\.\./src/([\w/]+\.py)\)", PAGE.read_text())
    assert len(links) > 40
    for func, path in set(links):
        source = (REPO / "src" / path).read_text()
        assert re.search(rf"^\s*def {func.split('.')[-1]}\(", source, re.M), (func, path)
