"""The layering rules of DESIGN.md, checked on the source: nothing outside the CLI imports
it, the engine and the layers below it print nothing (their progress and warnings go to
the service layer's sink), and the commands whose start-up is a budget (`ps` here, `run`
in tests/integration/engine/test_service.py) import no more than the lean set they do
today."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

SRC = REPO / "src" / "minidocker"

# what `minidocker ps` and `minidocker run --rm IMAGE true` import beyond what the
# interpreter (-S -I) has at start. A module added here costs every call: import it
# lazily in the command that needs it instead, unless it is worth it (DESIGN.md Budgets).
PS_MODULES = frozenset(str.split("""
__future__ _collections _collections_abc _json _operator _stat collections
collections.abc copyreg errno fcntl gc genericpath importlib importlib._bootstrap
importlib._bootstrap_external itertools keyword operator os os.path posixpath reprlib stat
types warnings
minidocker minidocker.cli minidocker.cli.commands minidocker.cli.commands._common
minidocker.cli.commands.ps minidocker.cli.flags minidocker.cli.formats minidocker.cli.main
minidocker.cli.output minidocker.cli.views minidocker.engine minidocker.engine.index
minidocker.engine.liveness
minidocker.engine.networking minidocker.engine.records
minidocker.engine.runtimes
minidocker.engine.service minidocker.engine.service.containers
minidocker.engine.service.filters minidocker.engine.views minidocker.errors minidocker.fs
minidocker.gotemplate minidocker.gotemplate.execute minidocker.gotemplate.funcs
minidocker.gotemplate.lexer minidocker.gotemplate.parser minidocker.gotemplate.values
minidocker.jsonfast minidocker.units
"""))
RUN_MODULES = frozenset(str.split("""
__future__ _collections_abc _ctypes _json _socket _stat _struct ctypes ctypes._endian fcntl
gc genericpath importlib importlib._bootstrap importlib._bootstrap_external os os.path
posixpath select stat struct types warnings
minidocker minidocker.cli minidocker.cli.attach minidocker.cli.commands
minidocker.cli.commands._common minidocker.cli.commands._container_flags
minidocker.cli.commands.run minidocker.cli.flags minidocker.cli.main minidocker.engine
minidocker.engine.bundle minidocker.engine.events minidocker.engine.health
minidocker.engine.create minidocker.engine.index minidocker.engine.liveness minidocker.engine.logs
minidocker.engine.monitor
minidocker.engine.names minidocker.engine.networking minidocker.engine.records
minidocker.engine.runtimes minidocker.engine.service minidocker.engine.service.containers
minidocker.engine.service.validate minidocker.engine.start
minidocker.engine.volumes minidocker.errors minidocker.fs
minidocker.jsonfast minidocker.linux minidocker.linux.affinity minidocker.linux.capnames
minidocker.linux.libc minidocker.linux.rlimitnames minidocker.linux.userns minidocker.runtime
minidocker.runtime.defaults minidocker.units
"""))

# runs a command of the CLI as its entry point does, then writes the modules it imported
# (the forked monitor never comes back from main(): it ends with os._exit)
_PROBE = """
import os, sys
sys.path.insert(0, {src!r})
out, argv = sys.argv[1], sys.argv[2:]
before = set(sys.modules)
from minidocker.cli.main import main
code = main(argv)
with open(out, "w") as f:
    f.write("\\n".join(sorted(set(sys.modules) - before)))
os._exit(code & 0xFF)
"""


def imported_by(argv: list[str], out: Path) -> set[str]:
    """The modules a `minidocker` command imports (run with -S -I, as the launchers)."""
    proc = subprocess.run([sys.executable, "-S", "-I", "-c",
                           _PROBE.format(src=str(REPO / "src")), str(out), *argv],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return set(out.read_text().split())


def _sources(*parts: str) -> list[Path]:
    return [p for part in parts for p in sorted((SRC / part).rglob("*.py"))]


def test_nothing_outside_the_cli_imports_it() -> None:
    pattern = re.compile(r"\bminidocker\.cli\b|from minidocker import .*\bcli\b")
    found = [f"{p.relative_to(REPO)}:{n}: {line.strip()}"
             for p in sorted(SRC.rglob("*.py")) if "cli" not in p.relative_to(SRC).parts[:1]
             for n, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert found == []


def test_engine_image_and_network_print_nothing() -> None:
    pattern = re.compile(r"(?<![\w.])print\(|\bsys\.(stdout|stderr)\b")
    found = [f"{p.relative_to(REPO)}:{n}: {line.strip()}"
             for p in _sources("engine", "image", "network")
             for n, line in enumerate(p.read_text().splitlines(), 1)
             if pattern.search(line.split("#", 1)[0])]
    assert found == []


def test_ps_imports_stay_lean(tmp_path: Path) -> None:
    modules = imported_by(["--root", str(tmp_path / "root"), "ps", "-a"], tmp_path / "mods")
    assert "minidocker.cli.commands.ps" in modules  # the probe saw the command run
    assert sorted(modules - PS_MODULES) == []
