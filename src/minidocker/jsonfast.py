"""JSON through the C accelerator of the json package, without importing json itself.

`import json` pulls in `re` (and enum): 3 to 4 ms on every runtime call. The C scanner and
encoder need none of that. Same results as json.loads / json.dumps(separators=(",", ":"));
for indented output use the json module.
"""

from __future__ import annotations

import _json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_CONSTANTS = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}
_WS = " \t\n\r"


class _Context:
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = _CONSTANTS.__getitem__


_scan = _json.make_scanner(_Context())  # type: ignore[arg-type]
class _NotSerializable:
    def __call__(self, obj: Any) -> Any:
        raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


_markers: dict[int, Any] = {}  # the encoder's circular-reference check (see dumps)
_encode_checked = _json.make_encoder(_markers, _NotSerializable(),
                                     _json.encode_basestring_ascii, None, ":", ",", False,
                                     False, True)


def loads(data: str | bytes) -> Any:
    """Parse a JSON document; ValueError (json.JSONDecodeError) when it is not one."""
    text = data.decode() if isinstance(data, bytes | bytearray) else data
    end = len(text)
    i = 0
    while i < end and text[i] in _WS:
        i += 1
    try:
        obj, i = _scan(text, i)
    except StopIteration as stop:
        raise _error("Expecting value", text, stop.value)
    except SystemError:
        # the C scanner reports syntax errors through json.decoder, which it only finds
        # when already imported: let the json module parse it again and say what is wrong
        import json
        return json.loads(text)
    while i < end and text[i] in _WS:
        i += 1
    if i != end:
        raise _error("Extra data", text, i)
    return obj


def dumps(obj: Any) -> str:
    """Compact JSON (no spaces), like json.dumps(obj, separators=(",", ":"))."""
    try:
        return "".join(_encode_checked(obj, 0))
    except BaseException:
        # the C encoder leaves the ids of the containers it was in as markers when it
        # fails (json.dumps makes a new encoder each call): a later object at one of
        # those addresses would be called a circular reference
        _markers.clear()
        raise


def dumps_spaced(obj: Any) -> str:
    """Exactly json.dumps(obj) (separators ", " and ": ") for a list or dict."""
    return _dumps(obj, ", ", ": ", False)


def dumps_sorted(obj: Any) -> str:
    """Exactly json.dumps(obj, sort_keys=True, separators=(",", ":")) for a list or dict."""
    return _dumps(obj, ",", ":", True)


def dumps_indented(obj: Any, indent: int = 2) -> str:
    """Exactly json.dumps(obj, indent=indent) (runc's `state`, `spec`), without the json
    module's imports: containers by hand, scalars and keys by the C encoder."""
    out: list[str] = []
    try:
        _indent_into(obj, out, "\n", " " * indent)
    except _NonStringKey:
        import json
        return json.dumps(obj, indent=indent)
    return "".join(out)


class _NonStringKey(Exception):
    """json.dumps turns such keys into strings its own way: leave it to json."""


def _indent_into(obj: Any, out: list[str], newline: str, step: str) -> None:
    if isinstance(obj, dict) and obj:
        inner = newline + step
        separator = "{" + inner
        for key, value in obj.items():
            if not isinstance(key, str):
                raise _NonStringKey
            out.append(separator)
            out.append(_json.encode_basestring_ascii(key))
            out.append(": ")
            _indent_into(value, out, inner, step)
            separator = "," + inner
        out.append(newline + "}")
    elif isinstance(obj, list | tuple) and obj:
        inner = newline + step
        separator = "[" + inner
        for value in obj:
            out.append(separator)
            _indent_into(value, out, inner, step)
            separator = "," + inner
        out.append(newline + "]")
    else:
        out.append(dumps(obj))


def _dumps(obj: Any, item_separator: str, key_separator: str, sort_keys: bool) -> str:
    encode = _json.make_encoder({}, _NotSerializable(), _json.encode_basestring_ascii, None,
                                key_separator, item_separator, sort_keys, False, True)
    return "".join(encode(obj, 0))


def _error(message: str, text: str, pos: int) -> ValueError:
    from json import JSONDecodeError
    return JSONDecodeError(message, text, pos)
