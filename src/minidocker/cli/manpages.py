"""Man pages of minidocker, one per command (minidocker-run(1), minidocker-container-ls(1)
...), made from the same Specs as the parser, --help and the completion scripts.

    python -m minidocker.cli.manpages DIR     (make man; scripts/setup installs them in
                                               .venv/share/man/man1, which man finds when
                                               .venv/bin is in PATH)
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from minidocker.cli.completion import Node


def _roff(text: str) -> str:
    """Text safe in a man page: backslashes and hyphens escaped, no line starting with
    a control character."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join("\\&" + line if line[:1] in (".", "'") else line
                     for line in text.split("\n"))


def page_name(node: Node) -> str:
    return "-".join(("minidocker", *node.path))


def page(node: Node, version: str) -> str:
    """The man page of one command."""
    from minidocker.cli.flags import option
    name = page_name(node)
    prog = " ".join(("minidocker", *node.path))
    out = [f'.TH "{name.upper()}" "1" "" "minidocker {version}" "minidocker Manual"',
           ".SH NAME", f"{_roff(name)} \\- {_roff(node.summary)}",
           ".SH SYNOPSIS", f"\\fB{_roff(prog)}\\fP {_roff(node.spec.usage)}",
           ".SH DESCRIPTION", _roff(node.summary) + "."]
    if node.aliases:
        out += [".PP", "Also: " + _roff(", ".join(" ".join(("minidocker", *node.path[:-1],
                                                             a)) for a in node.aliases))]
    flags = node.shown_flags()
    if flags:
        out.append(".SH OPTIONS")
        for flag in flags:
            head = (f"\\fB\\-{flag[0]}\\fP, " if flag[0] else "") + \
                f"\\fB\\-\\-{_roff(flag[1])}\\fP"
            if flag[2] != "bool":
                head += f"=\\fI{_roff(flag[2])}\\fP"
            text = str(flag[3])
            default = option(flag, "help_default", option(flag, "default"))
            if default not in (None, False, "", [], {}, 0):
                text += f" (default {'true' if default is True else default})"
            out += [".TP", head, _roff(text)]
    subs = node.subcommands()
    if subs:
        out.append(".SH COMMANDS")
        for sub in subs:
            entry = (node.spec.subcommands or {})[sub]
            summary = entry.summary
            if not summary and entry.delegate:
                from minidocker.cli.main import COMMANDS
                summary = COMMANDS[entry.delegate][1]
            out += [".TP", f"\\fB{_roff(sub)}\\fP", _roff(summary) + "; see "
                    f"\\fB{_roff(page_name(node))}\\-{_roff(sub)}\\fP(1)"]
    out += [".SH SEE ALSO", "\\fBminidocker\\fP(1)"]
    return "\n".join(out) + "\n"


def main_page(version: str) -> str:
    """minidocker(1): the global options and the commands."""
    from minidocker.cli.completion import Node
    from minidocker.cli.main import COMMANDS, root_spec
    node = Node((), root_spec(), "A daemonless, Docker-like container engine")
    text = page(node, version).replace(".SH SEE ALSO\n\\fBminidocker\\fP(1)\n", "")
    out = [text.rstrip("\n"), ".SH COMMANDS"]
    for name in sorted(COMMANDS):
        out += [".TP", f"\\fB{_roff(name)}\\fP",
                f"{_roff(COMMANDS[name][1])}; see \\fBminidocker\\-{_roff(name)}\\fP(1)"]
    out += [".SH ENVIRONMENT", ".TP", "\\fBMINIDOCKER_ROOT\\fP",
            "The state directory when \\-\\-root is not given (default /var/lib/minidocker).",
            ".TP", "\\fBDOCKER_CONFIG\\fP",
            "The client config directory (credentials) when \\-\\-config is not given "
            "(default ~/.docker)."]
    return "\n".join(out) + "\n"


def write(directory: str) -> list[str]:
    """Write every page into `directory`; their paths."""
    from minidocker import __version__
    from minidocker.cli.completion import tree
    os.makedirs(directory, exist_ok=True)
    written = []
    pages = {"minidocker": main_page(__version__)}
    for node in tree():
        pages[page_name(node)] = page(node, __version__)
    for name, text in pages.items():
        path = os.path.join(directory, f"{name}.1")
        with open(path, "w") as f:
            f.write(text)
        written.append(path)
    return written


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m minidocker.cli.manpages DIR")
    print(f"{len(write(sys.argv[1]))} man pages in {sys.argv[1]}")
