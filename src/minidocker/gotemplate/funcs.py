"""The functions a template can call: Go's builtins and Docker's additions."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from minidocker.gotemplate.values import (
    FreeMap,
    _ArgError,
    _CallError,
    _plain,
    _sprint_v,
    go_json,
    go_sprint,
    go_sprintf,
    go_type,
    truth,
)

TYPE_CHECKING = False  # `typing` (and the `re` it imports) stays out of the ps path
if TYPE_CHECKING:
    from typing import Any

    # name -> (function, least number of arguments, most (None: any))
    FuncSpec = tuple[Callable[..., Any], int, int | None]


# --------------------------------------------------------------------------- functions



def _want_str(v: Any) -> str:
    if type(v) is str:
        return v
    if isinstance(v, str):
        return str.__str__(v)
    if v is None:
        raise _ArgError("invalid value; expected string")
    raise _ArgError(f"wrong type for value; expected string; got {go_type(v)}")


def _want_int(v: Any) -> int:
    if type(v) is int:
        return v
    if type(v) is float and v == int(v):
        return int(v)
    if v is None:
        raise _ArgError("invalid value; expected int")
    raise _ArgError(f"wrong type for value; expected int; got {go_type(v)}")


def _want_strings(v: Any) -> list[str]:
    if isinstance(v, list | tuple):
        return [e if type(e) is str else _sprint_v(e) for e in v]
    if v is None:
        return []
    raise _ArgError(f"wrong type for value; expected []string; got {go_type(v)}")


def _f_json(v: Any) -> str:
    return go_json(v)


def _f_split(s: Any, sep: Any) -> list[str]:
    s, sep = _want_str(s), _want_str(sep)
    if sep == "":
        return list(s)
    return s.split(sep)


def _f_join(items: Any, sep: Any) -> str:
    return _want_str(sep).join(_want_strings(items))


def _f_title(s: Any) -> str:
    """strings.Title: upper-case the first letter of each word, leave the rest alone."""
    s = _want_str(s)
    out: list[str] = []
    prev_sep = True
    for ch in s:
        out.append(ch.upper() if prev_sep else ch)
        # ASCII letters, digits and _ continue a word; other scripts break only at spaces
        prev_sep = not (ch.isalnum() or ch == "_") if ch.isascii() else ch.isspace()
    return "".join(out)


def _f_lower(s: Any) -> str:
    return _want_str(s).lower()


def _f_upper(s: Any) -> str:
    return _want_str(s).upper()


def _f_pad(s: Any, prefix: Any, suffix: Any) -> str:
    s = _want_str(s)
    if not s:
        return s
    return " " * _want_int(prefix) + s + " " * _want_int(suffix)


def _f_truncate(s: Any, length: Any) -> str:
    s, n = _want_str(s), _want_int(length)
    data = s.encode()
    if len(data) < n:
        return s
    return data[:n].decode(errors="ignore")


def _f_len(v: Any) -> int:
    if type(v) is str:
        return len(v.encode())
    if isinstance(v, list | tuple | Mapping | bytes):
        return len(v)
    if v is None:
        raise _CallError("len of nil pointer")
    raise _CallError(f"len of type {go_type(v)}")


def _index_one(item: Any, key: Any) -> Any:
    if isinstance(item, Mapping):
        if key is None:
            raise _CallError("value is nil; should be of type string")
        if key in item:
            return item[key]
        if type(key) is not str and all(type(k) is str for k in item):
            raise _CallError(f"value has type {go_type(key)}; should be string")
        return "" if type(item) is FreeMap else _zero_value(item.values())
    if isinstance(item, list | tuple | str | bytes):
        if type(key) is not int:
            raise _CallError(f"cannot index slice/array with type {go_type(key)}")
        seq = item.encode() if type(item) is str else item
        if key < 0 or key >= len(seq):
            raise _CallError(f"index out of range: {key}")
        return seq[key]
    if item is None:
        raise _CallError("index of untyped nil")
    raise _CallError(f"can't index item of type {go_type(item)}")


_ZEROS: dict[type, Any] = {str: "", int: 0, float: 0.0, bool: False, list: []}


def _zero_value(values: Iterable[Any]) -> Any:
    """What Go's index gives for an absent key: the zero of the map's element type. Our
    maps have no element type, so one is inferred when all values agree (an empty map
    counts as a string map: Labels); otherwise nil, as for map[string]interface{}."""
    kinds = {type(v) for v in values}
    if not kinds:
        return ""
    if len(kinds) == 1:
        kind = kinds.pop()
        if kind in _ZEROS:
            return [] if kind is list else _ZEROS[kind]
    return None


def _f_index(item: Any, *keys: Any) -> Any:
    for key in keys:
        item = _index_one(item, key)
    return item


def _f_slice(item: Any, *idx: Any) -> Any:
    if item is None:
        raise _CallError("slice of untyped nil")
    if len(idx) > 3:
        raise _CallError(f"too many slice indexes: {len(idx)}")
    if not isinstance(item, list | tuple | str):
        raise _CallError(f"can't slice item of type {go_type(item)}")
    if type(item) is str and len(idx) == 3:
        raise _CallError("cannot 3-index slice a string")
    seq: Any = item.encode() if type(item) is str else item
    bounds = [0, len(seq)]
    for i, x in enumerate(idx[:2]):
        if type(x) is not int:
            raise _CallError(f"cannot index slice/array with type {go_type(x)}")
        if x < 0 or x > len(seq):
            raise _CallError(f"index out of range: {x}")
        bounds[i] = x
    if bounds[0] > bounds[1]:
        raise _CallError(f"invalid slice index: {bounds[0]} > {bounds[1]}")
    result = seq[bounds[0]:bounds[1]]
    return result.decode(errors="replace") if type(item) is str else list(result)


def _f_not(v: Any) -> bool:
    return not truth(v)


_INT, _FLOAT, _STR, _BOOL = "int", "float", "string", "bool"


def _basic_kind(v: Any) -> str | None:
    t = type(_plain(v))
    if t is bool:
        return _BOOL
    if t is int:
        return _INT
    if t is float:
        return _FLOAT
    if t is str:
        return _STR
    return None


def _f_eq(a: Any, *others: Any) -> bool:
    if not others:
        raise _CallError("missing argument for comparison")
    ka = _basic_kind(a)
    for b in others:
        kb = _basic_kind(b)
        if ka != kb:
            if a is not None and b is not None:
                raise _CallError("incompatible types for comparison")
            if a is None and b is None:
                return True
            continue
        if ka is None:
            if isinstance(a, list | Mapping) or isinstance(b, list | Mapping):
                raise _CallError(f"non-comparable type {_sprint_v(b)}: {go_type(b)}")
            if a is None or b is None:
                if (a is None) == (b is None):
                    return True
                continue
        if _plain(a) == _plain(b):
            return True
    return False


def _f_ne(a: Any, b: Any) -> bool:
    return not _f_eq(a, b)


def _ordered(a: Any, b: Any) -> None:
    ka, kb = _basic_kind(a), _basic_kind(b)
    if ka is None or ka == _BOOL:
        raise _CallError("invalid type for comparison")
    if kb is None or kb == _BOOL:
        raise _CallError("invalid type for comparison")
    if ka != kb:
        raise _CallError("incompatible types for comparison")


def _f_lt(a: Any, b: Any) -> bool:
    _ordered(a, b)
    return bool(_plain(a) < _plain(b))


def _f_le(a: Any, b: Any) -> bool:
    _ordered(a, b)
    return bool(_plain(a) <= _plain(b))


def _f_gt(a: Any, b: Any) -> bool:
    _ordered(a, b)
    return bool(_plain(a) > _plain(b))


def _f_ge(a: Any, b: Any) -> bool:
    _ordered(a, b)
    return bool(_plain(a) >= _plain(b))


def _f_print(*args: Any) -> str:
    return go_sprint(args)


def _f_println(*args: Any) -> str:
    return " ".join(_sprint_v(a) for a in args) + "\n"


def _f_printf(fmt: Any, *args: Any) -> str:
    return go_sprintf(_want_str(fmt), list(args))


def _f_html(*args: Any) -> str:
    s = go_sprint(args)
    return (s.replace("&", "&amp;").replace("'", "&#39;").replace("<", "&lt;")
            .replace(">", "&gt;").replace('"', "&#34;").replace("\x00", "\ufffd"))


def _f_js(*args: Any) -> str:
    s = go_sprint(args)
    out: list[str] = []
    for ch in s:
        if ch in "\\'\"":
            out.append("\\" + ch)
        elif ch in "<>&=" or ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return "".join(out)


def _f_urlquery(*args: Any) -> str:
    from urllib.parse import quote_plus

    return quote_plus(go_sprint(args), safe="")


def _f_call(fn: Any, *args: Any) -> Any:
    if not callable(fn):
        raise _CallError(f"non-function of type {go_type(fn)}")
    return fn(*args)


FUNCS: dict[str, FuncSpec] = {
    # Go's builtins ("and"/"or" are evaluated lazily by the compiler)
    "and": (_f_not, 1, None),
    "or": (_f_not, 1, None),
    "not": (_f_not, 1, 1),
    "len": (_f_len, 1, 1),
    "index": (_f_index, 1, None),
    "slice": (_f_slice, 1, None),
    "print": (_f_print, 0, None),
    "printf": (_f_printf, 1, None),
    "println": (_f_println, 0, None),
    "html": (_f_html, 0, None),
    "js": (_f_js, 0, None),
    "urlquery": (_f_urlquery, 0, None),
    "call": (_f_call, 1, None),
    "eq": (_f_eq, 1, None),
    "ne": (_f_ne, 2, 2),
    "lt": (_f_lt, 2, 2),
    "le": (_f_le, 2, 2),
    "gt": (_f_gt, 2, 2),
    "ge": (_f_ge, 2, 2),
    # Docker's additions (templates.basicFunctions)
    "json": (_f_json, 1, 1),
    "split": (_f_split, 2, 2),
    "join": (_f_join, 2, 2),
    "title": (_f_title, 1, 1),
    "lower": (_f_lower, 1, 1),
    "upper": (_f_upper, 1, 1),
    "pad": (_f_pad, 3, 3),
    "truncate": (_f_truncate, 2, 2),
}
