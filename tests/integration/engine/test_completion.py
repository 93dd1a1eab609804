"""Shell completion, as `minidocker completion bash|zsh|fish` makes it from the flag
tables: bash's own completion driven for real (an interactive bash on a pty, TAB typed),
and the zsh and fish scripts loaded by their shells."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.conftest import drive_pty, tool
from tests.integration.engine.conftest import Engine


def completed(engine: Engine, typed: list[bytes]) -> list[str]:
    """Type each of `typed` (with its TABs) at an interactive bash that loaded the
    script, then print the line as completed (C-a, `echo `, Enter): the lines echoed."""
    env = {"PATH": f"{os.path.dirname(tool('minidocker'))}:/usr/sbin:/usr/bin:/sbin:/bin",
           "HOME": str(engine.root), "TERM": "dumb", "PS1": "$ ", "INPUTRC": "/dev/null"}
    lines = [b"source <(minidocker completion bash)\n"]
    for text in typed:
        lines += [text, b"\x01echo COMPLETED: \n"]
    lines.append(b"exit\n")
    out, code = drive_pty(["/bin/bash", "--norc", "--noprofile", "-i"], lines, env=env,
                          pause=0.8, timeout=120)
    assert code == 0, out
    return [line.split("COMPLETED: ", 1)[1].strip() for line in
            out.decode(errors="replace").replace("\r", "").split("\n")
            if line.startswith("COMPLETED: ")]


def test_bash_completes_commands_flags_and_names(engine: Engine) -> None:
    """Docker's bash completion completes commands, sub-commands, flags, flag values and
    the names of containers and images; ours, from our own flag tables, as well."""
    root = str(engine.root)
    engine.ok("import", engine.image, "busybox:latest")
    engine.ok("create", "--name", "webserver", "--network", "none", "busybox", "true")
    got = completed(engine, [
        f"minidocker --root {root} ru\t".encode(),
        f"minidocker --root {root} run --netw\t no\t--rest\ton-f\t".encode(),
        f"minidocker --root {root} rm webs\t".encode(),
        f"minidocker --root {root} run --rm busy\t".encode(),
        f"minidocker --root {root} container insp\t".encode(),
        f"minidocker --root {root} run --priv\t".encode(),
    ])
    assert got == [
        f"minidocker --root {root} run",
        f"minidocker --root {root} run --network none --restart on-failure",
        f"minidocker --root {root} rm webserver",
        f"minidocker --root {root} run --rm busybox:latest",
        f"minidocker --root {root} container inspect",
        f"minidocker --root {root} run --privileged",
    ]


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_load_their_scripts(engine: Engine, shell: str) -> None:
    """The scripts are valid for their shells and define minidocker's completion."""
    path = shutil.which(shell)
    assert path, f"{shell} is installed by scripts/setup --dev"
    script = engine.ok("completion", shell)
    check = {"zsh": "autoload -U compinit && compinit -u; source /dev/stdin; "
                    "print -r -- ${_comps[minidocker]}",
             "fish": "source; complete -C 'minidocker ru'"}[shell]
    result = subprocess.run([path, "-c", check], input=script, capture_output=True,
                            text=True, timeout=60, env={"HOME": str(engine.root),
                                                        "PATH": os.environ["PATH"]})
    assert result.returncode == 0, result.stderr
    if shell == "zsh":
        assert "_bash_complete" in result.stdout or "minidocker" in result.stdout, result
    else:
        assert result.stdout.split("\t")[0].strip() == "run", result.stdout
