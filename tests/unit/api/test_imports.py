"""The two front ends stay apart (DESIGN.md): the API imports nothing of the CLI and the
CLI nothing of the API, and the CLI's start-up pays nothing for the server."""

from __future__ import annotations

import ast
import subprocess
import sys

from tests.conftest import REPO

SRC = REPO / "src" / "minidocker"


def _imports(package: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for path in (SRC / package).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
        out[str(path.relative_to(SRC))] = names
    return out


def test_the_front_ends_do_not_import_each_other() -> None:
    for module, names in _imports("api").items():
        assert not {n for n in names if n.startswith("minidocker.cli")}, module
    for module, names in _imports("cli").items():
        assert not {n for n in names if n.startswith("minidocker.api")}, module


def test_cli_modules_import_no_server_code() -> None:
    """Every command module, and what `run` imports to create and start a container:
    no asyncio, nothing of minidocker.api."""
    code = (f"import sys, pkgutil, importlib; sys.path.insert(0, {str(REPO / 'src')!r}); "
            "import minidocker.cli.main, minidocker.cli.commands as c, "
            "minidocker.engine.lifecycle; "
            "[importlib.import_module('minidocker.cli.commands.' + m.name) "
            " for m in pkgutil.iter_modules(c.__path__)]; "
            "print(sorted(m for m in sys.modules "
            "if m == 'asyncio' or m.startswith('minidocker.api')))")
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
