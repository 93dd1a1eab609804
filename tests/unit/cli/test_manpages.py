"""Man pages, generated from the flag tables: one per command and sub-command, each with
every flag of --help, and valid man(7) (groff finds nothing to warn about)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from minidocker.cli import manpages
from minidocker.cli.completion import tree
from minidocker.cli.main import COMMANDS


def test_one_page_per_command_with_every_flag(tmp_path: Path) -> None:
    written = {Path(p).name for p in manpages.write(str(tmp_path))}
    nodes = list(tree())
    assert written == {"minidocker.1"} | {f"{manpages.page_name(n)}.1" for n in nodes}
    assert {f"minidocker-{name}.1" for name in COMMANDS} <= written
    assert "minidocker-container-ls.1" in written and "minidocker-network-create.1" in written
    for node in nodes:
        text = (tmp_path / f"{manpages.page_name(node)}.1").read_text()
        for flag in node.shown_flags():
            assert f"\\fB\\-\\-{flag[1].replace('-', chr(92) + '-')}\\fP" in text, \
                (node.name, flag[1])


def test_pages_render_without_warnings(tmp_path: Path) -> None:
    groff = shutil.which("groff")
    assert groff, "groff comes with man-db (scripts/setup --dev)"
    manpages.write(str(tmp_path))
    for page in sorted(tmp_path.iterdir()):
        result = subprocess.run([groff, "-man", "-Tutf8", "-ww", "-z", str(page)],
                                capture_output=True, text=True)
        assert result.returncode == 0 and result.stderr == "", (page.name, result.stderr)
    shown = subprocess.run([groff, "-man", "-Tutf8", "-P-cbou", str(tmp_path / "minidocker-run.1")],
                           capture_output=True, text=True).stdout
    assert "minidocker-run - Run a command in a new container" in shown
    assert "--privileged" in shown.replace("\u2010", "-")
