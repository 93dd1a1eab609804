"""ruff and mypy are part of the test suite: the code base stays clean and typed."""

import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.parametrize("tool_args", [["ruff", "check", "src", "tests"], ["mypy"]],
                         ids=["ruff", "mypy"])
def test_clean(tool_args: list[str]) -> None:
    if shutil.which(tool_args[0]) is None and not (REPO / ".venv/bin" / tool_args[0]).exists():
        pytest.fail(f"{tool_args[0]} is not installed: run make setup-dev")
    proc = subprocess.run([sys.executable, "-m", *tool_args], cwd=REPO, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
