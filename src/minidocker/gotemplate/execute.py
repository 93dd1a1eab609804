"""Executing a template: the parse tree compiled into closures, and the public entry
points (Template, parse, render)."""

from __future__ import annotations

import types
from collections.abc import Callable, Iterable, Mapping

from minidocker.gotemplate.funcs import FUNCS
from minidocker.gotemplate.parser import (
    _Action,
    _Call,
    _Chain,
    _Command,
    _Control,
    _Dot,
    _Field,
    _Identifier,
    _Jump,
    _Literal,
    _Nil,
    _Node,
    _ParseError,
    _Parser,
    _Pipe,
    _Text,
    _Variable,
)
from minidocker.gotemplate.values import (
    _NOFINAL,
    MISSING,
    FreeMap,
    TemplateError,
    _ArgError,
    _CallError,
    _print_value,
    _sort_keys,
    _sprint_v,
    go_quote,
    go_type,
    truth,
)

TYPE_CHECKING = False  # `typing` (and the `re` it imports) stays out of the ps path
if TYPE_CHECKING:
    from typing import Any, NoReturn

    FuncSpec = tuple[Callable[..., Any], int, int | None]
    Eval = Callable[["_State", Any], Any]  # (state, dot) -> value
    Cmd = Callable[["_State", Any, Any], Any]  # (state, dot, final) -> value
    Run = Callable[["_State", Any, list[str]], None]  # writes output


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
        self.plain = _plain_fields(root) if not parser.defines else None
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


def _plain_fields(root: list[Any]) -> list[tuple[str, str]] | None:
    """[(text, field name)] when the template is text and `{{.Field}}` actions alone (the
    tables of ps and images): a caller may then read the fields itself, thousands of rows
    a second faster. None for anything else."""
    from minidocker.gotemplate.parser import _Action, _Field, _Text
    out: list[tuple[str, str]] = []
    text = ""
    for node in root:
        if isinstance(node, _Text):
            text += node.text
            continue
        if not isinstance(node, _Action) or node.pipe.decl or len(node.pipe.cmds) != 1:
            return None
        args = node.pipe.cmds[0].args
        if len(args) != 1 or not isinstance(args[0], _Field) or len(args[0].names) != 1:
            return None
        out.append((text, args[0].names[0]))
        text = ""
    return out + [(text, "")]


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
