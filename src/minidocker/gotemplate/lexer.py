"""The lexer of Go's text/template: text and actions into tokens, literals unquoted."""

from __future__ import annotations

from minidocker.gotemplate.values import go_quote

TYPE_CHECKING = False  # `typing` (and the `re` it imports) stays out of the ps path
if TYPE_CHECKING:

    Token = tuple[str, str, int]  # (kind, value, offset in the text)


# --------------------------------------------------------------------------- lexer
# A token is (kind, value, pos); kinds are short strings. pos is an offset into the text.

_SPACE = " \t\r\n"
_KEYWORDS = {
    "if", "else", "end", "range", "with", "break", "continue", "define", "template", "block",
}


def _is_alnum(ch: str) -> bool:
    return ch == "_" or ch.isalpha() or ch.isdigit()


def _rune(ch: str) -> str:
    """Go's %#U: U+0041 'A'."""
    return f"U+{ord(ch):04X} '{ch}'" if ch.isprintable() else f"U+{ord(ch):04X}"


class _LexError(Exception):
    def __init__(self, msg: str, pos: int):
        super().__init__(msg)
        self.msg = msg
        self.pos = pos


def _lex(text: str) -> list[Token]:
    toks: list[Token] = []
    try:
        _lex_into(text, toks)
    except _LexError as e:
        toks.append(("error", e.msg, e.pos))
        return toks
    toks.append(("eof", "", len(text)))
    return toks


def _right_delim_at(text: str, i: int) -> tuple[bool, bool]:
    """(at a right delimiter, with a trim marker " -}}")."""
    if i < len(text) and text[i] in _SPACE and text.startswith("-}}", i + 1):
        return True, True
    return text.startswith("}}", i), False


def _skip_space(text: str, i: int) -> int:
    n = len(text)
    while i < n and text[i] in _SPACE:
        i += 1
    return i


def _lex_into(text: str, toks: list[Token]) -> None:
    n = len(text)
    i = 0
    while i < n:
        j = text.find("{{", i)
        if j < 0:
            toks.append(("text", text[i:], i))
            return
        k = j + 2
        trim = k + 1 < n and text[k] == "-" and text[k + 1] in _SPACE
        end = len(text[i:j].rstrip(_SPACE)) + i if trim else j
        if end > i:
            toks.append(("text", text[i:end], i))
        if trim:
            k += 2
        if text.startswith("/*", k):
            close = text.find("*/", k + 2)
            if close < 0:
                raise _LexError("unclosed comment", j)
            p = close + 2
            at, rtrim = _right_delim_at(text, p)
            if not at:
                raise _LexError("comment ends before closing delimiter", j)
            i = p + (4 if rtrim else 2)
            if rtrim:
                i = _skip_space(text, i)
            continue
        toks.append(("left", "{{", j))
        i = _lex_action(text, k, toks)


def _lex_action(text: str, i: int, toks: list[Token]) -> int:
    n = len(text)
    parens = 0
    while True:
        at, rtrim = _right_delim_at(text, i)
        if at:
            if parens:
                raise _LexError("unclosed left paren", i)
            toks.append(("right", "}}", i))
            i += 4 if rtrim else 2
            return _skip_space(text, i) if rtrim else i
        if i >= n:
            raise _LexError("unclosed action", i)
        ch = text[i]
        start = i
        if ch in _SPACE:
            j = _skip_space(text, i)
            if text.startswith("-}}", j):
                j -= 1  # that space belongs to the trim marker
            if j > i:
                toks.append(("space", text[i:j], i))
            i = j
            continue
        i += 1
        if ch == "=":
            toks.append(("assign", "=", start))
        elif ch == ":":
            if i >= n or text[i] != "=":
                raise _LexError("expected :=", start)
            i += 1
            toks.append(("declare", ":=", start))
        elif ch == "|":
            toks.append(("pipe", "|", start))
        elif ch == '"':
            while True:
                if i >= n or text[i] == "\n":
                    raise _LexError("unterminated quoted string", start)
                c = text[i]
                i += 1
                if c == "\\":
                    if i >= n or text[i] == "\n":
                        raise _LexError("unterminated quoted string", start)
                    i += 1
                elif c == '"':
                    break
            toks.append(("string", text[start:i], start))
        elif ch == "`":
            close = text.find("`", i)
            if close < 0:
                raise _LexError("unterminated raw quoted string", start)
            i = close + 1
            toks.append(("rawstring", text[start:i], start))
        elif ch == "'":
            while True:
                if i >= n or text[i] == "\n":
                    raise _LexError("unterminated character constant", start)
                c = text[i]
                i += 1
                if c == "\\":
                    i += 1
                elif c == "'":
                    break
            toks.append(("charconst", text[start:i], start))
        elif ch == "$" or (ch == "." and not (i < n and text[i].isdigit())):
            while i < n and _is_alnum(text[i]):
                i += 1
            word = text[start:i]
            _check_terminator(text, i)
            if ch == "$":
                toks.append(("variable", word, start))
            else:
                toks.append(("field", word, start) if len(word) > 1 else ("dot", ".", start))
        elif ch in "+-." or ch.isdigit():
            i = _scan_number(text, start)
            toks.append(("number", text[start:i], start))
        elif _is_alnum(ch):
            while i < n and _is_alnum(text[i]):
                i += 1
            word = text[start:i]
            _check_terminator(text, i)
            if word in _KEYWORDS:
                toks.append((word, word, start))
            elif word in ("true", "false"):
                toks.append(("bool", word, start))
            elif word == "nil":
                toks.append(("nil", word, start))
            else:
                toks.append(("identifier", word, start))
        elif ch == "(":
            parens += 1
            toks.append(("lparen", "(", start))
        elif ch == ")":
            parens -= 1
            if parens < 0:
                raise _LexError("unexpected right paren", start)
            toks.append(("rparen", ")", start))
        elif ch < "\x7f" and ch.isprintable():
            toks.append(("char", ch, start) if ch != "," else ("comma", ",", start))
        else:
            raise _LexError(f"unrecognized character in action: {_rune(ch)}", start)


def _check_terminator(text: str, i: int) -> None:
    if i >= len(text) or text[i] in _SPACE or text[i] in ".,|:()" or text.startswith("}}", i):
        return
    raise _LexError(f"bad character {_rune(text[i])}", i)


def _scan_number(text: str, i: int) -> int:
    n = len(text)
    start = i

    def accept(chars: str) -> bool:
        nonlocal i
        if i < n and text[i] in chars:
            i += 1
            return True
        return False

    def run(chars: str) -> None:
        nonlocal i
        while i < n and text[i] in chars:
            i += 1

    accept("+-")
    digits = "0123456789_"
    if accept("0"):
        if accept("xX"):
            digits = "0123456789abcdefABCDEF_"
        elif accept("oO"):
            digits = "01234567_"
        elif accept("bB"):
            digits = "01_"
    run(digits)
    if accept("."):
        run(digits)
    if len(digits) == 11 and accept("eE"):
        accept("+-")
        run("0123456789_")
    if len(digits) == 23 and accept("pP"):
        accept("+-")
        run("0123456789_")
    accept("i")
    if i < n and _is_alnum(text[i]):
        raise _LexError(f"bad number syntax: {go_quote(text[start:i + 1])}", start)
    return i


# --------------------------------------------------------------------------- literals

_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
            "\\": "\\"}


def _unquote(lit: str) -> str:
    """Go's strconv.Unquote for "..." `...` and '...' literals; ValueError if invalid."""
    q = lit[0]
    body = lit[1:-1]
    if q == "`":
        return body.replace("\r", "")
    out: list[str] = []
    i = 0
    n = len(body)
    while i < n:
        c = body[i]
        i += 1
        if c == q:
            raise ValueError("invalid syntax")
        if c != "\\":
            out.append(c)
            continue
        if i >= n:
            raise ValueError("invalid syntax")
        e = body[i]
        i += 1
        if e in _ESCAPES:
            out.append(_ESCAPES[e])
        elif e == q:
            out.append(q)
        elif e in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[e]
            hexits = body[i:i + width]
            if len(hexits) != width or any(h not in "0123456789abcdefABCDEF" for h in hexits):
                raise ValueError("invalid syntax")
            i += width
            code = int(hexits, 16)
            if code > 0x10FFFF or 0xD800 <= code < 0xE000 and e != "x":
                raise ValueError("invalid syntax")
            out.append(chr(code))
        elif e in "01234567":
            octs = body[i - 1:i + 2]
            if len(octs) != 3 or any(o not in "01234567" for o in octs) or int(octs, 8) > 255:
                raise ValueError("invalid syntax")
            i += 2
            out.append(chr(int(octs, 8)))
        else:
            raise ValueError("invalid syntax")
    s = "".join(out)
    if q == "'" and len(s) != 1:
        raise ValueError("invalid syntax")
    return s


def _parse_number(text: str) -> int | float:
    """A number literal as Go's ideal constants become values: int unless it looks like a
    float (a '.', or an exponent in a decimal literal)."""
    if text.endswith("i"):
        raise ValueError(f"complex numbers are not supported: {go_quote(text)}")
    body = text.lstrip("+-")
    neg = text.startswith("-")
    lower = body.lower()
    try:
        if lower.startswith("0x"):
            if "." in lower or "p" in lower:
                value: int | float = float.fromhex(body.replace("_", ""))
            else:
                value = int(body, 16)
        elif lower.startswith(("0o", "0b")):
            value = int(body, 0)
        elif any(c in lower for c in ".e"):
            value = float(body)
        elif len(body) > 1 and body[0] == "0":
            value = int(body.replace("_", ""), 8)  # Go: a leading 0 means octal
        else:
            value = int(body)
    except ValueError:
        raise ValueError(f"illegal number syntax: {go_quote(text)}") from None
    return -value if neg else value
