"""Runtime tests that run twice: with minidocker-runtime, and with runc where it is
installed (`make setup-dev` installs Debian's runc), to show that the test is right."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Runtime, tool


@pytest.fixture(params=["minidocker-runtime", "runc"])
def any_runtime(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Runtime]:
    """A Runtime (private --root) for each of minidocker-runtime and runc."""
    name = request.param
    binary = tool(name) if name == "minidocker-runtime" else shutil.which(name)
    if binary is None:
        pytest.skip(f"{name} is not installed (make setup-dev installs it)")
    rt = Runtime(binary, tmp_path / f"state-{name}")
    try:
        yield rt
    finally:
        rt.cleanup()


@pytest.fixture
def reachable_dir() -> Iterator[Path]:
    """A directory (0711) that an unprivileged id may walk into, for a rootfs used with a
    user namespace or by a rootless runtime: not under pytest's temp root, whose 0700
    mode any pytest session starting meanwhile puts back."""
    top = Path(tempfile.mkdtemp(prefix="minidocker-test-"))
    try:
        top.chmod(0o711)
        yield top
    finally:
        shutil.rmtree(top, ignore_errors=True)
