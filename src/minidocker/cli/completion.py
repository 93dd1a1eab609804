"""Shell completion scripts (bash, zsh, fish) and the command tree they and the man pages
are made from: the same Specs the parser reads (cli/flags.py), so a flag that exists
completes and one that does not, does not.

Words that depend on the state (containers, images, networks, volumes) are asked of
`minidocker` itself when completing, with the --root of the line being completed."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

    from minidocker.cli.flags import Flag, Spec

# what a positional argument names, by its name in the Spec (and the command group)
ARG_KINDS = {"container": "container", "containers": "container", "image": "image",
             "images": "image", "repository": "image", "source": "image", "target": "image",
             "file": "file", "context": "directory", "src": "file", "dest": "file",
             "command": "command", "ps_args": "", "server": "", "new_name": "", "port": "",
             "reference": "image"}
GROUP_KINDS = {"network": "network", "volume": "volume"}


class Node:
    """One command of the tree: its path ("network", "create"), Spec and summary."""

    def __init__(self, path: tuple[str, ...], spec: Spec, summary: str,
                 aliases: tuple[str, ...] = ()):
        self.path = path
        self.spec = spec
        self.summary = summary
        self.aliases = aliases

    @property
    def name(self) -> str:
        return " ".join(self.path)

    def shown_flags(self) -> list[Flag]:
        from minidocker.cli.flags import option
        return sorted((f for f in self.spec.flags if not option(f, "hidden")),
                      key=lambda f: str(f[1]))

    def subcommands(self) -> list[str]:
        subs = self.spec.subcommands or {}
        return sorted(name for name, sub in subs.items()
                      if not sub.hidden and not (sub.aliases and name != sub.aliases[0]
                                                 and name in sub.aliases[1:]))

    def arg_kinds(self) -> list[str]:
        """What each positional argument completes to (the last repeats)."""
        out = []
        for arg in self.spec.args:
            dest = arg[0]
            kind = arg[2] if len(arg) > 2 else ARG_KINDS.get(dest)
            if kind is None:
                kind = GROUP_KINDS.get(self.path[0], "")
                if self.path[0] == "inspect":
                    kind = "container image network volume"
                if self.path[:2] in (("network", "connect"), ("network", "disconnect")):
                    kind = "network" if dest == "network" else "container"
            out.append(kind)
        return out


def tree() -> Iterator[Node]:
    """Every command and sub-command, with the Spec that parses it."""
    from minidocker.cli.main import COMMANDS, resolve
    for name in sorted(COMMANDS):
        spec, _, summary, _, _, _ = resolve(name, [])
        yield Node((name,), spec, summary)
        for sub in sorted(spec.subcommands or {}):
            entry = (spec.subcommands or {})[sub]
            if entry.aliases and sub != entry.aliases[0]:
                continue
            target, _, summary, _, _, aliases = resolve(name, [sub])
            yield Node((name, sub), target, summary, aliases)


# ---- bash ------------------------------------------------------------------------------------


def _flag_words(node: Node) -> tuple[list[str], list[str]]:
    """(every flag spelling, the ones that take a value)."""
    from minidocker.cli.flags import option
    words, valued = ["--help"], []
    for flag in node.spec.flags:
        names = [f"--{flag[1]}"] + ([f"-{flag[0]}"] if flag[0] else [])
        if not option(flag, "hidden"):
            words += names
        if flag[2] != "bool":
            valued += names
    return words, valued


def _value_kind(flag: Flag) -> str:
    from minidocker.cli.flags import option
    complete = option(flag, "complete")
    if isinstance(complete, tuple):
        return "words:" + " ".join(complete)
    return str(complete or "")


def bash() -> str:
    """The bash script: `source <(minidocker completion bash)`."""
    subs: dict[str, str] = {}
    flags: dict[str, str] = {}
    valued: dict[str, str] = {}
    values: dict[str, str] = {}
    args: dict[str, str] = {}
    raw: list[str] = []
    top = Node((), _root_spec(), "")
    nodes = [top, *tree()]
    for node in nodes:
        key = node.name or "."  # bash has no empty key
        if node.spec.subcommands is not None or not node.path:
            subs[key] = " ".join(node.subcommands() if node.path else
                                 [n.name for n in nodes if len(n.path) == 1] + ["help"])
        words, takes = _flag_words(node)
        flags[key] = " ".join(words)
        valued[key] = " ".join(takes)
        for flag in node.spec.flags:
            kind = _value_kind(flag)
            if kind and flag[2] != "bool":
                for spelling in [f"--{flag[1]}"] + ([f"-{flag[0]}"] if flag[0] else []):
                    values[f"{key}|{spelling}"] = kind
        args[key] = " ".join(k.replace(" ", "+") or "-" for k in node.arg_kinds())
        if not node.spec.interspersed and node.path:
            raw.append(key.replace(" ", "/"))

    def table(name: str, items: dict[str, str]) -> str:
        body = "\n".join(f"  [{_sh(k)}]={_sh(v)}" for k, v in sorted(items.items()))
        return f"declare -gA {name}=(\n{body}\n)"

    return _BASH.replace("@TABLES@", "\n".join((
        table("_minidocker_subs", subs), table("_minidocker_flags", flags),
        table("_minidocker_valued", valued), table("_minidocker_values", values),
        table("_minidocker_args", args),
        f"_minidocker_stop_at_args={_sh(' '.join(raw))}")))  # paths with / for spaces


def _root_spec() -> Spec:
    from minidocker.cli.main import root_spec
    return root_spec()


def _sh(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


_BASH = r'''# bash completion for minidocker, made by `minidocker completion bash` from its own
# flag tables. Load it with:  source <(minidocker completion bash)
@TABLES@

_minidocker_names() {  # KIND...: the names minidocker knows, for the --root of the line
    local kind
    for kind in "$@"; do
        case $kind in
            container) "${_minidocker_cmd[@]}" ps -a --format '{{.Names}}' 2>/dev/null ;;
            image) "${_minidocker_cmd[@]}" images --format '{{.Repository}}:{{.Tag}}' \
                       2>/dev/null | grep -v '<none>' ;;
            network) "${_minidocker_cmd[@]}" network ls --format '{{.Name}}' 2>/dev/null
                     printf '%s\n' host none ;;  # --network's modes that are no network
            volume) "${_minidocker_cmd[@]}" volume ls -q 2>/dev/null ;;
        esac
    done
}

_minidocker_complete_kind() {  # KIND CUR: fill COMPREPLY
    local kind=$1 cur=$2
    case $kind in
        words:*) COMPREPLY=($(compgen -W "${kind#words:}" -- "$cur")) ;;
        file) COMPREPLY=($(compgen -f -- "$cur")) ;;
        directory) COMPREPLY=($(compgen -d -- "$cur")) ;;
        signal)
            local signals
            signals=$(compgen -A signal | grep -v EXIT | sed 's/^SIG//; p; s/^/SIG/')
            COMPREPLY=($(compgen -W "$signals" -- "$cur")) ;;
        capability)
            local caps
            caps=$(sed -n 's/^#define CAP_\([A-Z_]*\)[[:space:]].*/\1/p' \
                   /usr/include/linux/capability.h 2>/dev/null)
            COMPREPLY=($(compgen -W "ALL $caps" -- "$cur")) ;;
        command) COMPREPLY=($(compgen -c -- "$cur")) ;;
        container|image|network|volume|container+*)
            local names
            names=$(_minidocker_names ${kind//+/ })
            COMPREPLY=($(compgen -W "$names" -- "$cur")) ;;
        *) COMPREPLY=() ;;
    esac
}

_minidocker() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
    local path="" key i word nargs=0 root="" after_args=""
    _minidocker_cmd=("${COMP_WORDS[0]}")
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        if [[ -n $after_args ]]; then
            nargs=$((nargs + 1)); continue
        fi
        if [[ $word == --root=* ]]; then root=${word#--root=}; continue; fi
        if [[ $word == --root && -z $path ]]; then
            root=${COMP_WORDS[i+1]}; i=$((i + 1)); continue
        fi
        key=${path:-.}
        if [[ $word == -* ]]; then
            if [[ $word != *=* && " ${_minidocker_valued[$key]} " == *" $word "* ]]; then
                i=$((i + 1))
            fi
            continue
        fi
        if [[ $nargs == 0 && -n ${_minidocker_subs[$key]+x} && \
              " ${_minidocker_subs[$key]} " == *" $word "* ]]; then
            path=${path:+$path }$word
            continue
        fi
        nargs=$((nargs + 1))
        if [[ " $_minidocker_stop_at_args " == *" ${path// //} "* ]]; then after_args=1; fi
    done
    key=${path:-.}
    [[ -n $root ]] && _minidocker_cmd+=(--root "$root")
    if [[ $path == help ]]; then
        COMPREPLY=($(compgen -W "${_minidocker_subs[.]}" -- "$cur")); return
    fi
    if [[ -n $after_args ]]; then
        COMPREPLY=($(compgen -f -- "$cur")); return
    fi
    local kind=${_minidocker_values[$key|$prev]}
    if [[ $prev == -* && " ${_minidocker_valued[$key]} " == *" $prev "* ]]; then
        _minidocker_complete_kind "$kind" "$cur"; return
    fi
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "${_minidocker_flags[$key]}" -- "$cur")); return
    fi
    if [[ $nargs == 0 && -n ${_minidocker_subs[$key]+x} ]]; then
        COMPREPLY=($(compgen -W "${_minidocker_subs[$key]}" -- "$cur")); return
    fi
    local kinds=(${_minidocker_args[$key]})
    (( ${#kinds[@]} )) || return
    local n=$nargs
    (( n >= ${#kinds[@]} )) && n=$((${#kinds[@]} - 1))
    kind=${kinds[n]}
    [[ $kind == - ]] && return
    _minidocker_complete_kind "$kind" "$cur"
    if [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then  # image:tag, one word for bash
        local prefix=${cur%"${cur##*:}"} j
        for j in "${!COMPREPLY[@]}"; do COMPREPLY[j]=${COMPREPLY[j]#"$prefix"}; done
    fi
}
complete -F _minidocker minidocker
'''


# ---- zsh -------------------------------------------------------------------------------------


def zsh() -> str:
    """zsh runs the bash script through its bashcompinit (zsh's own emulation of bash's
    complete and compgen): one source of truth."""
    return ("#compdef minidocker\n# zsh completion for minidocker, made by `minidocker "
            "completion zsh`. Load it with:  source <(minidocker completion zsh)\n"
            "autoload -U +X bashcompinit && bashcompinit\n" + bash())


# ---- fish ------------------------------------------------------------------------------------


def fish() -> str:
    """fish's `complete` lines, one per command, sub-command and flag."""
    out = ["# fish completion for minidocker, made by `minidocker completion fish`.",
           "# Load it with:  minidocker completion fish | source",
           "function __minidocker_path",
           "    # the command path of the line so far (its words that name commands)",
           "    set -l words (commandline -opc)",
           "    set -e words[1]",
           "    string join ' ' (for w in $words; string match -qr '^-' -- $w; or echo $w; "
           "end)",
           "end",
           "function __minidocker_names",
           "    for kind in $argv",
           "        switch $kind",
           "            case container",
           "                minidocker ps -a --format '{{.Names}}' 2>/dev/null",
           "            case image",
           "                minidocker images --format '{{.Repository}}:{{.Tag}}' "
           "2>/dev/null | string match -v '*<none>*'",
           "            case network",
           "                minidocker network ls --format '{{.Name}}' 2>/dev/null",
           "            case volume",
           "                minidocker volume ls -q 2>/dev/null",
           "        end",
           "    end",
           "end",
           "complete -c minidocker -f"]
    nodes = list(tree())
    tops = [n for n in nodes if len(n.path) == 1]
    out.append("complete -c minidocker -n 'test -z (__minidocker_path)' -a "
               + _sh(" ".join(n.name for n in tops) + " help"))
    from minidocker.cli.main import GLOBAL_FLAGS
    for flag in GLOBAL_FLAGS:
        out.append(_fish_flag("test -z (__minidocker_path)", flag))
    for node in nodes:
        cond = f"string match -q -- {_sh(node.name)}'*' (__minidocker_path)"
        if len(node.path) == 1 and node.spec.subcommands:
            for sub in node.subcommands():
                summary = (node.spec.subcommands or {})[sub].summary
                out.append(f"complete -c minidocker -n \"test (__minidocker_path) = "
                           f"{node.name}\" -a {_sh(sub)} -d {_sh(summary[:60])}")
        for flag in node.shown_flags():
            out.append(_fish_flag(cond, flag))
        kinds = [k for k in node.arg_kinds() if k]
        if kinds and kinds[0] in ("container", "image", "network", "volume") or \
                kinds and "+" not in kinds[0] and " " in kinds[0]:
            out.append(f"complete -c minidocker -n {_sh(cond)} -a "
                       f"'(__minidocker_names {kinds[0]})'")
        elif kinds and kinds[0] in ("file", "directory", "command"):
            out.append(f"complete -c minidocker -n {_sh(cond)} -F")
    return "\n".join(out) + "\n"


def _fish_flag(cond: str, flag: Any) -> str:
    from minidocker.cli.flags import option
    parts = ["complete -c minidocker", f"-n {_sh(cond)}", f"-l {flag[1]}"]
    if flag[0]:
        parts.append(f"-s {flag[0]}")
    if flag[2] != "bool":
        parts.append("-r")
        complete = option(flag, "complete")
        if isinstance(complete, tuple):
            parts.append(f"-a {_sh(' '.join(complete))}")
        elif complete in ("container", "image", "network", "volume"):
            parts.append(f"-a '(__minidocker_names {complete})'")
        elif complete in ("file", "directory"):
            parts.append("-F")
    parts.append(f"-d {_sh(str(flag[3])[:60])}")
    return " ".join(parts)
