"""The parse tree of Go's text/template and the parser that builds it from tokens."""

from __future__ import annotations

from collections.abc import Mapping

from minidocker.gotemplate.lexer import _KEYWORDS, _lex, _parse_number, _unquote
from minidocker.gotemplate.values import go_quote

TYPE_CHECKING = False  # `typing` (and the `re` it imports) stays out of the ps path
if TYPE_CHECKING:
    from typing import Any, NoReturn

    Token = tuple[str, str, int]  # (kind, value, offset in the text)


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
