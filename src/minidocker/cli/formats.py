"""Docker's --format values: `table ...` (a header from the same template, columns
aligned as the Docker CLI aligns them), `json`, or a template."""

from __future__ import annotations

import types
from collections.abc import Iterable, Mapping

from minidocker.gotemplate import FUNCS, Template, parse

TYPE_CHECKING = False  # `typing` (and the `re` it imports) stays out of the ps path
if TYPE_CHECKING:
    from typing import Any

    from minidocker.gotemplate.funcs import FuncSpec


def _first(v: Any, *_: Any) -> Any:
    return v


# Docker renders a table header with the same template, these functions swapped in, and a
# map of column names as data, so `{{json .Names}}` still heads its column with NAMES.
HEADER_FUNCS: dict[str, FuncSpec] = {
    **FUNCS,
    "json": (_first, 1, 1),
    "split": (_first, 2, 2),
    "join": (_first, 2, 2),
    "title": (_first, 1, 1),
    "lower": (_first, 1, 1),
    "upper": (_first, 1, 1),
    "truncate": (_first, 2, 2),
}


# --------------------------------------------------------------------------- --format


def default_header(field: str) -> str:
    """A column title from a field name, as Docker spells them: CreatedAt -> CREATED AT."""
    words: list[str] = []
    cur = ""
    for i, ch in enumerate(field):
        boundary = ch.isupper() and cur and (not cur[-1].isupper() or (
            i + 1 < len(field) and field[i + 1].islower()))
        if boundary or ch in "_-":
            words.append(cur)
            cur = "" if ch in "_-" else ch
        else:
            cur += ch
    words.append(cur)
    return " ".join(w.upper() for w in words if w)


class _Headers:
    """The data a table header is rendered from: every field is its column title."""

    def __init__(self, titles: Mapping[str, str]):
        self._titles = titles

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        title = self._titles.get(name) or default_header(name)
        return types.MethodType(lambda self, *args: title, self)


class Format:
    """A --format value as Docker's CLI reads it: `table ...`, `json`, or a template."""

    def __init__(self, spec: str, *, default_table: str = "", strict_fields: bool = False):
        if spec == "table" and default_table:
            spec = default_table
        self.spec = spec
        self.is_table = spec.startswith("table")
        text = spec[5:] if self.is_table else ("{{json .}}" if spec == "json" else spec)
        text = text.strip(" ").replace("\\t", "\t").replace("\\n", "\n")
        self.text = text
        self.template = parse(text, strict_fields=strict_fields)
        self._header: Template | None = None

    def header(self, titles: Mapping[str, str] | None = None) -> str:
        """The header line of a table, or "" for other formats."""
        if not self.is_table:
            return ""
        if self._header is None:
            self._header = Template(self.text, funcs=HEADER_FUNCS)
        return self._header.execute_partial(_Headers(titles or {}))

    def render(self, rows: Iterable[Any], titles: Mapping[str, str] | None = None) -> str:
        """All rows, one per line; tables get a header and aligned columns."""
        rows = list(rows)
        table = self._plain_table(rows)
        if table is not None:
            from minidocker.cli.output import tabwrite_rows
            return tabwrite_rows([self.header(titles).split("\t"), *table])
        execute = self.template.execute
        lines = [execute(row) + "\n" for row in rows]
        if not self.is_table:
            return "".join(lines)
        from minidocker.cli.output import tabwrite

        return tabwrite(self.header(titles) + "\n" + "".join(lines))

    def fields(self) -> list[str] | None:
        """The field names of a template that is text and `{{.Field}}`s alone (ps's
        table; `{{.Names}}`), in order; None for any other (and for json)."""
        plain = self.template.plain
        return None if plain is None else [name for _, name in plain[:-1]]

    def render_columns(self, columns: list[list[str]],
                       titles: Mapping[str, str] | None = None) -> str | None:
        """render() of rows given as their fields' texts, a list per field (in fields()
        order): what the template would make of them, in a few passes over each column
        (ps -a of 10,000 records). None when it cannot say so cheaply (a table whose
        fields are not between tabs, a cell with a tab, a newline, or wide characters):
        the caller renders the rows."""
        plain = self.template.plain
        if plain is None or len(columns) != len(plain) - 1:
            return None
        texts = [text for text, _ in plain]
        if not self.is_table:
            line = "%s".join(text.replace("%", "%%") for text in texts) + "\n"
            return "".join(map(line.__mod__, zip(*columns, strict=True)))
        if not columns or texts[0] or texts[-1] or \
                any(text != "\t" for text in texts[1:-1]):
            return None
        header = self.header(titles).split("\t")
        if len(header) != len(columns):
            return None
        if not columns[0]:
            from minidocker.cli.output import tabwrite_rows
            return tabwrite_rows([header])
        widths = []
        for title, column in zip(header, columns, strict=True):
            text = "".join(column)
            if "\t" in text or "\n" in text or \
                    not (text.isascii() or text.replace("\u2026", "").isascii()):
                return None  # ("…", the ellipsis of a cut command, is one column wide)
            widths.append(max(len(title), max(map(len, column))))
        from minidocker.cli.output import TABLE_MIN_WIDTH, TABLE_PADDING
        line = "".join(f"%-{max(TABLE_MIN_WIDTH, w + TABLE_PADDING)}s" for w in widths[:-1])
        line += "%s\n"
        return line % tuple(header) + "".join(map(line.__mod__, zip(*columns, strict=True)))

    def _plain_table(self, rows: list[Any]) -> list[list[str]] | None:
        """The cells of a table whose template is `{{.Field}}`s between tabs (ps's, with
        10,000 rows), read directly off rows whose fields are properties giving plain
        ASCII strings (ContainerRow, ...): what the template and tabwrite would make of
        them, at a fraction of the cost. None for anything else."""
        plain = self.template.plain
        if not self.is_table or plain is None or not rows:
            return None
        texts = [text for text, _ in plain]
        if texts[0] or texts[-1] or any(text != "\t" for text in texts[1:-1]):
            return None
        props = [getattr(kind, name, None) for kind in {type(row) for row in rows}
                 for _, name in plain[:-1]]
        if not all(isinstance(p, property) for p in props):
            return None
        getters = [getattr(type(rows[0]), name).fget for _, name in plain[:-1]]
        cells = [[get(row) for get in getters] for row in rows]
        if not all(type(value) is str for row in cells for value in row):
            return None
        text = "".join("".join(row) for row in cells)
        if not text.isascii() or "\t" in text or "\n" in text:
            return None
        return cells
