"""The detach keys of run -it, attach and start -ai: Docker's syntax, and its escape
proxy (keys held back while they match, passed on when the sequence breaks)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from minidocker.cli.attach import EscapeMatcher, detach_keys
from minidocker.errors import UsageError


def test_docker_key_syntax(tmp_path: Path) -> None:
    assert detach_keys("ctrl-p,ctrl-q") == b"\x10\x11"
    assert detach_keys("ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_") == bytes([0, 27, 28, 29,
                                                                               30, 31])
    assert detach_keys("a,CTRL-A,Z") == b"a\x01Z"
    for bad in ("", "ctrl-1", "ab", "ctrl-", "a,,b", "ctrl-pq"):
        with pytest.raises(UsageError, match="Invalid detach keys"):
            detach_keys(bad)
    assert detach_keys(None, str(tmp_path)) == b"\x10\x11"  # no config.json: Docker's
    (tmp_path / "config.json").write_text(json.dumps({"detachKeys": "ctrl-e,e"}))
    assert detach_keys(None, str(tmp_path)) == b"\x05e"
    assert detach_keys("x", str(tmp_path)) == b"x"  # the flag wins


def test_escape_proxy_holds_and_releases() -> None:
    m = EscapeMatcher(b"\x10\x11")
    assert m.feed(b"ab\x10") == (b"ab", False)  # held, across reads
    assert m.feed(b"c") == (b"\x10c", False)  # the sequence broke: passed on
    assert m.feed(b"\x10\x10") == (b"\x10", False)  # the second may start it again
    assert m.feed(b"\x11rest") == (b"", True)  # detached: nothing after it is sent
    assert EscapeMatcher(b"q").feed(b"abqc") == (b"ab", True)
