"""The runtime's command-line flags, parsed as Go's flag package (runc's CLI) does: a
module of its own, so that the commands' modules (run, update) and cli.py import it
rather than each other."""

from __future__ import annotations

from minidocker.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def parse_flags(argv: list[str], spec: dict[str, bool], aliases: dict[str, str] | None = None,
                stop_at_positional: bool = True) -> tuple[dict[str, Any], list[str]]:
    """Parse Go-style flags. spec: name -> takes a value. Repeated value flags collect."""
    aliases = aliases or {}
    flags: dict[str, Any] = {}
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--":
            rest.extend(argv[i:])
            break
        if arg.startswith("-") and arg != "-":
            name, eq, value = arg.lstrip("-").partition("=")
            name = aliases.get(name, name)
            if name not in spec:
                raise UsageError(f"flag provided but not defined: {arg.split('=')[0]}")
            if spec[name]:
                if not eq:
                    if i >= len(argv):
                        raise UsageError(f"flag needs an argument: {arg}")
                    value = argv[i]
                    i += 1
                flags.setdefault(name, []).append(value)
            else:
                if eq and value.lower() not in ("true", "false", "1", "0"):
                    raise UsageError(f"invalid boolean value {value!r} for {arg}")
                flags[name] = not eq or value.lower() in ("true", "1")
            continue
        rest.append(arg)
        if stop_at_positional:
            rest.extend(argv[i:])
            break
    return flags, rest


def last(flags: dict[str, Any], name: str, default: Any = None) -> Any:
    value = flags.get(name)
    if isinstance(value, list):
        return value[-1]
    return default if value is None else value


def int_flag(flags: dict[str, Any], name: str) -> int:
    value = last(flags, name, "0")
    try:
        n = int(value)
    except ValueError:
        raise UsageError(f"--{name}: {value!r} is not a number")
    if n < 0:
        raise UsageError(f"--{name} must not be negative")
    return n
