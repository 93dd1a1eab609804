"""Go's values as Go's template package sees them: the missing value, free-form maps,
type names, truth, %v, quoting, JSON and printf formatting."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from minidocker.errors import UsageError

TYPE_CHECKING = False  # `typing` (and the `re` it imports) stays out of the ps path
if TYPE_CHECKING:
    from typing import Any


class TemplateError(UsageError):
    """A template that does not parse or fails while executing (Docker's wording)."""

    def __init__(self, go_message: str):
        super().__init__(f"template parsing error: {go_message}")
        self.go_message = go_message


class _Missing:
    """Go's invalid value: what a lookup of an absent map key yields; prints <no value>."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<no value>"


MISSING: Any = _Missing()
_NOFINAL: Any = object()  # no value piped in from a previous command


class FreeMap(dict[str, object]):
    """A free-form map (Labels, Options, DriverOpts): Docker has these as Go maps inside
    typed structs, so an absent key prints <no value> even when strict_fields makes absent
    keys of the other (struct-like) dicts an error, and `index` of an absent key gives ""."""

    __slots__ = ()


class NilSlice(list[object]):
    """A Go slice that is nil (null in the JSON): prints [] as an empty one, `json` gives
    null. Docker runs --format on its typed structs, where a null slice field is that."""

    __slots__ = ()


class NilMap(FreeMap):
    """A Go map that is nil: prints map[], `json` gives null (see NilSlice)."""

    __slots__ = ()


# --------------------------------------------------------------------------- values


def go_type(v: Any) -> str:
    """The Go type name our value stands for, as it shows in error messages."""
    if v is None or v is MISSING:
        return "<nil>"
    t = type(v)
    if t is bool:
        return "bool"
    if t is int:
        return "int"
    if t is float:
        return "float64"
    if t is str:
        return "string"
    if isinstance(v, list | tuple):
        return "[]interface {}"
    if isinstance(v, Mapping):
        return "map[string]interface {}"
    return type(v).__name__


def _plain(v: Any) -> Any:
    """A str/int/float subclass (StrEnum, IntEnum) as the plain value Go would see."""
    if isinstance(v, bool):
        return bool(v)
    if isinstance(v, int):
        return int(v)
    if isinstance(v, float):
        return float(v)
    if isinstance(v, str):
        return str.__str__(v)
    return v


def truth(v: Any) -> bool:
    """Go's template truth: false, 0, "", nil and empty collections are false; structs true."""
    if v is None or v is MISSING:
        return False
    if isinstance(v, str | int | float | list | tuple | Mapping | bytes):
        return bool(v)
    return True


def _sort_keys(m: Mapping[Any, Any]) -> list[Any]:
    try:
        return sorted(m)
    except TypeError:
        return sorted(m, key=lambda k: (type(k).__name__, str(k)))


def _shortest(a: float) -> tuple[str, int]:
    """Shortest round-trip digits of a finite float >= 0 and where the decimal point goes
    (value = 0.DIGITS x 10**dp), as strconv works them out; 0 is ("", 0)."""
    if a == 0:
        return "", 0
    mantissa, _, exp = repr(a).partition("e")
    intpart, _, frac = mantissa.partition(".")
    digits = intpart + frac
    dp = len(intpart) + (int(exp) if exp else 0)
    stripped = digits.lstrip("0")
    return stripped.rstrip("0"), dp - (len(digits) - len(stripped))


def _layout_e(digits: str, dp: int, prec: int, e: str = "e") -> str:
    head = (digits[:1] or "0")
    if prec > 0:
        head += "." + digits[1:prec + 1].ljust(prec, "0")
    exp = dp - 1 if digits else 0
    return f"{head}{e}{'-' if exp < 0 else '+'}{abs(exp):02d}"


def _layout_f(digits: str, dp: int, prec: int) -> str:
    whole = digits[:dp].ljust(dp, "0") if dp > 0 else "0"
    if prec <= 0:
        return whole
    frac = "".join(digits[j] if 0 <= j < len(digits) else "0" for j in range(dp, dp + prec))
    return whole + "." + frac


def _format_float(f: float, verb: str = "g", prec: int = -1) -> str:
    """strconv.FormatFloat for verbs e E f F g G (prec -1: the shortest exact digits)."""
    if f != f:
        return "NaN"
    if f in (float("inf"), float("-inf")):
        return "+Inf" if f > 0 else "-Inf"
    if prec >= 0:
        return format(f, f".{prec}{verb}")  # C's layout is Go's for a given precision
    sign = "-" if f < 0 or (f == 0 and str(f).startswith("-")) else ""
    digits, dp = _shortest(abs(f))
    nd = len(digits)
    if verb in "eE":
        return sign + _layout_e(digits, dp, nd - 1, verb)
    if verb in "fF":
        return sign + _layout_f(digits, dp, max(nd - dp, 0))
    exp = dp - 1
    if digits and (exp < -4 or exp >= 6):
        return sign + _layout_e(digits, dp, nd - 1, "E" if verb == "G" else "e")
    return sign + _layout_f(digits, dp, max(nd - dp, 0))


def _sprint_v(v: Any, verb: str = "v") -> str:
    """fmt's %v (and %s/%d applied element-wise) of one value, nested as fmt prints it."""
    t = type(v)
    if t is str:
        return v
    if t is bool:
        return "true" if v else "false"
    if t is int:
        return str(v)
    if t is float:
        return _format_float(v)
    if v is None or v is MISSING:
        return "<nil>"
    if isinstance(v, str | int | float):
        return _sprint_v(_plain(v), verb)
    if isinstance(v, list | tuple):
        return "[" + " ".join(_sprint_v(e, verb) for e in v) + "]"
    if isinstance(v, Mapping):
        return "map[" + " ".join(f"{_sprint_v(k, verb)}:{_sprint_v(v[k], verb)}"
                                 for k in _sort_keys(v)) + "]"
    if isinstance(v, bytes):
        return "[" + " ".join(str(b) for b in v) + "]"
    if type(v).__str__ is not object.__str__ and not hasattr(v, "__dataclass_fields__"):
        return str(v)
    return "{" + " ".join(_sprint_v(e, verb) for e in _struct_values(v)) + "}"


def _struct_fields(v: Any) -> list[tuple[str, Any]]:
    fields = getattr(v, "__dataclass_fields__", None)
    if fields is not None:
        return [(name, getattr(v, name)) for name in fields if not name.startswith("_")]
    return [(k, x) for k, x in vars(v).items() if not k.startswith("_")]


def _struct_values(v: Any) -> list[Any]:
    try:
        return [x for _, x in _struct_fields(v)]
    except TypeError:
        return [str(v)]


def _print_value(v: Any) -> str:
    """What an action prints for a value: Go's printValue."""
    if type(v) is str:
        return v
    if v is MISSING or v is None:
        return "<no value>"
    return _sprint_v(v)


_QUOTE_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
                  "\t": "\\t", "\v": "\\v"}


def go_quote(s: str) -> str:
    """strconv.Quote: a double-quoted Go string literal, printable runes kept as they are."""
    if s.isprintable() and '"' not in s and "\\" not in s:
        return f'"{s}"'  # nothing to escape (ps quotes 10,000 commands)
    out = ['"']
    for ch in s:
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif ch.isprintable() or ch == " ":
            out.append(ch)
        elif ch in _QUOTE_ESCAPES:
            out.append(_QUOTE_ESCAPES[ch])
        else:
            code = ord(ch)
            if code < 0x80:
                out.append(f"\\x{code:02x}")
            elif code < 0x10000:
                out.append(f"\\u{code:04x}")
            else:
                out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


# --------------------------------------------------------------------------- JSON

_JSON_ESCAPES = {i: f"\\u{i:04x}" for i in range(0x20)}
_JSON_ESCAPES.update({0x22: '\\"', 0x5C: "\\\\", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t",
                      0x08: "\\b", 0x0C: "\\f", 0x2028: "\\u2028", 0x2029: "\\u2029"})


def go_json(v: Any) -> str:
    """encoding/json with SetEscapeHTML(false), as Docker's `json` function: compact, map
    keys sorted, non-ASCII kept, floats written as Go writes them."""
    out: list[str] = []
    _json_into(v, out)
    return "".join(out)


def _json_into(v: Any, out: list[str]) -> None:
    t = type(v)
    if t is str:
        out.append('"' + v.translate(_JSON_ESCAPES) + '"')
    elif v is None or v is MISSING or t is NilSlice or t is NilMap:
        out.append("null")
    elif t is bool:
        out.append("true" if v else "false")
    elif t is int:
        out.append(str(v))
    elif t is float:
        out.append(_json_float(v))
    elif isinstance(v, str | int | float):
        _json_into(_plain(v), out)
    elif isinstance(v, Mapping):
        out.append("{")
        for i, k in enumerate(_sort_keys(v)):
            if i:
                out.append(",")
            out.append('"' + str(k).translate(_JSON_ESCAPES) + '":')
            _json_into(v[k], out)
        out.append("}")
    elif isinstance(v, list | tuple):
        out.append("[")
        for i, e in enumerate(v):
            if i:
                out.append(",")
            _json_into(e, out)
        out.append("]")
    elif isinstance(v, bytes):
        import base64

        out.append('"' + base64.b64encode(v).decode() + '"')
    elif hasattr(v, "to_json"):
        _json_into(v.to_json(), out)
    else:  # a struct: its public fields in declaration order
        out.append("{")
        for i, (k, x) in enumerate(_struct_fields(v)):
            if i:
                out.append(",")
            out.append('"' + k.translate(_JSON_ESCAPES) + '":')
            _json_into(x, out)
        out.append("}")


def _json_float(f: float) -> str:
    """encoding/json's float: plain digits unless tiny or huge, then e-7 / e+21 style."""
    if f != f or f in (float("inf"), float("-inf")):
        raise _CallError(f"json: unsupported value: {_format_float(f)}")
    a = abs(f)
    if a != 0 and (a < 1e-6 or a >= 1e21):
        s = _format_float(f, "e")
        if s[-4:-1] == "e-0":
            s = s[:-2] + s[-1]
        return s
    return _format_float(f, "f")


# --------------------------------------------------------------------------- printf


def _fmt_pad(s: str, width: int | None, minus: bool, zero: bool = False) -> str:
    if width is None or len(s) >= width:
        return s
    if minus:
        return s + " " * (width - len(s))
    if zero:
        sign = s[0] if s[:1] in ("-", "+") else ""
        return sign + "0" * (width - len(s)) + s[len(sign):]
    return " " * (width - len(s)) + s


def _bad_verb(verb: str, arg: Any) -> str:
    if arg is None or arg is MISSING:
        return f"%!{verb}(<nil>)"
    return f"%!{verb}({go_type(arg)}={_sprint_v(arg)})"


def _fmt_int(n: int, verb: str, plus: bool, space: bool, sharp: bool, prec: int | None) -> str:
    body: str
    if verb == "d" or verb == "v":
        body = str(abs(n))
    elif verb == "x":
        body = format(abs(n), "x")
    elif verb == "X":
        body = format(abs(n), "X")
    elif verb == "o" or verb == "O":
        body = format(abs(n), "o")
    elif verb == "b":
        body = format(abs(n), "b")
    else:
        raise AssertionError(verb)
    if prec is not None:
        body = body.rjust(prec, "0") if prec or n else ""
    if sharp and verb in "xX":
        body = ("0x" if verb == "x" else "0X") + body
    elif verb == "O" or (sharp and verb == "o" and not body.startswith("0")):
        body = ("0o" if verb == "O" else "0") + body
    sign = "-" if n < 0 else ("+" if plus else (" " if space else ""))
    return sign + body


def go_sprintf(fmt: str, args: list[Any]) -> str:
    """fmt.Sprintf for the verbs people use in --format: v s d q t x X o b c U e E f F g G."""
    out: list[str] = []
    argi = 0
    i = 0
    n = len(fmt)
    while i < n:
        pct = fmt.find("%", i)
        if pct < 0:
            out.append(fmt[i:])
            break
        out.append(fmt[i:pct])
        i = pct + 1
        minus = plus = space = zero = sharp = False
        while i < n and fmt[i] in "-+ 0#":
            c = fmt[i]
            minus |= c == "-"
            plus |= c == "+"
            space |= c == " "
            zero |= c == "0"
            sharp |= c == "#"
            i += 1
        width: int | None = None
        if i < n and fmt[i] == "*":
            i += 1
            if argi < len(args) and type(args[argi]) is int:
                width = args[argi]
                if width < 0:
                    minus, width = True, -width
            else:
                out.append("%!(BADWIDTH)")
            argi += 1
        else:
            start = i
            while i < n and fmt[i].isdigit():
                i += 1
            if i > start:
                width = int(fmt[start:i])
        prec: int | None = None
        if i < n and fmt[i] == ".":
            i += 1
            if i < n and fmt[i] == "*":
                i += 1
                if argi < len(args) and type(args[argi]) is int:
                    prec = max(args[argi], 0)
                else:
                    out.append("%!(BADPREC)")
                argi += 1
            else:
                start = i
                while i < n and fmt[i].isdigit():
                    i += 1
                prec = int(fmt[start:i] or "0")
        if i >= n:
            out.append("%!(NOVERB)")
            break
        verb = fmt[i]
        i += 1
        if verb == "%":
            out.append("%")
            continue
        if argi >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        arg = _plain(args[argi])
        argi += 1
        s = _fmt_one(verb, arg, plus, space, sharp, prec)
        numeric = type(arg) in (int, float) and verb not in "sqcUt"
        out.append(_fmt_pad(s, width, minus, zero and not minus and numeric))
    if argi < len(args):
        extra = ", ".join("<nil>" if a is None else f"{go_type(a)}={_sprint_v(a)}"
                          for a in args[argi:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


def _fmt_one(verb: str, arg: Any, plus: bool, space: bool, sharp: bool,
             prec: int | None) -> str:
    arg = _plain(arg)
    t = type(arg)
    if verb == "v":
        if sharp and t is str:
            return go_quote(arg)
        if t is float and prec is not None:
            return _format_float(arg, "g", prec)
        if t is int and plus:
            return _fmt_int(arg, "d", plus, space, False, None)
        return _sprint_v(arg)
    if verb == "T":
        return go_type(arg) if arg is not None else "<nil>"
    if t is bool:
        return ("true" if arg else "false") if verb == "t" else _bad_verb(verb, arg)
    if t is int:
        if verb in "dxXobO":
            return _fmt_int(arg, verb, plus, space, sharp, prec)
        if verb == "c":
            return chr(arg)
        if verb == "q":
            return "'" + go_quote(chr(arg))[1:-1].replace("'", "\\'").replace('\\"', '"') + "'"
        if verb == "U":
            return f"U+{arg:04X}" + (f" '{chr(arg)}'" if sharp else "")
        if verb in "eEfFgG":
            return _bad_verb(verb, arg)
        return _bad_verb(verb, arg)
    if t is float:
        if verb in "eEfF":
            s = _format_float(arg, verb, 6 if prec is None else prec)
        elif verb in "gG":
            s = _format_float(arg, verb, -1 if prec is None else prec)
        else:
            return _bad_verb(verb, arg)
        return ("+" + s if plus and arg >= 0 else (" " + s if space and arg >= 0 else s))
    if t is str:
        if verb == "s":
            return arg if prec is None else arg[:prec]
        if verb == "q":
            return ("`" + arg + "`") if sharp and "`" not in arg else go_quote(
                arg if prec is None else arg[:prec])
        if verb in "xX":
            data = arg.encode() if prec is None else arg[:prec].encode()
            sep = " " if space else ""
            h = sep.join(format(b, "02x" if verb == "x" else "02X") for b in data)
            return h
        return _bad_verb(verb, arg)
    if arg is None or arg is MISSING:
        return "%!" + verb + "(<nil>)" if verb not in "sv" else "%!s(<nil>)"
    if isinstance(arg, list | tuple):
        return "[" + " ".join(_fmt_one(verb, e, plus, space, sharp, prec) for e in arg) + "]"
    if isinstance(arg, Mapping):
        return "map[" + " ".join(
            f"{_fmt_one(verb, k, plus, space, sharp, prec)}:"
            f"{_fmt_one(verb, arg[k], plus, space, sharp, prec)}" for k in _sort_keys(arg)) + "]"
    if verb == "s":
        return _sprint_v(arg)
    return _bad_verb(verb, arg)


def go_sprint(args: Iterable[Any]) -> str:
    """fmt.Sprint: a space between operands when neither side is a string."""
    out: list[str] = []
    prev_string = True
    for i, a in enumerate(args):
        is_string = type(a) is str
        if i and not is_string and not prev_string:
            out.append(" ")
        out.append(_sprint_v(a))
        prev_string = is_string
    return "".join(out)


class _CallError(Exception):
    """A function failed: reported as `error calling NAME: ...`."""


class _ArgError(Exception):
    """An argument has the wrong type: reported without the `error calling` prefix."""
