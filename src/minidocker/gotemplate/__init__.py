"""Go's text/template, as Docker users write it in `--format`: parse once, render many.

Data are Python values shaped like Docker's JSON (dict, list, str, int, float, bool, None)
or objects whose public attributes and methods play the part of Go struct fields and
methods. A template is compiled into closures, so rendering 1000 `ps` rows costs a few ms.
Neutral: nothing here knows Docker's tables (cli/formats.py) or any engine object.

lexer (text -> tokens) -> parser (tokens -> tree) -> execute (tree -> closures, run on
data), with funcs (the functions a template calls) and values (Go's view of values:
truth, %v, quoting, JSON, printf).
"""

from __future__ import annotations

from minidocker.gotemplate.execute import Template, parse, render
from minidocker.gotemplate.funcs import FUNCS
from minidocker.gotemplate.values import (
    MISSING,
    FreeMap,
    NilMap,
    NilSlice,
    TemplateError,
    go_json,
    go_quote,
    go_sprint,
    go_sprintf,
    go_type,
    truth,
)

__all__ = ["FUNCS", "MISSING", "FreeMap", "NilMap", "NilSlice", "Template", "TemplateError",
           "go_json", "go_quote", "go_sprint", "go_sprintf", "go_type", "parse", "render",
           "truth"]
