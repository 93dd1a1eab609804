"""Variable substitution (the Dockerfile reference's rules) and .dockerignore matching
(moby's patternmatcher)."""

from __future__ import annotations

import pytest

from minidocker.build import ignore, shell

ENV = {"A": "a", "EMPTY": "", "SP": "x y", "PATHV": "/usr/local/bin/tool.tar.gz"}


@pytest.mark.parametrize("word,expected", [
    ("$A", "a"), ("${A}", "a"), ("pre${A}post", "preapost"), ("$UNSET", ""),
    ("${UNSET:-def}", "def"), ("${EMPTY:-def}", "def"), ("${EMPTY-def}", ""),
    ("${A:-def}", "a"), ("${A:+alt}", "alt"), ("${EMPTY:+alt}", ""), ("${EMPTY+alt}", "alt"),
    ("${UNSET+alt}", ""), ("${UNSET:-$A$A}", "aa"), ("${UNSET:-'q w'}", "q w"),
    ("'$A'", "$A"), ('"$A"', "a"), ('"${SP}"', "x y"), ("\\$A", "$A"), ('"\\$A"', "$A"),
    ('"a\\b"', "a\\b"), ("a\\ b", "a b"), ("$", "$"), ("a$", "a$"),
    ("${PATHV##*/}", "tool.tar.gz"), ("${PATHV#*/}", "usr/local/bin/tool.tar.gz"),
    ("${PATHV%.*}", "/usr/local/bin/tool.tar"), ("${PATHV%%.*}", "/usr/local/bin/tool"),
    ("${A/a/b}", "b"), ("${SP// /_}", "x_y"), ("$1", ""),
])
def test_expand(word: str, expected: str) -> None:
    assert shell.expand(word, ENV) == expected


def test_expand_with_backtick_escape() -> None:
    assert shell.expand("c:\\dir `$A", ENV, escape="`") == "c:\\dir $A"


@pytest.mark.parametrize("word,message", [
    ("${}", "bad substitution"), ("${A", "missing"), ("${UNSET:?must be set}", "must be set"),
    ("${EMPTY:?}", "not allowed to be empty"), ("${UNSET?}", "not allowed to be unset"),
    ("'open", "single-quote"), ('"open', "double-quote"),
])
def test_expand_errors(word: str, message: str) -> None:
    with pytest.raises(shell.ExpandError, match=message):
        shell.expand(word, ENV)


def test_expand_words_splits_unquoted_values() -> None:
    assert shell.expand_words("80 $SP '$SP' \"$SP\"", ENV) == ["80", "x", "y", "$SP", "x y"]


def test_heredoc_content_expands_variables_but_keeps_quotes() -> None:
    assert shell.expand_heredoc("echo '$A' \"${A}\" \\$A\n", ENV) == "echo 'a' \"a\" $A\n"


def test_read_dockerignore() -> None:
    text = "\ufeff# comment\n  \n/abs/path\n ! keep \nfoo/\n./bar/../baz\n  # not a comment\n"
    assert ignore.read(text) == ["abs/path", "!keep", "foo", "baz", "# not a comment"]


@pytest.mark.parametrize("patterns,path,excluded", [
    (["*.md"], "README.md", True),
    (["*.md"], "docs/README.md", False),          # * does not cross /
    (["**/*.md"], "docs/deep/README.md", True),
    (["**/*.md"], "README.md", True),             # ** matches zero elements
    (["docs"], "docs/a/b.txt", True),             # a parent matches
    (["docs/**"], "docs/a", True),
    (["a?c"], "abc", True), (["a?c"], "a/c", False),
    (["[a-c]x"], "bx", True), (["[^a-c]x"], "bx", False), (["[^a-c]x"], "dx", True),
    (["*", "!keep"], "keep", False),
    (["*", "!keep", "keep"], "keep", True),       # the last matching pattern wins
    (["dir", "!dir/keep.txt"], "dir/keep.txt", False),
    (["dir", "!dir/keep.txt"], "dir/other.txt", True),
    (["**", "!src/**/*.py"], "src/pkg/mod.py", False),
    (["**", "!src/**/*.py"], "src/pkg/mod.txt", True),
    (["a.b"], "aXb", False),                      # regex characters are literal
    (["\\*x"], "*x", True), (["\\*x"], "ax", False),
    (["node_modules"], "node_modules", True),
])
def test_matcher(patterns: list[str], path: str, excluded: bool) -> None:
    assert ignore.Matcher(patterns).excluded(path) is excluded


def test_descending_into_excluded_directories() -> None:
    matcher = ignore.Matcher(["dir", "!dir/keep.txt", "other"])
    assert matcher.may_descend("dir")
    assert not matcher.may_descend("other")
    assert not ignore.Matcher(["dir", "!**/keep.txt"]).may_descend("dir")


def test_bad_patterns() -> None:
    with pytest.raises(Exception, match="illegal exclusion"):
        ignore.Matcher(["!"])
    with pytest.raises(Exception, match="syntax error"):
        ignore.Matcher(["[abc"])
