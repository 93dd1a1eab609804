"""Write docker_20_10.py (Docker's flags per command) from `docker COMMAND --help` of
Debian's docker.io client (/usr/bin/docker, never /usr/local/bin/docker). Needs no daemon:
only the help texts are read. Run by hand when Docker's table is to be remade:

    .venv/bin/python tests/unit/cli/make_docker_table.py
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

DOCKER = "/usr/bin/docker"
# management commands of Docker that minidocker does not have (swarm, plugins, contexts,
# trust, manifests; `completion` is ours, generated from our own flags)
SKIPPED = {"config", "context", "manifest", "node", "plugin", "secret", "service", "stack",
           "swarm", "trust", "completion"}
OUT = Path(__file__).with_name("docker_20_10.py")


def help_of(path: list[str]) -> str:
    return subprocess.run([DOCKER, *path, "--help"], capture_output=True, text=True,
                          env={"COLUMNS": "200", "PATH": "/usr/bin:/bin",
                               "HOME": "/nonexistent"}, check=True).stdout


def parse(text: str) -> tuple[dict[str, tuple[str, str]], list[str]]:
    flags: dict[str, tuple[str, str]] = {}
    subs: list[str] = []
    section = None
    for line in text.splitlines():
        if re.match(r"^(Options|Commands|Management Commands):", line):
            section = line.split(":")[0]
        elif section == "Options":
            m = re.match(r"^\s+(?:-(\w), )?--([\w-]+)(?: ([\w-]+))?\s{2,}", line)
            if m and m.group(2) != "help":
                flags[m.group(2)] = (m.group(1) or "", m.group(3) or "bool")
        elif section and line.strip():
            m = re.match(r"^\s+([\w-]+)\s+", line)
            if m:
                subs.append(m.group(1))
    return flags, subs


def walk(path: list[str], table: dict[str, Any], groups: dict[str, list[str]]) -> None:
    flags, subs = parse(help_of(path))
    if not subs or not path:
        table[" ".join(path) or "(global)"] = flags
    if subs and path:
        groups[" ".join(path)] = subs
    for sub in subs:
        if not (len(path) == 0 and sub in SKIPPED):
            walk([*path, sub], table, groups)


def main() -> None:
    table: dict[str, dict[str, tuple[str, str]]] = {}
    groups: dict[str, list[str]] = {}
    walk([], table, groups)
    lines = [
        '"""Docker 20.10\'s command-line flags: each command\'s long flag names with their',
        "shorthand and type, as `docker COMMAND --help` of Debian's docker.io 20.10.24 lists "
        "them",
        "(its reference: docs.docker.com/engine/reference/commandline/). Made once with",
        'tests/unit/cli/make_docker_table.py; kept here so that no test runs Docker."""',
        "", "from __future__ import annotations", "",
        "# command -> {long name: (shorthand, type)}; --help, which every command has, "
        "left out",
        "DOCKER_FLAGS: dict[str, dict[str, tuple[str, str]]] = {"]
    for command, flags in table.items():
        if not flags:
            lines.append(f"    {command!r}: {{}},")
            continue
        lines.append(f"    {command!r}: {{")
        lines += [f"        {name!r}: {value!r}," for name, value in flags.items()]
        lines.append("    },")
    lines += ["}", "", "# the management commands and their sub-commands",
              "DOCKER_SUBCOMMANDS: dict[str, tuple[str, ...]] = {"]
    for group, subs in groups.items():
        lines.append(f"    {group!r}: (")
        line = "       "
        for sub in subs:
            if len(line) + len(sub) + 4 > 99:
                lines.append(line)
                line = "       "
            line += f" {sub!r},"
        lines += [line, "    ),"]
    lines.append("}")
    OUT.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
