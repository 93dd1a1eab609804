"""The Dockerfile parser: text -> nodes, with BuildKit's rules for parser directives,
comments, line continuations, JSON (exec) form, builder flags and heredocs.

A node is one instruction as written: its keyword, the `--flags` before its arguments,
its arguments split the way that keyword splits them (`value`), whether they were a JSON
array, the heredocs that follow it, and its first and last line. Meaning (which flags
exist, what ARG scoping does) belongs to `instructions`; this module only reads text.
"""

from __future__ import annotations

import json
import re

from minidocker.errors import MinidockerError

_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_KNOWN_DIRECTIVES = ("syntax", "escape", "check")
_WHITESPACE = re.compile(r"[\t\v\f\r ]+")
_HEREDOC = re.compile(r"^(\d*)<<(-?)([^<]*)$")
HEREDOC_KEYWORDS = ("ADD", "COPY", "RUN")


class ParseError(MinidockerError):
    """A Dockerfile that cannot be read; `line` is its (first) line number, 1-based."""

    def __init__(self, message: str, line: int = 0, *, hint: str | None = None):
        super().__init__(f"Dockerfile:{line}: {message}" if line else message, hint=hint)
        self.line = line
        self.reason = message


class Heredoc:
    def __init__(self, name: str, content: str, expand: bool = True, chomp: bool = False,
                 fd: int = 0):
        self.name = name
        self.content = content
        self.expand = expand  # an unquoted delimiter: variables in the content are expanded
        self.chomp = chomp    # <<-: leading tabs are stripped
        self.fd = fd


class Node:
    def __init__(self, keyword: str, value: list[str], original: str, line: int,
                 end_line: int, *, flags: list[str] | None = None, raw: str = ""):
        self.keyword = keyword        # upper case, as BuildKit's instruction names
        self.value = value            # the arguments, split as the keyword wants
        self.original = original      # the logical line (continuations joined)
        self.line = line              # first line, 1-based
        self.end_line = end_line
        self.flags = flags if flags is not None else []
        self.json = False
        self.heredocs: list[Heredoc] = []
        self.sub: Node | None = None  # ONBUILD's instruction
        self.raw = raw                # the arguments after the flags, unsplit

    def __repr__(self) -> str:
        return f"Node({self.keyword} {self.value!r} line {self.line})"


class Dockerfile:
    def __init__(self, nodes: list[Node], escape: str = "\\", syntax: str = "",
                 warnings: list[str] | None = None):
        self.nodes = nodes
        self.escape = escape
        self.syntax = syntax
        self.warnings = warnings if warnings is not None else []


# ---- directives and lines -------------------------------------------------------------------


class _Directives:
    """Parser directives are read only at the very top: the first line that is not one
    (a comment, a blank line, an unknown directive, an instruction) ends them."""

    def __init__(self) -> None:
        self.escape = "\\"
        self.syntax = ""
        self.done = False
        self.seen: set[str] = set()
        self._continuation = _continuation_re(self.escape)

    def offer(self, line: str, number: int) -> None:
        if self.done:
            return
        match = _DIRECTIVE.match(line)
        if not match or match.group(1).lower() not in _KNOWN_DIRECTIVES:
            self.done = True
            return
        name, value = match.group(1).lower(), match.group(2)
        if name in self.seen:
            raise ParseError(f"only one {name} parser directive can be used", number)
        self.seen.add(name)
        if name == "escape":
            if value not in ("\\", "`"):
                raise ParseError(f"invalid escape token '{value}' does not match ` or \\",
                                 number)
            self.escape = value
            self._continuation = _continuation_re(value)
        elif name == "syntax":
            self.syntax = value

    def trim_continuation(self, line: str) -> tuple[str, bool]:
        """(line without its continuation character, whether the line is complete)."""
        match = self._continuation.search(line)
        if match:
            return line[:match.start()], False
        return line, True


def _continuation_re(escape: str) -> re.Pattern[str]:
    return re.compile(re.escape(escape) + r"[ \t]*$")


def _is_comment(line: str) -> bool:
    return line.lstrip(" \t").startswith("#")


def _process(directives: _Directives, raw: str, number: int, strip_left: bool) -> str:
    line = raw.rstrip("\r\n")
    if strip_left:
        line = line.lstrip(" \t")
    directives.offer(line, number)
    return "" if _is_comment(line) else line


def parse(text: str | bytes) -> Dockerfile:
    """Parse a whole Dockerfile."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ParseError(f"the Dockerfile is not UTF-8 text: {e}") from None
    text = text.removeprefix("\ufeff")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    directives = _Directives()
    nodes: list[Node] = []
    warnings: list[str] = []
    i = 0
    while i < len(lines):
        start = i + 1
        line = _process(directives, lines[i], start, True)
        i += 1
        line, complete = directives.trim_continuation(line)
        if complete and not line.strip():
            continue
        empty_continuation = False
        while not complete and i < len(lines):
            raw = lines[i]
            i += 1
            cont = _process(directives, raw, i, False)
            if _is_comment(raw):
                continue
            if not cont.strip(" \t"):
                empty_continuation = True
                continue
            cont, complete = directives.trim_continuation(cont)
            line += cont
        if empty_continuation:
            warnings.append(f"Dockerfile:{start}: empty continuation line (deprecated)")
        node = node_from_line(line, directives.escape, start, i)
        if node.keyword in HEREDOC_KEYWORDS and "<<" in line:
            full = [line + "\n"]
            for heredoc in heredocs_in(line, start):
                terminated = False
                content: list[str] = []
                while i < len(lines):
                    raw = lines[i].rstrip("\r")
                    i += 1
                    candidate = raw.lstrip("\t") if heredoc.chomp else raw
                    if candidate == heredoc.name:
                        full.append(candidate + "\n")
                        terminated = True
                        break
                    full.append(raw + "\n")
                    content.append(raw + "\n")
                if not terminated:
                    raise ParseError("unterminated heredoc", start)
                heredoc.content = "".join(content)
                node.heredocs.append(heredoc)
            if node.heredocs:
                node.original = "".join(full)
            node.end_line = i
        nodes.append(node)
    return Dockerfile(nodes, directives.escape, directives.syntax, warnings)


# ---- one instruction ------------------------------------------------------------------------


def node_from_line(line: str, escape: str, start: int, end: int) -> Node:
    stripped = line.strip()
    parts = re.split(r"\s+", stripped, maxsplit=1)
    keyword = parts[0].upper()
    rest, flags = split_flags(parts[1]) if len(parts) == 2 else ("", [])
    rest = rest.strip()
    node = Node(keyword, [], line, start, end, flags=flags, raw=rest)
    try:
        _ARGUMENTS.get(keyword, _ignore)(node, rest, escape)
    except ParseError as e:
        raise ParseError(e.reason, start) from None
    return node


def split_flags(line: str) -> tuple[str, list[str]]:
    """Leading `--name[=value]` words (quotes and backslashes as a shell reads them); `--`
    alone ends them. Returns (the rest of the line, the flags)."""
    flags: list[str] = []
    pos, n = 0, len(line)
    while True:
        while pos < n and line[pos].isspace():
            pos += 1
        if pos >= n:
            return "", flags
        if not line.startswith("--", pos):
            return line[pos:], flags
        word, quoted, quote = [], False, ""
        while pos < n:
            ch = line[pos]
            if quote:
                if ch == quote:
                    quote = ""
                elif ch == "\\" and pos + 1 < n:
                    pos += 1
                    word.append(line[pos])
                elif ch != "\\":
                    word.append(ch)
                pos += 1
                continue
            if ch.isspace():
                break
            if ch in "'\"":
                quote, quoted = ch, True
            elif ch == "\\":
                if pos + 1 < n:
                    pos += 1
                    word.append(line[pos])
            else:
                word.append(ch)
            pos += 1
        text = "".join(word)
        if text == "--" and not quoted:
            return line[pos:], flags
        if text or quoted:
            flags.append(text)


def parse_words(rest: str, escape: str) -> list[str]:
    """Split on whitespace outside quotes, keeping quotes and escapes in the words (they
    are removed later, by variable expansion): BuildKit's parseWords."""
    words: list[str] = []
    word: list[str] = []
    in_word = blank_ok = False
    quote = ""
    pos, n = 0, len(rest)
    while pos < n:
        ch = rest[pos]
        if not in_word and not quote:
            if ch.isspace():
                pos += 1
                continue
            in_word = True
        if not quote and ch.isspace():
            if blank_ok or word:
                words.append("".join(word))
            word, in_word, blank_ok = [], False, False
            pos += 1
            continue
        if quote and ch == quote:
            quote = ""
        elif not quote and ch in "'\"":
            quote, blank_ok = ch, True
        elif ch == escape and quote != "'":
            # the escape and the character after it stay together (even a quote);
            # an escape at the very end is dropped
            if pos + 1 == n:
                break
            word.append(ch)
            pos += 1
            ch = rest[pos]
        word.append(ch)
        pos += 1
    if in_word and (blank_ok or word):
        words.append("".join(word))
    return words


def _json_array(rest: str) -> list[str] | None:
    """The list of a JSON array of strings, or None when `rest` is not JSON at all."""
    if not rest.startswith("["):
        return None
    try:
        value = json.loads(rest)
    except ValueError:
        return None
    if not isinstance(value, list):
        return None
    if not all(isinstance(v, str) for v in value):
        raise ParseError("when using JSON array syntax, arrays must be comprised of "
                         "strings only")
    return value


def _maybe_json(node: Node, rest: str, escape: str) -> None:
    if not rest:
        return
    array = _json_array(rest)
    if array is not None:
        node.value, node.json = array, True
    else:
        node.value = [rest]


def _maybe_json_list(node: Node, rest: str, escape: str) -> None:
    array = _json_array(rest)
    if array is not None:
        node.value, node.json = array, True
    else:
        _whitespace_list(node, rest, escape)


def _whitespace_list(node: Node, rest: str, escape: str) -> None:
    node.value = [w for w in _WHITESPACE.split(rest) if w] if rest else []


def _string(node: Node, rest: str, escape: str) -> None:
    node.value = [rest] if rest else []


def _ignore(node: Node, rest: str, escape: str) -> None:
    node.value = [w for w in _WHITESPACE.split(rest) if w] if rest else []


def _name_or_name_value(node: Node, rest: str, escape: str) -> None:
    node.value = parse_words(rest, escape)


def _name_value(node: Node, rest: str, escape: str) -> None:
    """ENV and LABEL: `KEY=VALUE ...`, or the legacy `KEY VALUE with spaces`. The value
    is key, value, separator triples (BuildKit's key-value nodes)."""
    words = parse_words(rest, escape)
    if not words:
        if node.keyword == "ENV":
            raise ParseError("ENV must have two arguments")
        return
    if "=" not in words[0]:
        parts = _WHITESPACE.split(rest, maxsplit=1)
        if len(parts) < 2 or not parts[1]:
            raise ParseError(f"{node.keyword} must have two arguments")
        node.value = [parts[0], parts[1], ""]
        return
    out: list[str] = []
    for word in words:
        if "=" not in word:
            raise ParseError(f"Syntax error - can't find = in \"{word}\". "
                             "Must be of the form: name=value")
        key, _, value = word.partition("=")
        out += [key, value, "="]
    node.value = out


def _healthcheck(node: Node, rest: str, escape: str) -> None:
    parts = re.split(r"\s+", rest, maxsplit=1)
    if not rest:
        return
    kind = parts[0]
    command = Node(node.keyword, [], node.original, node.line, node.end_line)
    _maybe_json(command, parts[1] if len(parts) > 1 else "", escape)
    node.value = [kind, *command.value]
    node.json = command.json


def _onbuild(node: Node, rest: str, escape: str) -> None:
    if not rest:
        return
    node.sub = node_from_line(rest, escape, node.line, node.end_line)
    node.value = [rest]


_ARGUMENTS = {
    "ADD": _maybe_json_list, "COPY": _maybe_json_list, "VOLUME": _maybe_json_list,
    "ARG": _name_or_name_value,
    "CMD": _maybe_json, "ENTRYPOINT": _maybe_json, "RUN": _maybe_json, "SHELL": _maybe_json,
    "ENV": _name_value, "LABEL": _name_value,
    "EXPOSE": _whitespace_list, "FROM": _whitespace_list,
    "HEALTHCHECK": _healthcheck,
    "MAINTAINER": _string, "STOPSIGNAL": _string, "USER": _string, "WORKDIR": _string,
    "ONBUILD": _onbuild,
}


# ---- heredocs -------------------------------------------------------------------------------


def heredocs_in(line: str, number: int) -> list[Heredoc]:
    """The heredocs an instruction line opens (`<<EOF`, `<<-EOF`, `<<"EOF"`, `3<<EOF`),
    in order. Words are split as the shell would, quotes kept."""
    out = []
    for word in _raw_words(line):
        match = _HEREDOC.match(word)
        if not match:
            continue
        raw_name = match.group(3)
        name = _unquote(raw_name)
        if not name:
            raise ParseError("heredoc without a delimiter", number)
        out.append(Heredoc(name=name, content="", expand=name == raw_name,
                           chomp=match.group(2) == "-",
                           fd=int(match.group(1)) if match.group(1) else 0))
    return out


def _raw_words(line: str) -> list[str]:
    """Shell words with quotes and backslashes kept (BuildKit's RawQuotes lexing)."""
    words: list[str] = []
    word: list[str] = []
    quote = ""
    have = False
    i = 0
    while i < len(line):
        ch = line[i]
        if quote:
            word.append(ch)
            if ch == quote:
                quote = ""
            elif ch == "\\" and quote == '"' and i + 1 < len(line):
                i += 1
                word.append(line[i])
        elif ch.isspace():
            if have:
                words.append("".join(word))
            word, have = [], False
        else:
            have = True
            word.append(ch)
            if ch in "'\"":
                quote = ch
            elif ch == "\\" and i + 1 < len(line):
                i += 1
                word.append(line[i])
        i += 1
    if have:
        words.append("".join(word))
    return words


def _unquote(word: str) -> str:
    out: list[str] = []
    quote = ""
    i = 0
    while i < len(word):
        ch = word[i]
        if quote:
            if ch == quote:
                quote = ""
            elif ch == "\\" and quote == '"' and i + 1 < len(word) and word[i + 1] in '"\\$':
                i += 1
                out.append(word[i])
            else:
                out.append(ch)
        elif ch in "'\"":
            quote = ch
        elif ch == "\\" and i + 1 < len(word):
            i += 1
            out.append(word[i])
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def chomp(content: str) -> str:
    """<<- content: leading tabs of every line removed."""
    return "".join(line.lstrip("\t") for line in content.splitlines(keepends=True))
