"""Fixtures of the fault suite, and its figures printed at the end of the run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.harness import FIGURES, FaultRoot, fault_root


@pytest.fixture(scope="module")
def faults(busybox_rootfs: Path) -> Iterator[FaultRoot]:
    """A private root holding the test image, shared by the trials of one module (each
    trial removes what it made and checks that nothing is left)."""
    with fault_root(busybox_rootfs) as env:
        yield env


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not FIGURES.counts:
        return
    for line in FIGURES.lines():
        terminalreporter.write_line(line)
    for failure in FIGURES.failures[:10]:
        terminalreporter.write_line(f"  failed: {failure[:300]}")
