"""Progress lines: redrawn in place on a terminal, one line per step otherwise."""

from __future__ import annotations

import io

from minidocker.cli.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_output_has_one_line_per_step() -> None:
    out = io.StringIO()
    p = Progress(out)
    p.item("abc", "Waiting", 100)
    p.update("abc", "Downloading")
    p.advance("abc", 50)
    p.update("abc", "Pull complete")
    p.update("def", "Pushed")  # a key never added (push) still shows
    assert out.getvalue() == "abc: Downloading\nabc: Pull complete\ndef: Pushed\n"


def test_terminal_output_redraws_with_a_bar() -> None:
    out = Terminal()
    p = Progress(out)
    p.item("abc", "Downloading", 2000)
    p.advance("abc", 1000)
    p.update("def", "Pushing")
    text = out.getvalue()
    assert "\x1b[1A" in text and "\x1b[2K" in text
    assert "abc: Downloading [" in text and "1kB/2kB" in text
    assert text.rstrip("\n").endswith("def: Pushing")


def test_quiet_prints_nothing() -> None:
    out = Terminal()
    p = Progress(out, quiet=True)
    p.item("abc", "Waiting", 1)
    p.status("Digest: x")
    assert out.getvalue() == ""


def test_warnings_go_to_stderr_even_when_quiet() -> None:
    out, err = Terminal(), io.StringIO()
    p = Progress(out, quiet=True, err=err)
    p.warning("published ports are discarded")
    assert out.getvalue() == ""
    assert err.getvalue() == "minidocker: warning: published ports are discarded\n"
