"""A second minidocker to measure against, side by side: the same launcher as ours (see
scripts/setup), on the source tree of another checkout (`git archive COMMIT src | tar -x
-C DIR`, then pass DIR/src). Used by bench_runtime.py and bench_engine.py --baseline."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ENTRIES = {"minidocker": "minidocker.cli.main", "minidocker-runtime": "minidocker.runtime.cli"}


def launcher(ours: str, src: Path, tmp: Path) -> str:
    """A launcher like `ours` (same interpreter line) that runs the package under `src`,
    byte-compiled first as setup does."""
    name = Path(ours).name
    try:
        first = Path(ours).read_text().splitlines()[0]
    except (OSError, UnicodeDecodeError, IndexError):
        first = ""
    shebang = first if first.startswith("#!") else f"#!{sys.executable} -S"
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(src)], check=True,
                   stdout=subprocess.DEVNULL)
    path = tmp / f"baseline-{name}"
    path.write_text(f'{shebang}\nimport sys\nsys.path.insert(0, "{src.resolve()}")\n'
                    f"from {ENTRIES[name]} import entry\nentry()\n")
    path.chmod(0o755)
    return str(path)
