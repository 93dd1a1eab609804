"""minidocker completion bash|zsh|fish: the shell completion script, made from the same
flag tables as the parser and --help (cli/completion.py)."""

from __future__ import annotations

import sys

from minidocker.cli.flags import Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _script(shell: str) -> Any:
    def write(args: Any) -> int:
        from minidocker.cli import completion
        sys.stdout.write(getattr(completion, shell)())
        return 0
    return write


SPEC = Spec("[command]", subcommands={
    "bash": Spec("", handler=_script("bash"), summary="Generate the autocompletion script "
                 "for bash (load it: source <(minidocker completion bash))"),
    "fish": Spec("", handler=_script("fish"), summary="Generate the autocompletion script "
                 "for fish (load it: minidocker completion fish | source)"),
    "zsh": Spec("", handler=_script("zsh"), summary="Generate the autocompletion script for "
                "zsh (load it: source <(minidocker completion zsh))"),
})
