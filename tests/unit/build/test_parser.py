"""The Dockerfile parser: directives, comments, continuations, JSON form, flags, heredocs."""

from __future__ import annotations

import pytest

from minidocker.build import instructions as ins
from minidocker.build.parser import ParseError, parse, split_flags


def nodes(text: str) -> list[tuple[str, list[str], bool]]:
    return [(n.keyword, n.value, n.json) for n in parse(text).nodes]


def test_instructions_are_case_insensitive_and_comments_skipped() -> None:
    df = parse("# a comment\nfrom busybox\n  # indented comment\nrun echo hi\n")
    assert [(n.keyword, n.line) for n in df.nodes] == [("FROM", 2), ("RUN", 4)]


def test_line_continuation_joins_and_keeps_inner_spacing() -> None:
    df = parse("FROM x\nRUN echo a \\\n    b \\\n# comment inside\n\n  c\n")
    run = df.nodes[1]
    assert run.value == ["echo a     b   c"]
    assert (run.line, run.end_line) == (2, 6)
    assert df.warnings and "empty continuation" in df.warnings[0]


def test_escape_directive_changes_the_continuation_character() -> None:
    df = parse("# escape=`\nFROM x\nRUN dir c:\\ `\n  && echo\n")
    assert df.escape == "`"
    assert df.nodes[1].value == ["dir c:\\   && echo"]


def test_directives_only_at_the_top() -> None:
    df = parse("# comment\n# escape=`\nFROM x\nRUN a \\\n b\n")
    assert df.escape == "\\"
    assert df.nodes[1].value == ["a  b"]
    df = parse("# unknown=1\n# escape=`\nFROM x\n")
    assert df.escape == "\\"
    df = parse("#syntax = docker/dockerfile:1\n#  ESCAPE = `\nFROM x\n")
    assert (df.syntax, df.escape) == ("docker/dockerfile:1", "`")


def test_bad_directives() -> None:
    with pytest.raises(ParseError, match="only one escape"):
        parse("# escape=`\n# escape=\\\nFROM x\n")
    with pytest.raises(ParseError, match="invalid escape token"):
        parse("# escape=x\nFROM x\n")


def test_json_and_shell_forms() -> None:
    got = nodes('FROM x\nCMD ["sh", "-c", "echo"]\nCMD echo [\nENTRYPOINT [ "a" ,"b" ]\n'
                'RUN [bad json\n')
    assert got[1] == ("CMD", ["sh", "-c", "echo"], True)
    assert got[2] == ("CMD", ["echo ["], False)
    assert got[3] == ("ENTRYPOINT", ["a", "b"], True)
    assert got[4] == ("RUN", ["[bad json"], False)
    with pytest.raises(ParseError, match="strings only"):
        parse('FROM x\nRUN ["echo", 1]\n')


def test_env_and_label_forms() -> None:
    got = nodes('FROM x\nENV A=1 B="two words" C=three\\ four\nENV OLD value with  spaces\n'
                'LABEL "com.x"="y" z=w\n')
    assert got[1][1] == ["A", "1", "=", "B", '"two words"', "=", "C", "three\\ four", "="]
    assert got[2][1] == ["OLD", "value with  spaces", ""]
    assert got[3][1] == ['"com.x"', '"y"', "=", "z", "w", "="]
    with pytest.raises(ParseError, match="can't find ="):
        parse("FROM x\nENV A=1 B\n")
    with pytest.raises(ParseError, match="two arguments"):
        parse("FROM x\nENV A\n")


def test_flags_are_split_before_the_arguments() -> None:
    assert split_flags("--from=base --chmod=755 a b") == ("a b", ["--from=base", "--chmod=755"])
    assert split_flags('--chown="1 2" x') == ("x", ["--chown=1 2"])
    assert split_flags("-- --notaflag x") == (" --notaflag x", [])
    node = parse("FROM x\nRUN --mount=type=cache,target=/c --network=none echo x\n").nodes[1]
    assert node.flags == ["--mount=type=cache,target=/c", "--network=none"]
    assert node.value == ["echo x"]


def test_heredocs() -> None:
    df = parse("FROM x\nRUN <<EOF\necho one\necho two\nEOF\nRUN <<-\"EOT\" cat\n\tt $x\n\tEOT\n"
               "COPY <<a <<'b' /dest/\none\na\ntwo\nb\nRUN echo after\n")
    run, chomped, copy, after = df.nodes[1:]
    assert run.heredocs[0].name == "EOF" and run.heredocs[0].content == "echo one\necho two\n"
    assert run.heredocs[0].expand and (run.line, run.end_line) == (2, 5)
    assert chomped.heredocs[0].chomp and not chomped.heredocs[0].expand
    assert [h.name for h in copy.heredocs] == ["a", "b"]
    assert [h.content for h in copy.heredocs] == ["one\n", "two\n"]
    assert after.value == ["echo after"] and after.line == 14
    with pytest.raises(ParseError, match="unterminated heredoc"):
        parse("FROM x\nRUN <<EOF\necho\n")


def test_onbuild_holds_its_trigger() -> None:
    node = parse("FROM x\nONBUILD COPY --chown=1:1 a b\n").nodes[1]
    assert node.sub is not None and node.sub.keyword == "COPY"
    assert node.sub.flags == ["--chown=1:1"] and node.sub.value == ["a", "b"]


def test_program_stages_and_meta_args() -> None:
    program = ins.program(parse("ARG V=1\nFROM busybox:$V AS Base\nRUN true\n"
                                "FROM base\nCOPY --from=base /a /b\n"))
    assert [a.pairs for a in program.meta_args] == [[("V", "1")]]
    assert [s.name for s in program.stages] == ["base", ""]
    copy = program.stages[1].steps[0]
    assert isinstance(copy, ins.Copy) and copy.source_stage == "base"
    assert (copy.sources, copy.dest) == (["/a"], "/b")


@pytest.mark.parametrize("text,message", [
    ("RUN x\n", "before the first FROM"),
    ("ARG A\n", "no FROM"),
    ("FROM x\nFROB y\n", "unknown instruction: FROB"),
    ("FROM x\nCOPY --frm=a b c\n", "unknown flag: --frm"),
    ("FROM x\nCOPY --from a b\n", "missing a value"),
    ("FROM x\nCOPY a\n", "at least two arguments"),
    ("FROM x AS 1a\n", "invalid name for build stage"),
    ("FROM x AS a\nFROM y AS A\n", "duplicate stage name"),
    ("FROM x\nRUN --mount=type=secret,target=/s true\n", "not supported"),
    ("FROM x\nSHELL sh -c\n", "JSON form"),
    ("FROM x\nHEALTHCHECK CMD\n", "missing command"),
    ("FROM x\nONBUILD FROM y\n", "isn't allowed"),
    ("FROM x y\n", "one or three arguments"),
])
def test_instruction_errors_name_the_line(text: str, message: str) -> None:
    with pytest.raises(ParseError, match=message) as info:
        ins.program(parse(text))
    if "FROM" in text.split("\n")[0] and text.count("\n") > 1:
        assert info.value.line >= 1


def test_run_mounts_and_healthcheck() -> None:
    program = ins.program(parse(
        "FROM x\nRUN --mount=type=cache,id=pip,target=/root/.cache,sharing=locked "
        "--mount=target=/src,ro pip\n"
        "HEALTHCHECK --interval=5s --retries=3 CMD curl -f localhost\n"
        "HEALTHCHECK CMD [\"true\"]\nHEALTHCHECK NONE\n"))
    run, shell_check, exec_check, none = program.stages[0].steps
    assert isinstance(run, ins.Command)
    assert run.mounts == [{"type": "cache", "id": "pip", "target": "/root/.cache",
                           "sharing": "locked"},
                          {"type": "bind", "target": "/src", "ro": "true"}]
    assert isinstance(shell_check, ins.Healthcheck)
    assert shell_check.test == ["CMD-SHELL", "curl -f localhost"]
    assert shell_check.options == {"interval": "5s", "retries": "3"}
    assert isinstance(exec_check, ins.Healthcheck) and exec_check.test == ["CMD", "true"]
    assert isinstance(none, ins.Healthcheck) and none.test == ["NONE"]
