"""Variable substitution in Dockerfile instructions, as the reference (and BuildKit's
shell lexer) defines it: `$VAR`, `${VAR}`, `${VAR:-word}`, `${VAR-word}`,
`${VAR:+word}`, `${VAR+word}`, `${VAR:?msg}`, `${VAR?msg}`, the `#`/`##`/`%`/`%%` pattern
removals and `/`/`//` replacement; single quotes keep text literal, double quotes keep
spaces, the escape character (`\\` or the `# escape=` one) quotes the next character.

`expand` makes one word (ENV values, WORKDIR, paths); `expand_words` also splits on
unquoted whitespace, including whitespace that an unquoted variable brings (EXPOSE).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping

from minidocker.errors import MinidockerError

_SPECIAL = "@*#?-$!0"


class ExpandError(MinidockerError):
    """A bad substitution (`${}`, `${VAR:?}` on an unset variable, a missing `}`)."""


class _Words:
    """Collects characters into words; `split` characters (unquoted) break words."""

    def __init__(self) -> None:
        self.words: list[str] = []
        self.word: list[str] = []
        self.in_word = False

    def raw(self, text: str) -> None:
        self.word.append(text)
        self.in_word = True

    def split(self, text: str) -> None:
        for ch in text:
            if ch.isspace():
                if self.in_word:
                    self.words.append("".join(self.word))
                    self.word, self.in_word = [], False
            else:
                self.raw(ch)

    def done(self) -> list[str]:
        if self.in_word:
            self.words.append("".join(self.word))
        return self.words


class _Lexer:
    def __init__(self, text: str, env: Mapping[str, str], escape: str):
        self.text = text
        self.pos = 0
        self.env = env
        self.escape = escape

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def next(self) -> str:
        ch = self.peek()
        self.pos += 1 if ch else 0
        return ch

    # -- a whole word, or up to a stop character (inside ${...})

    def run(self, stop: str = "", raw_escapes: bool = False) -> tuple[str, list[str]]:
        out: list[str] = []
        words = _Words()
        while True:
            ch = self.peek()
            if not ch:
                if stop:
                    raise ExpandError(f"syntax error: missing '{stop}'")
                break
            if stop and ch == stop:
                self.next()
                break
            if ch == "'":
                text = self._single()
                out.append(text)
                words.raw(text)
            elif ch == '"':
                text = self._double()
                out.append(text)
                words.raw(text)
            elif ch == "$":
                text = self._dollar()
                out.append(text)
                words.split(text)
            else:
                self.next()
                if ch == self.escape and not raw_escapes:
                    nxt = self.next()
                    if not nxt:
                        continue  # an escape at the end is dropped
                    out.append(nxt)
                    words.raw(nxt)
                    continue
                if ch == self.escape and raw_escapes:
                    out.append(ch)
                    words.raw(ch)
                    ch = self.next()
                    if not ch:
                        continue
                out.append(ch)
                words.split(ch)
        return "".join(out), words.done()

    def _single(self) -> str:
        self.next()
        out: list[str] = []
        while True:
            ch = self.next()
            if not ch:
                raise ExpandError("unexpected end of statement while looking for matching "
                                  "single-quote")
            if ch == "'":
                return "".join(out)
            out.append(ch)

    def _double(self) -> str:
        self.next()
        out: list[str] = []
        while True:
            ch = self.peek()
            if not ch:
                raise ExpandError("unexpected end of statement while looking for matching "
                                  "double-quote")
            if ch == '"':
                self.next()
                return "".join(out)
            if ch == "$":
                out.append(self._dollar())
                continue
            self.next()
            if ch == self.escape:
                nxt = self.peek()
                if not nxt:
                    continue
                if nxt in ('"', "$", self.escape):
                    ch = self.next()
            out.append(ch)

    def _name(self) -> str:
        ch = self.peek()
        if ch.isdigit():
            start = self.pos
            while self.peek().isdigit():
                self.next()
            return self.text[start:self.pos]
        if ch and ch in _SPECIAL:
            return self.next()
        start = self.pos
        while self.peek() and (self.peek().isalnum() or self.peek() == "_"):
            self.next()
        return self.text[start:self.pos]

    def _lookup(self, name: str) -> str | None:
        return self.env.get(name)

    def _dollar(self) -> str:
        self.next()
        if self.peek() != "{":
            name = self._name()
            if not name:
                return "$"
            return self._lookup(name) or ""
        self.next()
        ch = self.peek()
        if not ch:
            raise ExpandError("syntax error: missing '}'")
        if ch in "{}:":
            raise ExpandError("syntax error: bad substitution")
        name = self._name()
        op = self.next()
        if op == "}":
            return self._lookup(name) or ""
        value = self._lookup(name)
        if op == ":":
            modifier = self.next()
            if modifier not in "-+?":
                raise ExpandError(f"unsupported modifier ({op}{modifier}) in substitution")
            word, _ = self.run("}")
            unset = value is None or value == ""
            return self._modify(name, modifier, word, value, unset, colon=True)
        if op in "-+?":
            word, _ = self.run("}")
            return self._modify(name, op, word, value, value is None, colon=False)
        if op in "#%":
            longest = self.peek() == op
            if longest:
                self.next()
            pattern, _ = self.run("}", raw_escapes=True)
            return _remove(value or "", pattern, op == "#", longest)
        if op == "/":
            every = self.peek() == "/"
            if every:
                self.next()
            pattern = self._until("/}")
            replacement = ""
            if self.text[self.pos - 1] == "/":
                replacement, _ = self.run("}")
            return _replace(value or "", pattern, replacement, every)
        raise ExpandError(f"unsupported modifier ({op}) in substitution")

    def _until(self, stops: str) -> str:
        out: list[str] = []
        while True:
            ch = self.next()
            if not ch:
                raise ExpandError("syntax error: missing '}'")
            if ch in stops:
                return "".join(out)
            if ch == self.escape and self.peek():
                out.append(ch)
                ch = self.next()
            out.append(ch)

    def _modify(self, name: str, op: str, word: str, value: str | None, unset: bool,
                colon: bool) -> str:
        if op == "-":
            return word if unset else (value or "")
        if op == "+":
            return "" if unset else word
        if unset:  # "?"
            default = "is not allowed to be empty" if colon and value is not None \
                else "is not allowed to be unset"
            raise ExpandError(f"{name}: {word or default}")
        return value or ""


def _glob_re(pattern: str) -> str:
    return fnmatch.translate(pattern).removeprefix("(?s:").removesuffix(")\\Z")


def _remove(value: str, pattern: str, prefix: bool, longest: bool) -> str:
    regex = re.compile(_glob_re(pattern), re.S)
    spans = range(len(value), -1, -1) if longest else range(len(value) + 1)
    for n in spans:
        part = value[:n] if prefix else value[len(value) - n:]
        if regex.fullmatch(part):
            return value[n:] if prefix else value[:len(value) - n]
    return value


def _replace(value: str, pattern: str, replacement: str, every: bool) -> str:
    if not pattern:
        return value
    regex = re.compile(_glob_re(pattern), re.S)
    out: list[str] = []
    i = 0
    while i <= len(value):
        match = None
        for end in range(len(value), i - 1, -1):  # the longest match here
            if regex.fullmatch(value, i, end):
                match = end
                break
        if match is None or match == i:
            if i < len(value):
                out.append(value[i])
            i += 1
            continue
        out.append(replacement)
        i = match
        if not every:
            out.append(value[i:])
            return "".join(out)
    return "".join(out)


def expand(word: str, env: Mapping[str, str], escape: str = "\\") -> str:
    """One word: quotes removed, escapes applied, variables substituted."""
    return _Lexer(word, env, escape).run()[0]


def expand_words(text: str, env: Mapping[str, str], escape: str = "\\") -> list[str]:
    """Words split on unquoted whitespace (also whitespace from unquoted variables)."""
    return _Lexer(text, env, escape).run()[1]


def expand_heredoc(content: str, env: Mapping[str, str], escape: str = "\\") -> str:
    """The content of a heredoc with an unquoted delimiter: variables substituted and
    `\\$` unescaped, as a shell treats such a heredoc; quotes are kept as text."""
    out: list[str] = []
    lexer = _Lexer(content, env, escape)
    while lexer.peek():
        ch = lexer.peek()
        if ch == "$":
            out.append(lexer._dollar())
        elif ch == escape and lexer.pos + 1 < len(content) and \
                content[lexer.pos + 1] in ("$", escape):
            lexer.next()
            out.append(lexer.next())
        else:
            out.append(lexer.next())
    return "".join(out)
