"""The command line's grammar, as Docker's (cobra and pflag): whole flag names only,
`--flag=value` and `--flag value`, `-abc` clusters of short switches with the last one
taking a value (`-dp 80:80`, `-p80:80`, `-e=A=1`), repeated flags, `--` ending the
flags, flags among the arguments except for commands that stop at their first argument
(run, create, exec), and one-line errors worded as Docker's.

Each command declares its interface as data (a Spec: usage, flags, arguments); the
parser, `--help`, `minidocker completion` and the man pages are all made from it, and
tests/unit/cli/test_docker_flags.py compares the flags with Docker 20.10's.

A flag is a tuple `(short, long, type, help[, options])`: `type` is pflag's type name
as Docker's --help shows it (bool, string, int, uint16, list, strings, stringArray, map,
filter, bytes, decimal, duration, ulimit, mount, network); the value is converted
here, with Docker's error for a bad one. `options`, a dict: default, dest (the attribute
name; the long name with '_' for '-' by default), hidden (accepted, not in --help),
check (a function of the value: a ValueError's text becomes the error, as pflag's
validators), complete (what the shell completes: container, image, network, volume,
file, directory, signal, or a tuple of words).

Kept lean: `run` parses its line with this module on every call (no argparse, no re).
"""

from __future__ import annotations

from types import SimpleNamespace

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

    Flag = tuple[Any, ...]

VALUE_LISTS = ("list", "strings", "stringArray")


class FlagError(Exception):
    """A usage error, worded as Docker's; main() prints it with "See '... --help'." and
    exits 125 (Docker's flag errors) or `exit_code` (1 for a wrong number of arguments,
    as Docker's)."""

    def __init__(self, message: str, exit_code: int = 125, usage: bool = False):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.usage = usage  # print the usage line and summary after the hint


class HelpRequested(Exception):
    """--help (or -h where the command has no -h of its own)."""


class Spec:
    """One command's interface. `usage`: what follows the command's name in its usage
    line (Docker's text); `args`: the positional arguments as (dest, count) with count
    1, "?", "+", "*" or "..." (the rest of the line, flags included: run's COMMAND);
    `interspersed`: whether flags may follow arguments; `subcommands`: name -> Spec, or
    a Spec made by delegated() for one that is a top-level command (container ls = ps);
    `aliases`: other names of this command (Docker's "Aliases:")."""

    __slots__ = ("usage", "flags", "args", "interspersed", "subcommands", "handler",
                 "summary", "aliases", "hidden", "delegate", "raw")
    aliases: tuple[str, ...]

    def __init__(self, usage: str = "", flags: tuple[Flag, ...] = (),
                 args: tuple[tuple[str, Any], ...] = (), *, interspersed: bool = True,
                 subcommands: dict[str, Spec] | None = None,
                 handler: Callable[[Any], int] | None = None, summary: str = "",
                 aliases: tuple[str, ...] = (), hidden: bool = False,
                 delegate: str | None = None, raw: bool = False):
        self.usage = usage
        self.flags = flags
        self.args = args
        self.interspersed = interspersed
        if subcommands is not None:  # each under its aliases too
            subcommands = dict(subcommands)
            for sub in list(subcommands.values()):
                for alias in sub.aliases:
                    subcommands.setdefault(alias, sub)
        self.subcommands = subcommands
        self.handler = handler
        self.summary = summary
        self.aliases = aliases
        self.hidden = hidden
        self.delegate = delegate  # a sub-command that is this top-level command
        self.raw = raw  # the arguments go as they are to the handler (args.argv)


def delegated(command: str, *aliases: str, summary: str = "") -> Spec:
    """A sub-command that is the top-level `command` (container ls = ps), with its own
    names (the first is the one listed) and, where Docker's differs, its summary."""
    return Spec(delegate=command, aliases=aliases, summary=summary)


def dest(flag: Flag) -> str:
    options = flag[4] if len(flag) > 4 else None
    if options and "dest" in options:
        return str(options["dest"])
    return str(flag[1]).replace("-", "_")


def option(flag: Flag, key: str, default: Any = None) -> Any:
    return flag[4].get(key, default) if len(flag) > 4 else default


def default(flag: Flag) -> Any:
    if len(flag) > 4 and "default" in flag[4]:
        value = flag[4]["default"]
        return list(value) if isinstance(value, list) else dict(value) \
            if isinstance(value, dict) else value
    kind = flag[2]
    if kind == "bool":
        return False
    if kind in VALUE_LISTS or kind in ("filter", "ulimit", "mount"):
        return []
    if kind == "map":
        return {}
    return None


def name_of(flag: Flag) -> str:
    """The flag as Docker's errors name it: "-a, --all" or "--since"."""
    return f"-{flag[0]}, --{flag[1]}" if flag[0] else f"--{flag[1]}"


# ---- parsing ---------------------------------------------------------------------------


def parse(spec: Spec, argv: list[str]) -> SimpleNamespace:
    """The values of `spec`'s flags and arguments in `argv`. FlagError for a usage
    error, HelpRequested for --help."""
    longs: dict[str, Flag] = {}
    shorts: dict[str, Flag] = {}
    values: dict[str, Any] = {}
    for flag in spec.flags:
        longs[flag[1]] = flag
        if flag[0]:
            shorts[flag[0]] = flag
        values[dest(flag)] = default(flag)
    positional: list[str] = []
    i, n = 0, len(argv)
    while i < n:
        arg = argv[i]
        i += 1
        if arg == "--":
            positional += argv[i:]
            break
        if arg.startswith("--"):
            name, eq, value = arg[2:].partition("=")
            found = longs.get(name)
            if found is None:
                if name == "help":
                    raise HelpRequested
                raise FlagError(f"unknown flag: --{name}")
            flag = found
            if flag[2] == "bool":
                _set(values, flag, value if eq else "true")
                continue
            if not eq:
                if i >= n:
                    raise FlagError(f"flag needs an argument: --{name}")
                value = argv[i]
                i += 1
            _set(values, flag, value)
        elif arg.startswith("-") and len(arg) > 1:
            i = _shorts(arg[1:], shorts, values, argv, i)
        else:
            positional.append(arg)
            if not spec.interspersed:
                positional += argv[i:]
                break
    _arguments(spec, positional, values)
    return SimpleNamespace(**values)


def _shorts(cluster: str, shorts: dict[str, Flag], values: dict[str, Any],
            argv: list[str], i: int) -> int:
    """-abc: switches, the last may take a value (the rest of the cluster, after an
    optional '=', or the next argument)."""
    rest = cluster
    while rest:
        c = rest[0]
        flag = shorts.get(c)
        if flag is None:
            if c == "h":
                raise HelpRequested
            raise FlagError(f"unknown shorthand flag: {c!r} in -{cluster}")
        if flag[2] == "bool":
            if rest[1:2] == "=":
                _set(values, flag, rest[2:])
                return i
            _set(values, flag, "true")
            rest = rest[1:]
            continue
        if rest[1:2] == "=":
            value = rest[2:]
        elif len(rest) > 1:
            value = rest[1:]
        elif i < len(argv):
            value = argv[i]
            i += 1
        else:
            raise FlagError(f"flag needs an argument: {c!r} in -{c}")
        _set(values, flag, value)
        return i
    return i


def _set(values: dict[str, Any], flag: Flag, text: str) -> None:
    kind = flag[2]
    key = dest(flag)
    try:
        value = -1 if text == "-1" and option(flag, "unlimited") else convert(kind, text)
        check = option(flag, "check")
        if check is not None:  # the text of an item of a list, else the value
            check(text if kind in VALUE_LISTS or kind in ("map", "filter") else value)
    except ValueError as e:
        raise FlagError(f"invalid argument {_quote(text)} for {_quote(name_of(flag))} flag: "
                        f"{e}") from None
    if kind in VALUE_LISTS or kind in ("filter", "ulimit", "mount"):
        values[key].extend(value)
    elif kind == "map":
        values[key].update(value)
    else:
        values[key] = value


def _quote(text: str) -> str:
    """Go's %q, for the common cases."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _arguments(spec: Spec, positional: list[str], values: dict[str, Any]) -> None:
    """Give each positional argument its place in `values`; a wrong count is Docker's
    error ("requires at least 1 argument.", exit 1)."""
    low, high = counts(spec.args)
    if len(positional) < low or (high is not None and len(positional) > high):
        raise FlagError(count_error(low, high), exit_code=1, usage=True)
    rest = list(positional)
    for i, (key, count) in enumerate(spec.args):
        after = sum(1 if c == 1 else 0 for _, c in spec.args[i + 1:])  # required ones later
        if count == 1:
            values[key] = rest.pop(0)
        elif count == "?":
            values[key] = rest.pop(0) if len(rest) > after else None
        else:  # "+", "*", "...": all that the ones after do not need
            take = len(rest) - after
            values[key], rest = rest[:take], rest[take:]


def counts(args: tuple[tuple[str, Any], ...]) -> tuple[int, int | None]:
    low = sum(1 for _, c in args if c in (1, "+"))
    high: int | None = sum(1 for _, c in args if c in (1, "?"))
    if any(c in ("+", "*", "...") for _, c in args):
        high = None
    return low, high


def count_error(low: int, high: int | None) -> str:
    """Docker's cli/required.go wording, without the command (main adds it)."""
    def plural(k: int) -> str:
        return "argument" if k == 1 else "arguments"
    if high == 0:
        return "accepts no arguments."
    if high is None:
        return f"requires at least {low} {plural(low)}."
    if low == high:
        return f"requires exactly {low} {plural(low)}."
    if low == 0:
        return f"requires at most {high} {plural(high)}."
    return f"requires at least {low} and at most {high} {plural(high)}."


# ---- value types (pflag's, with their errors) ---------------------------------------------


def convert(kind: str, text: str) -> Any:
    """A flag's text as its type's value; ValueError with pflag's (or Docker's opts')
    words for a bad one."""
    if kind in ("string", "network"):
        return text
    if kind in ("list", "stringArray"):
        return [text]
    if kind == "strings":  # pflag's StringSlice: comma-separated (CSV)
        return [part for part in text.split(",")] if text else []
    if kind == "bool":
        return parse_bool(text)
    if kind == "int":
        return parse_int(text)
    if kind == "uint16":
        value = parse_int(text, "ParseUint")
        if not 0 <= value <= 0xFFFF:
            raise ValueError(f'strconv.ParseUint: parsing "{text}": value out of range')
        return value
    if kind == "bytes":
        from minidocker.units import ram_in_bytes
        return ram_in_bytes(text)
    if kind == "decimal":
        from minidocker.units import nano_cpus
        return nano_cpus(text)
    if kind == "duration":
        from minidocker.units import parse_duration
        return parse_duration(text)
    if kind == "map":
        key, _, item = text.partition("=")
        return {key: item}
    if kind == "filter":
        key, eq, item = text.partition("=")
        if not eq:
            raise ValueError("bad format of filter (expected name=value)")
        return [f"{key.strip().lower()}={item}"]
    if kind == "ulimit":
        from minidocker.units import parse_ulimit
        return [parse_ulimit(text)]
    if kind == "mount":
        return [text]
    raise ValueError(f"unknown flag type {kind}")


def parse_bool(text: str) -> bool:
    """strconv.ParseBool."""
    if text in ("1", "t", "T", "true", "TRUE", "True"):
        return True
    if text in ("0", "f", "F", "false", "FALSE", "False"):
        return False
    raise ValueError(f'strconv.ParseBool: parsing "{text}": invalid syntax')


def parse_int(text: str, func: str = "ParseInt") -> int:
    """strconv.ParseInt(text, 0, 64): decimal, 0x hex, 0o/0 octal, 0b binary, _ between
    digits."""
    body = text[1:] if text[:1] in "+-" else text
    try:
        if body[:2].lower() in ("0x", "0o", "0b"):
            value = int(body, 0)
        elif body.startswith("0") and len(body) > 1:
            value = int(body, 8)
        elif body.isdigit():
            value = int(body)
        else:
            raise ValueError
    except ValueError:
        raise ValueError(f'strconv.{func}: parsing "{text}": invalid syntax') from None
    value = -value if text.startswith("-") else value
    if not -(1 << 63) <= value < (1 << 63):
        raise ValueError(f'strconv.{func}: parsing "{text}": value out of range')
    return value


# ---- help ---------------------------------------------------------------------------------


def usage_line(prog: str, spec: Spec) -> str:
    return f"Usage:  {prog} {spec.usage}".rstrip()


def help_text(prog: str, spec: Spec, summary: str, width: int = 80,
              sub_summary: Callable[[str], str] | None = None,
              aliases: tuple[str, ...] = ()) -> str:
    """`--help` in Docker's layout: usage, summary, aliases, options, sub-commands."""
    out = ["", usage_line(prog, spec), "", summary]
    aliases = aliases or spec.aliases
    if aliases:
        out += ["", "Aliases:", "  " + ", ".join(aliases)]
    shown = [f for f in spec.flags if not option(f, "hidden")]
    if shown:
        out += ["", "Options:"]
        out += flag_lines(shown, width)
    if spec.subcommands:
        names = [name for name, sub in spec.subcommands.items()
                 if not sub.hidden and name not in _aliases(spec)]
        out += ["", "Commands:"]
        w = max(len(name) for name in names) + 2
        w = max(w, 12)
        for name in sorted(names):
            text = sub_summary(name) if sub_summary else ""
            out.append(f"  {name:<{w}}{text}")
        out += ["", f"Run '{prog} COMMAND --help' for more information on a command."]
    return "\n".join(out) + "\n"


def _aliases(spec: Spec) -> set[str]:
    """The sub-command names that are aliases of another (not listed in --help)."""
    names: set[str] = set()
    for name, sub in (spec.subcommands or {}).items():
        if sub.aliases and sub.aliases[0] == name:
            names.update(sub.aliases[1:])
    return names


def flag_lines(flags: list[Flag], width: int = 80) -> list[str]:
    """pflag's FlagUsagesWrapped: `  -a, --all type   Help (default x)`, sorted by name,
    the help wrapped at `width` under its own column."""
    flags = sorted(flags, key=lambda f: str(f[1]))
    heads = []
    for flag in flags:
        short, long, kind = flag[0], flag[1], flag[2]
        head = f"  -{short}, --{long}" if short else f"      --{long}"
        if kind != "bool":
            head += f" {kind}"
        heads.append(head)
    column = max(len(h) for h in heads) + 3
    lines = []
    for head, flag in zip(heads, flags, strict=True):
        text = flag[3] + _default_note(flag)
        room = max(width - column, 30)
        chunks = _wrap(text, room)
        lines.append(f"{head:<{column}}{chunks[0]}".rstrip())
        lines += [" " * column + chunk for chunk in chunks[1:]]
    return lines


def _default_note(flag: Flag) -> str:
    if len(flag) <= 4 or ("default" not in flag[4] and "help_default" not in flag[4]):
        return ""
    value = flag[4].get("help_default", flag[4].get("default"))
    if value in (None, False, "", [], {}, 0):
        return ""
    if value is True:
        return " (default true)"
    if isinstance(value, str):
        return f' (default "{value}")'
    return f" (default {value})"


def _wrap(text: str, width: int) -> list[str]:
    words = text.split(" ")
    lines, cur = [], ""
    for word in words:
        if cur and len(cur) + 1 + len(word) > width:
            lines.append(cur)
            cur = word
        else:
            cur = f"{cur} {word}" if cur else word
    lines.append(cur)
    return lines


def walk(spec: Spec, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Spec]]:
    """Every (path, Spec) under `spec` (sub-commands that are top-level commands are
    not followed: they are listed under their own name)."""
    yield path, spec
    for name, sub in (spec.subcommands or {}).items():
        if sub.delegate is None and name not in _aliases(spec):
            yield from walk(sub, path + (name,))
