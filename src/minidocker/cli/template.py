"""Go text/template, as Docker users write it in `--format`: parse once, render many.

Data are Python values shaped like Docker's JSON (dict, list, str, int, float, bool, None)
or objects whose public attributes and methods play the part of Go struct fields and
methods. A template is compiled into closures, so rendering 1000 `ps` rows costs a few ms.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterable, Mapping

from minidocker.errors import UsageError

TYPE_CHECKING = False  # `typing` (and the `re` it imports) stays out of the ps path
if TYPE_CHECKING:
    from typing import Any, NoReturn

    Token = tuple[str, str, int]  # (kind, value, offset in the text)
    # name -> (function, least number of arguments, most (None: any))
    FuncSpec = tuple[Callable[..., Any], int, int | None]
    Eval = Callable[["_State", Any], Any]  # (state, dot) -> value
    Cmd = Callable[["_State", Any, Any], Any]  # (state, dot, final) -> value
    Run = Callable[["_State", Any, list[str]], None]  # writes output


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


# --------------------------------------------------------------------------- parse tree


class _Node:
    __slots__ = ("pos",)

    def __init__(self, pos: int):
        self.pos = pos


class _Text(_Node):
    __slots__ = ("text",)

    def __init__(self, pos: int, text: str):
        super().__init__(pos)
        self.text = text

    def __str__(self) -> str:
        return self.text


class _Dot(_Node):
    __slots__ = ()

    def __str__(self) -> str:
        return "."


class _Nil(_Node):
    __slots__ = ()

    def __str__(self) -> str:
        return "nil"


class _Literal(_Node):
    """A bool, number or string constant; `source` is how it was written."""

    __slots__ = ("value", "source")

    def __init__(self, pos: int, value: Any, source: str):
        super().__init__(pos)
        self.value = value
        self.source = source

    def __str__(self) -> str:
        return self.source


class _Field(_Node):
    __slots__ = ("names",)

    def __init__(self, pos: int, names: list[str]):
        super().__init__(pos)
        self.names = names

    def __str__(self) -> str:
        return "".join("." + n for n in self.names)


class _Variable(_Node):
    __slots__ = ("name", "fields")

    def __init__(self, pos: int, name: str, fields: list[str]):
        super().__init__(pos)
        self.name = name
        self.fields = fields

    def __str__(self) -> str:
        return self.name + "".join("." + n for n in self.fields)


class _Identifier(_Node):
    __slots__ = ("name",)

    def __init__(self, pos: int, name: str):
        super().__init__(pos)
        self.name = name

    def __str__(self) -> str:
        return self.name


class _Chain(_Node):
    """A parenthesized pipeline followed by fields: (index .M "a").Name"""

    __slots__ = ("node", "fields")

    def __init__(self, pos: int, node: _Node, fields: list[str]):
        super().__init__(pos)
        self.node = node
        self.fields = fields

    def __str__(self) -> str:
        inner = f"({self.node})" if isinstance(self.node, _Pipe) else str(self.node)
        return inner + "".join("." + n for n in self.fields)


class _Command(_Node):
    __slots__ = ("args",)

    def __init__(self, pos: int, args: list[_Node]):
        super().__init__(pos)
        self.args = args

    def __str__(self) -> str:
        return " ".join(f"({a})" if isinstance(a, _Pipe) else str(a) for a in self.args)


class _Pipe(_Node):
    __slots__ = ("decl", "is_assign", "cmds")

    def __init__(self, pos: int):
        super().__init__(pos)
        self.decl: list[_Variable] = []
        self.is_assign = False
        self.cmds: list[_Command] = []

    def __str__(self) -> str:
        s = ""
        if self.decl:
            s = ", ".join(v.name for v in self.decl) + (" = " if self.is_assign else " := ")
        return s + " | ".join(str(c) for c in self.cmds)


class _Action(_Node):
    __slots__ = ("pipe",)

    def __init__(self, pos: int, pipe: _Pipe):
        super().__init__(pos)
        self.pipe = pipe

    def __str__(self) -> str:
        return "{{" + str(self.pipe) + "}}"


class _Control(_Node):
    """if / with / range: a pipeline, a body and an optional else body."""

    __slots__ = ("kind", "pipe", "body", "orelse")

    def __init__(self, pos: int, kind: str, pipe: _Pipe, body: list[_Node],
                 orelse: list[_Node] | None):
        super().__init__(pos)
        self.kind = kind
        self.pipe = pipe
        self.body = body
        self.orelse = orelse

    def __str__(self) -> str:
        text = "{{" + self.kind + " " + str(self.pipe) + "}}" + "".join(map(str, self.body))
        if self.orelse is not None:
            text += "{{else}}" + "".join(map(str, self.orelse))
        return text + "{{end}}"


class _Jump(_Node):
    """{{break}} or {{continue}} inside a range."""

    __slots__ = ("kind",)

    def __init__(self, pos: int, kind: str):
        super().__init__(pos)
        self.kind = kind

    def __str__(self) -> str:
        return "{{" + self.kind + "}}"


class _Call(_Node):
    """{{template "name" pipeline}}"""

    __slots__ = ("name", "pipe")

    def __init__(self, pos: int, name: str, pipe: _Pipe | None):
        super().__init__(pos)
        self.name = name
        self.pipe = pipe

    def __str__(self) -> str:
        return "{{template " + go_quote(self.name) + (f" {self.pipe}" if self.pipe else "") + "}}"


class _End(_Node):
    __slots__ = ()


class _Else(_Node):
    __slots__ = ("chained",)  # "if"/"with" when written {{else if ...}} / {{else with ...}}

    def __init__(self, pos: int, chained: str):
        super().__init__(pos)
        self.chained = chained


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


class _ParseError(Exception):
    pass


class _Parser:
    """Recursive descent over the token list, following the grammar of Go's text/template."""

    def __init__(self, text: str, funcs: Mapping[str, Any]):
        self.text = text
        self.funcs = funcs
        self.toks = _lex(text)
        self.i = 0
        self.vars = ["$"]
        self.range_depth = 0
        self.defines: dict[str, list[_Node]] = {}

    # token access
    def next(self) -> Token:
        tok = self.toks[min(self.i, len(self.toks) - 1)]
        self.i += 1
        return tok

    def backup(self, count: int = 1) -> None:
        self.i -= count

    def peek(self) -> Token:
        return self.toks[min(self.i, len(self.toks) - 1)]

    def next_non_space(self) -> Token:
        tok = self.next()
        while tok[0] == "space":
            tok = self.next()
        return tok

    def peek_non_space(self) -> Token:
        tok = self.next_non_space()
        self.backup()
        return tok

    def error(self, msg: str, pos: int | None = None) -> NoReturn:
        if pos is None:
            pos = self.toks[max(self.i - 1, 0)][2]
        raise _ParseError(f"template: :{_line_of(self.text, pos)}: {msg}")

    def unexpected(self, tok: Token, context: str) -> NoReturn:
        if tok[0] == "error":
            self.error(tok[1], tok[2])
        self.error(f"unexpected {_describe(tok)} in {context}", tok[2])

    def expect(self, kind: str, context: str) -> Token:
        tok = self.next_non_space()
        if tok[0] != kind:
            self.unexpected(tok, context)
        return tok

    # grammar
    def parse(self) -> list[_Node]:
        root: list[_Node] = []
        while self.peek()[0] != "eof":
            if self.peek()[0] == "left":
                save = self.i
                self.next()
                if self.next_non_space()[0] == "define":
                    self.parse_define()
                    continue
                self.i = save
            node = self.text_or_action()
            if isinstance(node, _End | _Else):
                self.error(f"unexpected {{{{{'end' if isinstance(node, _End) else 'else'}}}}}",
                           node.pos)
            root.append(node)
        return root

    def parse_define(self) -> None:
        context = "define clause"
        tok = self.next_non_space()
        if tok[0] not in ("string", "rawstring"):
            self.unexpected(tok, context)
        name = self.unquote(tok)
        self.expect("right", context)
        saved_vars, self.vars = self.vars, ["$"]
        body, end = self.item_list()
        self.vars = saved_vars
        if not isinstance(end, _End):
            self.error(f"unexpected {{{{else}}}} in {context}", end.pos)
        self.defines[name] = body

    def item_list(self) -> tuple[list[_Node], _Node]:
        nodes: list[_Node] = []
        while self.peek_non_space()[0] not in ("eof", "error"):
            node = self.text_or_action()
            if isinstance(node, _End | _Else):
                return nodes, node
            nodes.append(node)
        if self.peek_non_space()[0] == "error":
            self.unexpected(self.peek_non_space(), "input")
        self.error("unexpected EOF", len(self.text))

    def text_or_action(self) -> _Node:
        tok = self.next_non_space()
        if tok[0] == "text":
            return _Text(tok[2], tok[1])
        if tok[0] == "left":
            return self.action()
        self.unexpected(tok, "input")

    def action(self) -> _Node:
        tok = self.next_non_space()
        kind = tok[0]
        if kind in ("if", "with", "range"):
            return self.control(kind, tok[2])
        if kind == "else":
            nxt = self.peek_non_space()
            if nxt[0] in ("if", "with"):
                return _Else(nxt[2], nxt[0])
            self.expect("right", "else")
            return _Else(tok[2], "")
        if kind == "end":
            self.expect("right", "end")
            return _End(tok[2])
        if kind in ("break", "continue"):
            nxt = self.next_non_space()
            if nxt[0] != "right":
                self.unexpected(nxt, "{{" + kind + "}}")
            if not self.range_depth:
                self.error(f"{{{{{kind}}}}} outside {{{{range}}}}", tok[2])
            return _Jump(tok[2], kind)
        if kind in ("template", "block"):
            return self.template_call(kind, tok[2])
        if kind == "define":
            self.error("unexpected <define> in command", tok[2])
        self.backup()
        pos = self.peek_non_space()[2]
        return _Action(pos, self.pipeline("command"))

    def template_call(self, kind: str, pos: int) -> _Node:
        context = f"{kind} clause"
        tok = self.next_non_space()
        if tok[0] not in ("string", "rawstring"):
            self.unexpected(tok, context)
        name = self.unquote(tok)
        pos = tok[2]  # Go places a template call at its name
        pipe: _Pipe | None = None
        if kind == "block":
            pipe = self.pipeline(context)
            saved_vars, self.vars = self.vars, ["$"]
            body, end = self.item_list()
            self.vars = saved_vars
            if not isinstance(end, _End):
                self.error(f"unexpected {{{{else}}}} in {context}", end.pos)
            self.defines[name] = body
        elif self.next_non_space()[0] != "right":
            self.backup()
            pipe = self.pipeline(context)
        return _Call(pos, name, pipe)

    def control(self, kind: str, pos: int) -> _Control:
        mark = len(self.vars)
        if kind == "range":
            self.range_depth += 1
        try:
            pipe = self.pipeline(kind)
            body, nxt = self.item_list()
            orelse: list[_Node] | None = None
            if isinstance(nxt, _Else):
                if nxt.chained:
                    if nxt.chained != kind:
                        self.error(f"unexpected <{nxt.chained}> in else", nxt.pos)
                    self.next_non_space()  # the if/with keyword
                    orelse = [self.control(kind, nxt.pos)]
                else:
                    orelse, end = self.item_list()
                    if not isinstance(end, _End):
                        self.error("expected end; found {{else}}", end.pos)
        finally:
            if kind == "range":
                self.range_depth -= 1
            del self.vars[mark:]
        return _Control(pipe.pos, kind, pipe, body, orelse)

    def pipeline(self, context: str) -> _Pipe:
        pipe = _Pipe(self.peek_non_space()[2])
        while True:  # declarations
            v = self.peek_non_space()
            if v[0] != "variable":
                break
            self.next_non_space()
            after = self.peek()
            nxt = self.peek_non_space()
            if nxt[0] in ("assign", "declare"):
                pipe.is_assign = nxt[0] == "assign"
                self.next_non_space()
                pipe.decl.append(_Variable(v[2], v[1], []))
                if pipe.is_assign:
                    self.use_var(v)
                else:
                    self.vars.append(v[1])
                break
            if nxt[0] == "comma":
                self.next_non_space()
                pipe.decl.append(_Variable(v[2], v[1], []))
                self.vars.append(v[1])
                if context == "range" and len(pipe.decl) < 2:
                    if self.peek_non_space()[0] in ("variable", "right", "rparen"):
                        continue
                    self.error("range can only initialize variables")
                self.error(f"too many declarations in {context}")
            self.backup(2 if after[0] == "space" else 1)
            break
        while True:
            tok = self.next_non_space()
            kind = tok[0]
            if kind in ("right", "rparen"):
                self.check_pipeline(pipe, context)
                if kind == "rparen":
                    self.backup()
                return pipe
            if kind in ("bool", "charconst", "dot", "field", "identifier", "number", "nil",
                        "rawstring", "string", "variable", "lparen"):
                self.backup()
                pipe.cmds.append(self.command())
            else:
                self.unexpected(tok, context)

    def check_pipeline(self, pipe: _Pipe, context: str) -> None:
        if not pipe.cmds:
            self.error(f"missing value for {context}")
        for i, cmd in enumerate(pipe.cmds[1:]):
            first = cmd.args[0]
            if isinstance(first, _Literal | _Dot | _Nil):
                self.error(f"non executable command in pipeline stage {i + 2}", first.pos)

    def command(self) -> _Command:
        cmd = _Command(self.peek_non_space()[2], [])
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                cmd.args.append(operand)
            tok = self.next()
            kind = tok[0]
            if kind == "space":
                continue
            if kind == "error":
                self.error(tok[1], tok[2])
            if kind in ("right", "rparen"):
                self.backup()
            elif kind != "pipe":
                self.error(f"unexpected {_describe(tok)} in operand", tok[2])
            break
        if not cmd.args:
            self.error("empty command")
        return cmd

    def operand(self) -> _Node | None:
        node = self.term()
        if node is None:
            return None
        if self.peek()[0] == "field":
            pos = self.peek()[2]
            fields: list[str] = []
            while self.peek()[0] == "field":
                fields.append(self.next()[1][1:])
            if isinstance(node, _Field):
                return _Field(pos, node.names + fields)
            if isinstance(node, _Variable):
                return _Variable(pos, node.name, node.fields + fields)
            if isinstance(node, _Literal | _Nil | _Dot):
                self.error(f"unexpected . after term {go_quote(str(node))}")
            return _Chain(pos, node, fields)
        return node

    def term(self) -> _Node | None:
        tok = self.next_non_space()
        kind, val, pos = tok
        if kind == "error":
            self.error(val, pos)
        if kind == "identifier":
            if val not in self.funcs:
                self.error(f"function {go_quote(val)} not defined", pos)
            return _Identifier(pos, val)
        if kind == "dot":
            return _Dot(pos)
        if kind == "nil":
            return _Nil(pos)
        if kind == "variable":
            self.use_var(tok)
            return _Variable(pos, val, [])
        if kind == "field":
            return _Field(pos, [val[1:]])
        if kind == "bool":
            return _Literal(pos, val == "true", val)
        if kind == "number":
            try:
                return _Literal(pos, _parse_number(val), val)
            except ValueError as e:
                self.error(str(e), pos)
        if kind == "charconst":
            return _Literal(pos, ord(self.unquote(tok)), val)
        if kind == "lparen":
            pipe = self.pipeline("parenthesized pipeline")
            close = self.next()
            if close[0] != "rparen":
                self.error(f"unclosed right paren: unexpected {_describe(close)}", close[2])
            return pipe
        if kind in ("string", "rawstring"):
            return _Literal(pos, self.unquote(tok), val)
        self.backup()
        return None

    def unquote(self, tok: Token) -> str:
        try:
            return _unquote(tok[1])
        except ValueError as e:
            self.error(str(e), tok[2])

    def use_var(self, tok: Token) -> None:
        name = tok[1].split(".", 1)[0]
        if name not in self.vars:
            self.error(f"undefined variable {go_quote(name)}", tok[2])


def _describe(tok: Token) -> str:
    """How Go's lexer item prints in an "unexpected ..." message."""
    kind, val, _ = tok
    if kind == "eof":
        return "EOF"
    if kind == "error":
        return val
    if kind in _KEYWORDS or kind == "nil":
        return f"<{val}>"
    if len(val) > 10:
        return go_quote(val[:10]) + "..."
    return go_quote(val)


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
    elif v is None or v is MISSING:
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


# --------------------------------------------------------------------------- functions


class _CallError(Exception):
    """A function failed: reported as `error calling NAME: ...`."""


class _ArgError(Exception):
    """An argument has the wrong type: reported without the `error calling` prefix."""


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


def _first(v: Any, *_: Any) -> Any:
    return v


# Docker renders a table header with the same template, these functions swapped in, and a
# map of column names as data, so `{{json .Names}}` still heads its column with NAMES.
HEADER_FUNCS: dict[str, FuncSpec] = {
    **FUNCS,
    "json": (_first, 1, 1),
    "split": (_first, 2, 2),
    "join": (_first, 2, 2),
    "title": (_first, 1, 1),
    "lower": (_first, 1, 1),
    "upper": (_first, 1, 1),
    "truncate": (_first, 2, 2),
}


# --------------------------------------------------------------------------- execution


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class _State:
    __slots__ = ("vars", "strict", "defines", "depth")

    def __init__(self, data: Any, strict: bool, defines: dict[str, Any]):
        self.vars: list[list[Any]] = [["$", data]]
        self.strict = strict
        self.defines = defines
        self.depth = 0

    def lookup(self, name: str) -> Any:
        for entry in reversed(self.vars):
            if entry[0] == name:
                return entry[1]
        raise TemplateError(f"template: undefined variable: {name}")

    def assign(self, name: str, value: Any) -> None:
        for entry in reversed(self.vars):
            if entry[0] == name:
                entry[1] = value
                return
        raise TemplateError(f"template: undefined variable: {name}")


_METHOD_TYPES = (types.MethodType, types.BuiltinMethodType)


class _Compiler:
    """Turns the parse tree into closures; error locations are worked out here, once."""

    def __init__(self, text: str, funcs: Mapping[str, FuncSpec]):
        self.text = text
        self.funcs = funcs

    def where(self, node: _Node, context: str | None = None) -> str:
        before = self.text[:node.pos]
        line = before.count("\n") + 1
        col = len(before[before.rfind("\n") + 1:].encode())
        ctx = str(node) if context is None else context
        return f'template: :{line}:{col}: executing "" at <{ctx}>: '

    def fail_fn(self, node: _Node) -> Callable[[str], NoReturn]:
        where = self.where(node)

        def fail(msg: str) -> NoReturn:
            raise TemplateError(where + msg)

        return fail

    # lists and nodes
    def compile_list(self, nodes: list[_Node]) -> Run:
        runs = [self.compile_node(n) for n in nodes]
        if len(runs) == 1:
            return runs[0]

        def run_list(st: _State, dot: Any, out: list[str]) -> None:
            for r in runs:
                r(st, dot, out)

        return run_list

    def compile_node(self, node: _Node) -> Run:
        if isinstance(node, _Text):
            text = node.text

            def run_text(st: _State, dot: Any, out: list[str]) -> None:
                out.append(text)

            return run_text
        if isinstance(node, _Action):
            return self.compile_action(node)
        if isinstance(node, _Control):
            if node.kind == "range":
                return self.compile_range(node)
            return self.compile_if_with(node)
        if isinstance(node, _Jump):
            exc = _Break if node.kind == "break" else _Continue

            def run_jump(st: _State, dot: Any, out: list[str]) -> None:
                raise exc

            return run_jump
        if isinstance(node, _Call):
            return self.compile_template_call(node)
        raise AssertionError(node)

    def compile_action(self, node: _Action) -> Run:
        pipe = node.pipe
        if pipe.decl:
            ev = self.compile_pipe(pipe)

            def run_decl(st: _State, dot: Any, out: list[str]) -> None:
                ev(st, dot)

            return run_decl
        cmd0 = pipe.cmds[0]
        first = cmd0.args[0]
        if len(pipe.cmds) == 1 and len(cmd0.args) == 1 and isinstance(first, _Field) and len(
                first.names) == 1:
            # the common case {{.Name}}: one dict lookup, no intermediate calls
            name = first.names[0]
            slow = self.compile_command(cmd0)

            def run_field(st: _State, dot: Any, out: list[str]) -> None:
                if type(dot) is dict:
                    v = dot.get(name, MISSING)
                    if type(v) is str:
                        out.append(v)
                        return
                    if v is MISSING and st.strict:
                        v = slow(st, dot, _NOFINAL)
                else:
                    v = slow(st, dot, _NOFINAL)
                out.append(_print_value(v))

            return run_field
        ev = self.compile_pipe(pipe)

        def run_action(st: _State, dot: Any, out: list[str]) -> None:
            v = ev(st, dot)
            out.append(v if type(v) is str else _print_value(v))

        return run_action

    def compile_if_with(self, node: _Control) -> Run:
        ev = self.compile_pipe(node.pipe)
        body = self.compile_list(node.body)
        orelse = self.compile_list(node.orelse) if node.orelse is not None else None
        is_with = node.kind == "with"

        def run_if(st: _State, dot: Any, out: list[str]) -> None:
            mark = len(st.vars)
            try:
                v = ev(st, dot)
                if truth(v):
                    body(st, v if is_with else dot, out)
                elif orelse is not None:
                    orelse(st, dot, out)
            finally:
                del st.vars[mark:]

        return run_if

    def compile_range(self, node: _Control) -> Run:
        ev = self.compile_pipe(node.pipe)
        body = self.compile_list(node.body)
        orelse = self.compile_list(node.orelse) if node.orelse is not None else None
        decl = [v.name for v in node.pipe.decl]
        assign = node.pipe.is_assign
        fail = self.fail_fn(node)

        def run_range(st: _State, dot: Any, out: list[str]) -> None:
            outer = len(st.vars)
            try:
                val = ev(st, dot)
                items: Iterable[tuple[Any, Any]]
                if isinstance(val, Mapping):
                    items = [(k, val[k]) for k in _sort_keys(val)]
                elif isinstance(val, list | tuple):
                    items = enumerate(val)
                elif type(val) is int:
                    if len(decl) > 1:
                        fail(f"can't use {val} to iterate over more than one variable")
                    items = ((i, i) for i in range(val))
                elif val is MISSING or val is None:
                    items = ()
                elif isinstance(val, Iterable) and not isinstance(val, str | bytes):
                    items = enumerate(list(val))
                else:
                    fail(f"range can't iterate over {_sprint_v(val)}")
                mark = len(st.vars)
                ran = False
                for key, elem in items:
                    ran = True
                    if decl:
                        if assign:
                            if len(decl) > 1:
                                st.assign(decl[0], key)
                                st.assign(decl[1], elem)
                            else:
                                st.assign(decl[0], elem)
                        else:
                            st.vars[-1][1] = elem
                            if len(decl) > 1:
                                st.vars[-2][1] = key
                    try:
                        body(st, elem, out)
                    except _Continue:
                        pass
                    except _Break:
                        break
                    finally:
                        del st.vars[mark:]
                if not ran and orelse is not None:
                    orelse(st, dot, out)
            finally:
                del st.vars[outer:]

        return run_range

    def compile_template_call(self, node: _Call) -> Run:
        ev = self.compile_pipe(node.pipe) if node.pipe else None
        name = node.name
        fail = self.fail_fn(node)

        def run_template(st: _State, dot: Any, out: list[str]) -> None:
            run = st.defines.get(name)
            if run is None:
                fail(f"template {go_quote(name)} not defined")
            new_dot = ev(st, dot) if ev else None
            if st.depth >= 100:
                fail("exceeded maximum template depth (100)")
            saved = st.vars
            st.vars = [["$", new_dot]]
            st.depth += 1
            try:
                run(st, new_dot, out)
            finally:
                st.vars = saved
                st.depth -= 1

        return run_template

    # pipelines and commands
    def compile_pipe(self, pipe: _Pipe) -> Eval:
        cmds = [self.compile_command(c) for c in pipe.cmds]
        decl = [v.name for v in pipe.decl]
        assign = pipe.is_assign

        def run_pipe(st: _State, dot: Any) -> Any:
            v = _NOFINAL
            for c in cmds:
                v = c(st, dot, v)
            if v is None:
                v = MISSING  # Go digs a nil interface down to an invalid value
            for name in decl:
                if assign:
                    st.assign(name, v)
                else:
                    st.vars.append([name, v])
            return v

        if len(cmds) == 1 and not decl:
            c0 = cmds[0]

            def run_one(st: _State, dot: Any) -> Any:
                v = c0(st, dot, _NOFINAL)
                return MISSING if v is None else v

            return run_one
        return run_pipe

    def compile_command(self, cmd: _Command) -> Cmd:
        first = cmd.args[0]
        rest = cmd.args[1:]
        if isinstance(first, _Field):
            return self.compile_field_cmd(first, rest, cmd)
        if isinstance(first, _Variable):
            return self.compile_variable(first, rest)
        if isinstance(first, _Chain):
            return self.compile_chain(first, rest)
        if isinstance(first, _Identifier):
            return self.compile_call(first, rest, cmd)
        fail = self.fail_fn(first)
        if isinstance(first, _Pipe):
            ev = self.compile_pipe(first)
            return self.not_a_function(first, rest, lambda st, dot: ev(st, dot))
        if isinstance(first, _Nil):

            def run_nil(st: _State, dot: Any, final: Any) -> Any:
                fail("nil is not a command")

            return run_nil
        if isinstance(first, _Dot):
            return self.not_a_function(first, rest, lambda st, dot: dot)
        if isinstance(first, _Literal):
            value = first.value
            return self.not_a_function(first, rest, lambda st, dot: value)
        raise AssertionError(first)

    def not_a_function(self, node: _Node, rest: list[_Node], ev: Eval) -> Cmd:
        fail = self.fail_fn(node)
        msg = f"can't give argument to non-function {node}"
        has_args = bool(rest)

        def run(st: _State, dot: Any, final: Any) -> Any:
            if has_args or final is not _NOFINAL:
                fail(msg)
            return ev(st, dot)

        return run

    def compile_args(self, nodes: list[_Node]) -> list[Eval]:
        return [self.compile_arg(n) for n in nodes]

    def compile_arg(self, node: _Node) -> Eval:
        if isinstance(node, _Literal):
            value = node.value
            return lambda st, dot: value
        if isinstance(node, _Dot):
            return lambda st, dot: dot
        if isinstance(node, _Nil):
            return lambda st, dot: None
        if isinstance(node, _Pipe):
            return self.compile_pipe(node)
        cmd = self.compile_command(_Command(node.pos, [node]))
        return lambda st, dot: cmd(st, dot, _NOFINAL)

    def compile_field_cmd(self, node: _Field, rest: list[_Node], cmd: _Command) -> Cmd:
        names = node.names
        args = self.compile_args(rest)
        getter = self.field_getter(node, node.names)
        if len(names) == 1 and not args:
            name = names[0]

            def run_simple(st: _State, dot: Any, final: Any) -> Any:
                if final is _NOFINAL and type(dot) is dict:
                    v = dot.get(name, MISSING)
                    if v is not MISSING or not st.strict:
                        return v
                return getter(st, dot, [], final)

            return run_simple

        def run_field(st: _State, dot: Any, final: Any) -> Any:
            return getter(st, dot, [a(st, dot) for a in args], final)

        return run_field

    def compile_variable(self, node: _Variable, rest: list[_Node]) -> Cmd:
        name = node.name
        if not node.fields:
            return self.not_a_function(node, rest, lambda st, dot: st.lookup(name))
        args = self.compile_args(rest)
        getter = self.field_getter(node, node.fields)

        def run_var(st: _State, dot: Any, final: Any) -> Any:
            return getter(st, st.lookup(name), [a(st, dot) for a in args], final)

        return run_var

    def compile_chain(self, node: _Chain, rest: list[_Node]) -> Cmd:
        inner = self.compile_arg(node.node)
        args = self.compile_args(rest)
        getter = self.field_getter(node, node.fields)

        def run_chain(st: _State, dot: Any, final: Any) -> Any:
            recv = inner(st, dot)
            if recv is None:
                recv = MISSING
            return getter(st, recv, [a(st, dot) for a in args], final)

        return run_chain

    def field_getter(self, node: _Node, names: list[str]) -> Callable[
            [_State, Any, list[Any], Any], Any]:
        """Walk a chain of fields from a receiver; the last one gets the arguments."""
        fail = self.fail_fn(node)
        last = len(names) - 1

        def get(st: _State, recv: Any, args: list[Any], final: Any) -> Any:
            for i, name in enumerate(names):
                if i == last:
                    recv = _field(st, recv, name, args, final, fail)
                else:
                    recv = _field(st, recv, name, [], _NOFINAL, fail)
            return recv

        return get

    def compile_call(self, ident: _Identifier, rest: list[_Node], cmd: _Command) -> Cmd:
        name = ident.name
        fn, least, most = self.funcs[name]
        args = self.compile_args(rest)
        fail_ident = self.fail_fn(ident)
        fail_cmd = self.fail_fn(cmd)

        def check_count(count: int) -> None:
            if most is None and count < least:
                fail_ident(f"wrong number of args for {name}: want at least {least} got {count}")
            if most is not None and not least <= count <= most:
                fail_ident(f"wrong number of args for {name}: want {least} got {count}")

        if name in ("and", "or"):
            want = name == "or"

            def run_logic(st: _State, dot: Any, final: Any) -> Any:
                check_count(len(args) + (final is not _NOFINAL))
                v: Any = None
                for a in args:
                    v = a(st, dot)
                    if truth(v) == want:
                        return v
                if final is not _NOFINAL:
                    v = final
                return v

            return run_logic

        def run_call(st: _State, dot: Any, final: Any) -> Any:
            check_count(len(args) + (final is not _NOFINAL))
            values = [a(st, dot) for a in args]
            if final is not _NOFINAL:
                values.append(final)
            values = [None if v is MISSING else v for v in values]
            try:
                return fn(*values)
            except _ArgError as e:
                fail_ident(str(e))
            except _CallError as e:
                fail_cmd(f"error calling {name}: {e}")
            except TemplateError:
                raise
            except Exception as e:  # a Python callable handed in by `call`
                fail_cmd(f"error calling {name}: {e}")

        return run_call


def _field(st: _State, recv: Any, name: str, args: list[Any], final: Any,
           fail: Callable[[str], NoReturn]) -> Any:
    """Go's evalField: a method, a struct field, or a map key of the receiver."""
    has_args = bool(args) or final is not _NOFINAL
    if type(recv) is dict or isinstance(recv, Mapping):
        if has_args:
            fail(f"{name} is not a method but has arguments")
        if name in recv:
            return recv[name]
        if st.strict and type(recv) is not FreeMap:
            fail(f"map has no entry for key {go_quote(name)}")
        return MISSING
    if recv is MISSING:
        if st.strict:
            fail(f"nil data; no entry for key {go_quote(name)}")
        return MISSING
    if recv is None:
        fail(f"nil pointer evaluating interface {{}}.{name}")
    if isinstance(recv, str | int | float | list | tuple | bytes) or name.startswith("_"):
        fail(f"can't evaluate field {name} in type {go_type(recv)}")
    try:
        attr = getattr(recv, name)
    except AttributeError:
        fail(f"can't evaluate field {name} in type {go_type(recv)}")
    if isinstance(attr, _METHOD_TYPES):
        call_args = list(args)
        if final is not _NOFINAL:
            call_args.append(final)
        call_args = [None if a is MISSING else a for a in call_args]
        try:
            return attr(*call_args)
        except TypeError as e:
            fail(f"wrong number of args for {name}: {e}")
        except TemplateError:
            raise
        except Exception as e:
            fail(f"error calling {name}: {e}")
    if has_args:
        fail(f"{name} has arguments but cannot be invoked as function")
    return attr


# --------------------------------------------------------------------------- public API


class Template:
    """A parsed template; `execute` is safe to call many times, from several threads."""

    def __init__(self, source: str, *, strict_fields: bool = False,
                 funcs: Mapping[str, FuncSpec] | None = None):
        self.source = source
        self.strict_fields = strict_fields
        funcs = FUNCS if funcs is None else funcs
        parser = _Parser(source, funcs)
        try:
            root = parser.parse()
        except _ParseError as e:
            raise TemplateError(str(e)) from None
        compiler = _Compiler(source, funcs)
        self._run = compiler.compile_list(root) if root else (lambda st, dot, out: None)
        self._defines = {name: compiler.compile_list(body) if body else
                         (lambda st, dot, out: None) for name, body in parser.defines.items()}

    def execute(self, data: Any) -> str:
        if data is None:
            data = MISSING  # Go: executing with nil data gives an invalid dot
        out: list[str] = []
        self._run(_State(data, self.strict_fields, self._defines), data, out)
        return "".join(out)

    def execute_partial(self, data: Any) -> str:
        """What was written before an error, as Go leaves it in the writer (table headers)."""
        if data is None:
            data = MISSING
        out: list[str] = []
        try:
            self._run(_State(data, self.strict_fields, self._defines), data, out)
        except TemplateError:
            pass
        return "".join(out)


_cache: dict[tuple[str, bool], Template] = {}


def parse(source: str, *, strict_fields: bool = False) -> Template:
    """Compile a template (cached: the same text compiles once per process)."""
    key = (source, strict_fields)
    tmpl = _cache.get(key)
    if tmpl is None:
        if len(_cache) > 64:
            _cache.clear()
        tmpl = _cache[key] = Template(source, strict_fields=strict_fields)
    return tmpl


def render(source: str, data: Any, *, strict_fields: bool = False) -> str:
    """Render one value. strict_fields: a missing map key is an error (Go's
    missingkey=error, as `docker inspect` falls back to) instead of `<no value>`."""
    return parse(source, strict_fields=strict_fields).execute(data)


# --------------------------------------------------------------------------- --format


def default_header(field: str) -> str:
    """A column title from a field name, as Docker spells them: CreatedAt -> CREATED AT."""
    words: list[str] = []
    cur = ""
    for i, ch in enumerate(field):
        boundary = ch.isupper() and cur and (not cur[-1].isupper() or (
            i + 1 < len(field) and field[i + 1].islower()))
        if boundary or ch in "_-":
            words.append(cur)
            cur = "" if ch in "_-" else ch
        else:
            cur += ch
    words.append(cur)
    return " ".join(w.upper() for w in words if w)


class _Headers:
    """The data a table header is rendered from: every field is its column title."""

    def __init__(self, titles: Mapping[str, str]):
        self._titles = titles

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        title = self._titles.get(name) or default_header(name)
        return types.MethodType(lambda self, *args: title, self)


class Format:
    """A --format value as Docker's CLI reads it: `table ...`, `json`, or a template."""

    def __init__(self, spec: str, *, default_table: str = "", strict_fields: bool = False):
        if spec == "table" and default_table:
            spec = default_table
        self.spec = spec
        self.is_table = spec.startswith("table")
        text = spec[5:] if self.is_table else ("{{json .}}" if spec == "json" else spec)
        text = text.strip(" ").replace("\\t", "\t").replace("\\n", "\n")
        self.text = text
        self.template = parse(text, strict_fields=strict_fields)
        self._header: Template | None = None

    def header(self, titles: Mapping[str, str] | None = None) -> str:
        """The header line of a table, or "" for other formats."""
        if not self.is_table:
            return ""
        if self._header is None:
            self._header = Template(self.text, funcs=HEADER_FUNCS)
        return self._header.execute_partial(_Headers(titles or {}))

    def render(self, rows: Iterable[Any], titles: Mapping[str, str] | None = None) -> str:
        """All rows, one per line; tables get a header and aligned columns."""
        execute = self.template.execute
        lines = [execute(row) + "\n" for row in rows]
        if not self.is_table:
            return "".join(lines)
        from minidocker.cli.output import tabwrite

        return tabwrite(self.header(titles) + "\n" + "".join(lines))
