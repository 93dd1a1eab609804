"""Human-facing output as the Docker CLI prints it: aligned tables, sizes, durations, ids.

The rules follow Docker's own helpers (go-units HumanSize/BytesSize/HumanDuration, the
formatter's Ellipsis, text/tabwriter as Docker configures it) so columns line up the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from minidocker.gotemplate.values import go_quote
from minidocker.units import (  # noqa: F401 - the CLI's helpers, in one place
    _epoch,
    ago,
    bytes_size,
    human_duration,
    human_size,
    status_text,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import datetime

    Timestamp = float | datetime  # seconds since the epoch, or an aware datetime

# Docker's tables: tabwriter.NewWriter(out, minwidth=10, tabwidth=1, padding=3, ' ', 0)
TABLE_MIN_WIDTH = 10
TABLE_PADDING = 3


def display_width(s: str) -> int:
    """Columns a string takes in a terminal: East Asian wide characters count 2,
    combining marks 0 (go-runewidth's rule, which Docker's tabwriter uses)."""
    if s.isascii():
        return len(s)
    import unicodedata

    width = 0
    for ch in s:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def tabwrite(text: str, *, minwidth: int = TABLE_MIN_WIDTH, padding: int = TABLE_PADDING) -> str:
    """Align tab-terminated cells into columns, as Go's text/tabwriter does (elastic
    tabstops: a column spans the consecutive lines that have a cell in it; the last cell
    of a line is not part of any column and is written unpadded)."""
    lines = [line.split("\t") for line in text.split("\n")]
    if lines[-1] == [""]:
        lines[-1] = []  # text ended with a newline: no trailing partial line
    if text.isascii() and len({len(cells) for cells in lines if cells}) == 1:
        table = tabwrite_rows([cells for cells in lines if cells], minwidth=minwidth,
                              padding=padding)
        return table if not lines[-1] else table[:-1]  # no newline after a partial line
    cell_widths = [[display_width(c) for c in cells] for cells in lines]
    out: list[str] = []
    last = len(lines) - 1

    def write_lines(start: int, stop: int, widths: list[int]) -> None:
        ncols = len(widths)
        for i in range(start, stop):
            cells = lines[i]
            cw = cell_widths[i]
            # pad the cells that belong to a column; the rest go out as they are
            padded = min(ncols, len(cells))
            out.extend([cells[j] + " " * (widths[j] - cw[j]) for j in range(padded)])
            out.extend(cells[ncols:])
            if i != last:
                out.append("\n")

    def format_block(start: int, stop: int, widths: list[int]) -> None:
        column = len(widths)
        this = start
        while this < stop:
            if column >= len(lines[this]) - 1:
                this += 1
                continue
            # lines [start, this) have no cell in this column: they are done
            write_lines(start, this, widths)
            start = this
            width = minwidth
            while this < stop and column < len(lines[this]) - 1:
                width = max(width, cell_widths[this][column] + padding)
                this += 1
            format_block(start, this, [*widths, width])
            start = this
        write_lines(start, stop, widths)

    format_block(0, len(lines), [])
    return "".join(out)


def tabwrite_rows(rows: list[list[str]], *, minwidth: int = TABLE_MIN_WIDTH,
                  padding: int = TABLE_PADDING) -> str:
    """tabwrite() of rows of ASCII cells, every row with as many (a table as ps prints,
    10,000 rows): one block, each column as wide as its widest cell; the lines end with
    a newline, the last too."""
    if not rows:
        return ""
    ncols = len(rows[0]) - 1  # the last cell of a line belongs to no column
    widths = [max(minwidth, max(len(cells[j]) for cells in rows) + padding)
              for j in range(ncols)]
    return "".join("".join([*(cells[j].ljust(widths[j]) for j in range(ncols)),
                            cells[ncols], "\n"]) for cells in rows)


def format_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A table as `docker ps` prints one: a header line, then one line per row, columns
    at least 10 wide and 3 spaces apart, the last column unpadded; ends with a newline."""
    text = "\t".join(headers) + "\n" + "".join("\t".join(row) + "\n" for row in rows)
    return tabwrite(text)


def go_time(t: Timestamp) -> str:
    """Go's time.Time.String() in local time, as `ps` CreatedAt shows it:
    "2024-01-02 15:04:05 +0100 CET"."""
    from datetime import datetime

    dt = datetime.fromtimestamp(_epoch(t)).astimezone()
    frac = f".{dt.microsecond:06d}".rstrip("0") if dt.microsecond else ""
    return dt.strftime("%Y-%m-%d %H:%M:%S") + frac + dt.strftime(" %z %Z")


# --------------------------------------------------------------------------- truncation


def truncate_id(ident: str) -> str:
    """stringid.TruncateID: drop an algorithm prefix ("sha256:"), keep 12 characters."""
    return ident.split(":", 1)[-1][:12]


def _char_width(ch: str) -> int:
    import unicodedata

    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def ellipsis(s: str, max_width: int) -> str:
    """Docker's formatter.Ellipsis: fit s in max_width columns, ending with "…" if cut."""
    if max_width <= 0:
        return ""
    if max_width == 1:
        return s[:1]
    if s.isascii():
        return s if len(s) <= max_width else s[:max_width - 1] + "…"
    widths = [_char_width(ch) for ch in s]
    if sum(widths) <= max_width:
        return s
    used = 0
    for i, w in enumerate(widths):
        if used + w > max_width - 1:
            # Docker's loop finds no cut when the first character is already too wide
            return s[:i] + "…" if i else s
        used += w
    return s


def quote_command(command: str, *, trunc: bool = True) -> str:
    """The COMMAND column of `docker ps`: cut to 20 columns, then Go-quoted."""
    if command.isascii() and command.isprintable() and '"' not in command and \
            "\\" not in command:  # what ellipsis and go_quote make of it (ps: 10,000 of them)
        return '"' + (command[:19] + "…" if trunc and len(command) > 20 else command) + '"'
    return go_quote(ellipsis(command, 20) if trunc else command)
