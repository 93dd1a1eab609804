""".dockerignore: reading the file and matching paths exactly as Docker does (moby's
ignorefile and patternmatcher): Go filepath.Match syntax per path element, `**` for any
number of elements, `!` exceptions where the last matching pattern wins, and a path
excluded when it or any of its parent directories matches."""

from __future__ import annotations

import posixpath
import re

from minidocker.errors import MinidockerError

_REGEX_SPECIAL = set(".+()|{}$^")


def read(text: str) -> list[str]:
    """The patterns of a .dockerignore file (comments, blanks dropped; cleaned)."""
    out = []
    for number, line in enumerate(text.split("\n")):
        if number == 0:
            line = line.removeprefix("\ufeff")
        if line.startswith("#"):
            continue
        pattern = line.strip()
        if not pattern:
            continue
        invert = pattern.startswith("!")
        if invert:
            pattern = pattern[1:].strip()
        if pattern:
            pattern = posixpath.normpath(pattern)
            if len(pattern) > 1 and pattern.startswith("/"):
                pattern = pattern[1:]
        out.append("!" + pattern if invert else pattern)
    return out


class Pattern:
    def __init__(self, text: str):
        self.exclusion = text.startswith("!")
        body = text[1:] if self.exclusion else text
        if not body:
            raise MinidockerError(f'.dockerignore: illegal exclusion pattern: "{text}"')
        self.text = posixpath.normpath(body)
        self.regex = re.compile(_compile(self.text), re.S)

    def match(self, path: str) -> bool:
        return self.regex.match(path) is not None


def _compile(pattern: str) -> str:
    out = ["^"]
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        i += 1
        if ch == "*":
            if i < n and pattern[i] == "*":
                i += 1
                if i < n and pattern[i] == "/":
                    i += 1
                out.append(".*" if i >= n else "(.*/)?")
            else:
                out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch in _REGEX_SPECIAL:
            out.append("\\" + ch)
        elif ch == "\\":
            if i < n:
                out.append("\\" + pattern[i])
                i += 1
            else:
                out.append("\\\\")
        elif ch == "[":
            end = _class_end(pattern, i)
            if end < 0:
                raise MinidockerError(f".dockerignore: syntax error in pattern {pattern!r}")
            body = pattern[i:end]
            if body.startswith("^") or body.startswith("!"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end + 1
        else:
            out.append(re.escape(ch) if not ch.isalnum() and ch not in "/-_" else ch)
    out.append("\\Z")
    return "".join(out)


def _class_end(pattern: str, start: int) -> int:
    i = start
    if i < len(pattern) and pattern[i] in "^!":
        i += 1
    if i < len(pattern) and pattern[i] == "]":
        i += 1
    while i < len(pattern):
        if pattern[i] == "\\":
            i += 2
            continue
        if pattern[i] == "]":
            return i
        i += 1
    return -1


class Matcher:
    """Decides, for a context-relative path, whether .dockerignore excludes it."""

    def __init__(self, patterns: list[str]):
        self.patterns = [Pattern(p) for p in patterns if p.strip()]
        self.has_exclusions = any(p.exclusion for p in self.patterns)

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def excluded(self, path: str) -> bool:
        """moby's MatchesOrParentMatches: the path itself, or one of its parents."""
        path = posixpath.normpath(path)
        parent = posixpath.dirname(path) or "."
        parents = parent.split("/") if parent != "." else []
        matched = False
        for pattern in self.patterns:
            if pattern.exclusion != matched:
                continue
            hit = pattern.match(path)
            if not hit:
                for i in range(len(parents)):
                    if pattern.match("/".join(parents[:i + 1])):
                        hit = True
                        break
            if hit:
                matched = not pattern.exclusion
        return matched

    def may_descend(self, directory: str) -> bool:
        """Whether an excluded directory must still be walked: only when an exception
        pattern names a path under it literally (Docker's walk skips it otherwise)."""
        if not self.has_exclusions:
            return False
        prefix = posixpath.normpath(directory) + "/"
        return any(p.exclusion and (p.text + "/").startswith(prefix) for p in self.patterns)
