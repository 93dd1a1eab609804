"""Tables, sizes, durations and truncation look exactly as the Docker CLI prints them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from minidocker.cli.output import (
    ago,
    bytes_size,
    display_width,
    ellipsis,
    format_table,
    go_time,
    human_duration,
    human_size,
    quote_command,
    status_text,
    tabwrite,
    truncate_id,
)

# --------------------------------------------------------------------------- tables


def test_table_like_docker_ps() -> None:
    out = format_table(
        ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"],
        [["4f1c2d3e5a6b", "busybox", '"sleep 1000"', "2 minutes ago", "Up 2 minutes", "",
          "web"],
         ["9a8b7c6d5e4f", "alpine:3.19", '"/bin/sh -c \'while t…"', "3 hours ago",
          "Exited (0) 3 hours ago", "", "db"]])
    assert out == (
        "CONTAINER ID   IMAGE         COMMAND                  CREATED         "
        "STATUS                   PORTS     NAMES\n"
        "4f1c2d3e5a6b   busybox       \"sleep 1000\"             2 minutes ago   "
        "Up 2 minutes                       web\n"
        "9a8b7c6d5e4f   alpine:3.19   \"/bin/sh -c 'while t…\"   3 hours ago     "
        "Exited (0) 3 hours ago             db\n"
    )


def test_short_columns_are_ten_wide_and_last_column_unpadded() -> None:
    assert format_table(["NAME", "DRIVER", "SCOPE"], [["host", "host", "local"]]) == (
        "NAME      DRIVER    SCOPE\n"
        "host      host      local\n"
    )


def test_header_only() -> None:
    assert format_table(["VOLUME NAME"], []) == "VOLUME NAME\n"


def test_tabwriter_columns_are_blocks_of_consecutive_lines() -> None:
    # Go's documented example: b and c are in distinct columns (the b column is not
    # contiguous all the way); d and e are in no column at all
    text = "aaaa\tbbb\td\naa\tb\tdd\na\t\naa\tcccc\teee\n"
    assert tabwrite(text, minwidth=0, padding=1) == (
        "aaaa bbb d\n"
        "aa   b   dd\n"
        "a    \n"
        "aa   cccc eee\n"
    )


def test_a_line_without_tabs_breaks_the_columns() -> None:
    assert tabwrite("a\tb\nheading\nlonger\tc\n") == "a         b\nheading\nlonger    c\n"


def test_text_after_the_last_newline_is_kept() -> None:
    assert tabwrite("a\tb\nc\td") == "a         b\nc         d"


def test_wide_characters_count_two_columns() -> None:
    assert display_width("abc") == 3
    assert display_width("名前") == 4
    assert display_width("e\u0301") == 1  # e + combining acute
    assert format_table(["名前", "X"], [["ab", "y"]]) == "名前      X\nab        y\n"


# --------------------------------------------------------------------------- sizes


@pytest.mark.parametrize("size, precision, expected", [
    (0, 4, "0B"),
    (999, 4, "999B"),
    (1000, 4, "1kB"),
    (1024, 4, "1.024kB"),
    (1234567, 4, "1.235MB"),
    (1234567, 3, "1.23MB"),
    (7_800_000, 3, "7.8MB"),
    (4_400_000_000, 3, "4.4GB"),
    (5.5e15, 4, "5.5PB"),
    (10**27, 4, "1000YB"),
])
def test_human_size(size: float, precision: int, expected: str) -> None:
    assert human_size(size, precision) == expected


@pytest.mark.parametrize("size, expected", [
    (0, "0B"),
    (1023, "1023B"),
    (1024, "1KiB"),
    (1536, "1.5KiB"),
    (2_048_000, "1.953MiB"),
    (8 * 1024**3, "8GiB"),
])
def test_bytes_size(size: float, expected: str) -> None:
    assert bytes_size(size) == expected


# --------------------------------------------------------------------------- durations

MINUTE, HOUR, DAY = 60, 3600, 86400


@pytest.mark.parametrize("seconds, expected", [
    (0.45, "Less than a second"),
    (-3, "Less than a second"),
    (1, "1 second"),
    (47, "47 seconds"),
    (59.9, "59 seconds"),
    (60, "About a minute"),
    (119, "About a minute"),
    (3 * MINUTE, "3 minutes"),
    (59 * MINUTE + 59, "59 minutes"),
    (HOUR, "About an hour"),
    (HOUR + 29 * MINUTE, "About an hour"),
    (HOUR + 31 * MINUTE, "2 hours"),
    (36 * HOUR, "36 hours"),
    (47 * HOUR + 20 * MINUTE, "47 hours"),
    (2 * DAY, "2 days"),
    (13 * DAY + 5 * HOUR, "13 days"),
    (14 * DAY, "2 weeks"),
    (30 * DAY, "4 weeks"),
    (45 * DAY, "6 weeks"),
    (60 * DAY, "2 months"),
    (13 * 30 * DAY, "13 months"),
    (24 * 30 * DAY, "24 months"),
    (2 * 365 * DAY, "2 years"),
    (3 * 365 * DAY + 60 * DAY, "3 years"),
])
def test_human_duration(seconds: float, expected: str) -> None:
    assert human_duration(seconds) == expected


NOW = 1_700_000_000.0


def test_ago() -> None:
    assert ago(NOW - 5 * MINUTE, now=NOW) == "5 minutes ago"
    assert ago(datetime.fromtimestamp(NOW - 2 * HOUR, UTC), now=NOW) == "2 hours ago"


@pytest.mark.parametrize("state, kwargs, expected", [
    ("running", {"started_at": NOW - 5 * MINUTE}, "Up 5 minutes"),
    ("running", {"started_at": NOW}, "Up Less than a second"),
    ("running", {"started_at": NOW - 60, "health": "healthy"}, "Up About a minute (healthy)"),
    ("running", {"started_at": NOW - 3, "health": "starting"}, "Up 3 seconds (health: starting)"),
    ("paused", {"started_at": NOW - 2 * HOUR}, "Up 2 hours (Paused)"),
    ("restarting", {"exit_code": 1, "finished_at": NOW - 10}, "Restarting (1) 10 seconds ago"),
    ("exited", {"exit_code": 137, "started_at": NOW - 3 * HOUR, "finished_at": NOW - 2 * HOUR},
     "Exited (137) 2 hours ago"),
    ("exited", {}, "Created"),
    ("created", {}, "Created"),
    ("dead", {}, "Dead"),
    ("removing", {}, "Removal In Progress"),
])
def test_status_text(state: str, kwargs: dict[str, float], expected: str) -> None:
    assert status_text(state, now=NOW, **kwargs) == expected  # type: ignore[arg-type]


def test_go_time_looks_like_go_time_string() -> None:
    text = go_time(NOW)
    date, clock, offset, *_zone = text.split(" ")
    assert len(date) == 10 and len(clock) == 8 and offset[0] in "+-" and len(offset) == 5


# --------------------------------------------------------------------------- truncation


def test_truncate_id() -> None:
    full = "4f1c2d3e5a6b7c8d9e0f11223344556677889900aabbccddeeff001122334455"
    assert truncate_id(full) == "4f1c2d3e5a6b"
    assert truncate_id("sha256:" + full) == "4f1c2d3e5a6b"
    assert truncate_id("abc") == "abc"


@pytest.mark.parametrize("text, width, expected", [
    ("short", 20, "short"),
    ("exactly twenty chars", 20, "exactly twenty chars"),
    ("twenty one characters", 20, "twenty one characte…"),
    ("abc", 1, "a"),
    ("abc", 0, ""),
    ("名前名前名前", 5, "名前…"),
    ("名前", 4, "名前"),
])
def test_ellipsis(text: str, width: int, expected: str) -> None:
    assert ellipsis(text, width) == expected


def test_quote_command_as_ps_shows_it() -> None:
    assert quote_command("sleep 1000") == '"sleep 1000"'
    assert quote_command("/bin/sh -c 'while true; do sleep 1; done'") == \
        '"/bin/sh -c \'while t…"'
    assert quote_command('echo "hi"\n', trunc=False) == '"echo \\"hi\\"\\n"'


def test_null_slices_and_maps_print_as_dockers_typed_structs() -> None:
    """Docker runs inspect's --format on its typed structs: a null slice (ExecIDs with no
    exec running, CapAdd ...) prints [] and a null map map[], while `json` keeps null."""
    from minidocker.cli.views import go_maps
    from minidocker.gotemplate import parse
    doc = go_maps({"ExecIDs": None, "HostConfig": {"CapAdd": None, "PidsLimit": None},
                   "Config": {"Volumes": None, "Labels": {"a": "b"}}})
    text = "{{.ExecIDs}} {{json .ExecIDs}} {{len .ExecIDs}} {{.HostConfig.CapAdd}} " \
           "{{.Config.Volumes}} {{json .Config.Volumes}} {{if .ExecIDs}}y{{else}}n{{end}} " \
           "{{range .ExecIDs}}x{{end}}{{.Config.Labels.a}} {{json .HostConfig.PidsLimit}}"
    assert parse(text).execute(doc) == "[] null 0 [] map[] null n b null"
