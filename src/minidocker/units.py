"""Units as Docker prints them (go-units: HumanSize, BytesSize, HumanDuration), the
status line of a container ("Up 5 minutes") and RFC 3339 timestamps read back: shared
by the engine, whose API answers carry them, the image store and the CLI's tables. A
leaf: imports only time (datetime when given one)."""

from __future__ import annotations

import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    Timestamp = float | datetime  # seconds since the epoch, or an aware datetime


_DECIMAL_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")
_BINARY_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")


def _scale(size: float, base: float, units: Sequence[str]) -> tuple[float, str]:
    i = 0
    while size >= base and i < len(units) - 1:
        size /= base
        i += 1
    return size, units[i]


def human_size(size: float, precision: int = 4) -> str:
    """go-units HumanSizeWithPrecision: decimal units, `precision` significant digits.
    `docker images` and `ps -s` use precision 3 ("7.8MB"), `system df` 4 ("1.235GB")."""
    value, unit = _scale(float(size), 1000.0, _DECIMAL_UNITS)
    return f"{value:.{precision}g}{unit}"


def bytes_size(size: float) -> str:
    """go-units BytesSize: binary units, 4 significant digits ("1.953MiB"), as `stats`."""
    value, unit = _scale(float(size), 1024.0, _BINARY_UNITS)
    return f"{value:.4g}{unit}"


# --------------------------------------------------------------------------- time


def human_duration(seconds: float) -> str:
    """go-units HumanDuration: "Less than a second", "About a minute", "3 hours", ...
    (remembered by whole second: ps words the times of thousands of containers)"""
    secs = int(seconds)
    text = _durations.get(secs)
    if text is None:
        if len(_durations) > 4096:
            _durations.clear()
        text = _durations[secs] = _human_duration(seconds)
    return text


_durations: dict[int, str] = {}


def _human_duration(seconds: float) -> str:
    secs = int(seconds)
    if secs < 1:
        return "Less than a second"
    if secs == 1:
        return "1 second"
    if secs < 60:
        return f"{secs} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600) // 24 // 365} years"


def _epoch(t: Timestamp) -> float:
    if type(t) is float or type(t) is int:  # not isinstance: ps calls it 20,000 times
        return t
    return t.timestamp()  # type: ignore[union-attr]


def ago(t: Timestamp, now: float | None = None) -> str:
    """ "5 minutes ago": `docker ps` CREATED column (RunningFor)."""
    now = time.time() if now is None else now
    return human_duration(now - _epoch(t)) + " ago"


def status_text(state: str, *, exit_code: int = 0, started_at: Timestamp | None = None,
                finished_at: Timestamp | None = None, health: str | None = None,
                now: float | None = None) -> str:
    """The STATUS column of `docker ps` for a State.Status value: "Up 5 minutes",
    "Up 2 hours (Paused)", "Exited (0) 3 seconds ago", "Created", ..."""
    now = time.time() if now is None else now

    def since(t: Timestamp | None) -> str:
        return human_duration(now - (t if type(t) is float else _epoch(t))) \
            if t is not None else human_duration(0)

    if state in ("running", "paused"):
        text = f"Up {since(started_at)}"
        if state == "paused":
            return text + " (Paused)"
        if health:
            return text + (" (health: starting)" if health == "starting" else f" ({health})")
        return text
    if state == "restarting":
        return f"Restarting ({exit_code}) {since(finished_at)} ago"
    if state == "removing":
        return "Removal In Progress"
    if state == "dead":
        return "Dead"
    if state == "created" or started_at is None:
        return "Created"
    if finished_at is None:
        return ""
    return f"Exited ({exit_code}) {since(finished_at)} ago"


def parse_time(text: str) -> float:
    """Seconds since the epoch of an RFC 3339 timestamp (fraction up to nanoseconds; Z,
    an offset, or none for UTC), 0.0 for an empty one or Go's zero time. By hand, not
    strptime or datetime: `ps` parses two per container. ValueError if malformed."""
    if not text or text.startswith("0001-"):
        return 0.0
    try:
        y, mo, d = int(text[0:4]), int(text[5:7]), int(text[8:10])
        h, mi, sec = int(text[11:13]), int(text[14:16]), int(text[17:19])
    except ValueError:
        raise ValueError(f"invalid timestamp {text!r}") from None
    if text[4] != "-" or text[7] != "-" or text[10] not in "Tt " or text[13] != ":":
        raise ValueError(f"invalid timestamp {text!r}")
    rest = text[19:]
    offset = 0
    if rest.endswith(("Z", "z")):
        rest = rest[:-1]
    elif len(rest) >= 6 and rest[-6] in "+-" and rest[-3] == ":":
        try:
            offset = (int(rest[-5:-3]) * 3600 + int(rest[-2:]) * 60) * (
                1 if rest[-6] == "+" else -1)
        except ValueError:
            raise ValueError(f"invalid timestamp {text!r}") from None
        rest = rest[:-6]
    if rest and (rest[0] != "." or not rest[1:].isdigit()):
        raise ValueError(f"invalid timestamp {text!r}")
    # days from the civil date (Howard Hinnant's algorithm)
    y -= mo <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (mo + (-3 if mo > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468
    return days * 86400 + h * 3600 + mi * 60 + sec - offset + (float("0" + rest) if rest
                                                                else 0.0)


def epoch(text: str) -> float | None:
    """parse_time for a timestamp that may be absent or odd (an image's `created`):
    None instead of 0 or an error."""
    try:
        return parse_time(text) or None
    except ValueError:
        return None


# --------------------------------------------------------------------------- values read
# The value types of Docker's flags (go-units, opts, Go's time and strconv), with their
# errors' words: the CLI converts flags with them, the service layer checks API values.

_RAM_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def ram_in_bytes(text: str) -> int:
    """go-units RAMInBytes: "512", "64m", "1.5g", "10 MiB" (binary multiples, suffixes
    k m g t p with an optional i and b). ValueError "invalid size: '100x'"."""
    body = text.lower()
    if body.endswith("b"):
        body = body[:-1]
    if body.endswith("i"):
        body = body[:-1]
    unit = body[-1:] if body[-1:] in "kmgtp" else ""
    number = body[:len(body) - len(unit)].rstrip(" ") if unit else body
    if unit and not body[:-1].rstrip(" "):
        number = ""
    parts = number.split(".")
    if not number or not all(p.isdigit() and p.isascii() for p in parts) or (
            unit == "" and body != number):
        raise ValueError(f"invalid size: '{text}'")
    if len(parts) > 2:  # go-units takes "1.2.3" as 1.2
        number = ".".join(parts[:2])
    value = float(number) if "." in number else int(number)
    return int(value * _RAM_UNITS[unit])


def nano_cpus(text: str) -> int:
    """Docker's NanoCPUs flag: a rational number of CPUs ("1.5", "3/2", "1e-2") times
    10^9, exactly. ValueError as Docker's ("failed to parse abc as a rational number",
    "value is too precise")."""
    bad = ValueError(f"failed to parse {text} as a rational number")
    num, slash, den = text.partition("/")
    if slash:  # "3/2", as big.Rat reads it
        if not (num.lstrip("+-").isdigit() and den.isdigit() and num.isascii()
                and den.isascii()) or int(den) == 0:
            raise bad
        numerator, denominator = int(num), int(den)
    else:
        mantissa, has_exp, exponent = text.lower().partition("e")
        sign = -1 if mantissa.startswith("-") else 1
        mantissa = mantissa.lstrip("+-") if mantissa[:1] in "+-" else mantissa
        whole, _, frac = mantissa.partition(".")
        if not (whole or frac) or not (whole + frac).isdigit() or not mantissa.isascii() \
                or "." in frac:
            raise bad
        try:
            exp = int(exponent) if has_exp else 0
        except ValueError:
            raise bad from None
        if abs(exp) > 400:  # 1e100000 would be an integer of 100,000 digits
            raise bad
        numerator = sign * int(whole + frac or "0")
        exp -= len(frac)
        numerator, denominator = (numerator * 10 ** exp, 1) if exp >= 0 else \
            (numerator, 10 ** -exp)
    nano, rest = divmod(numerator * 1_000_000_000, denominator)
    if rest:
        raise ValueError("value is too precise")
    return nano


_DURATION_UNITS = {"ns": 1, "us": 1_000, "\u00b5s": 1_000, "\u03bcs": 1_000,
                   "ms": 1_000_000, "s": 1_000_000_000, "m": 60_000_000_000,
                   "h": 3_600_000_000_000}


def parse_duration(text: str) -> int:
    """Go's time.ParseDuration, in nanoseconds: "1h30m", "1.5s", "300ms", "0".
    ValueError with Go's words ('time: missing unit in duration "5"')."""
    quoted = f'"{text}"'
    s = text
    sign = -1 if s.startswith("-") else 1
    if s[:1] in "+-":
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        raise ValueError(f"time: invalid duration {quoted}")
    total = 0
    while s:
        i = 0
        while i < len(s) and (s[i].isdigit() or s[i] == "."):
            i += 1
        number, s = s[:i], s[i:]
        if not number or number == "." or number.count(".") > 1 or not (
                number.replace(".", "").isascii()):
            raise ValueError(f"time: invalid duration {quoted}")
        j = 0
        while j < len(s) and not (s[j].isdigit() or s[j] == "."):
            j += 1
        unit, s = s[:j], s[j:]
        if not unit:
            raise ValueError(f"time: missing unit in duration {quoted}")
        if unit not in _DURATION_UNITS:
            raise ValueError(f'time: unknown unit "{unit}" in duration {quoted}')
        whole, _, frac = number.partition(".")
        scale = _DURATION_UNITS[unit]
        total += int(whole or 0) * scale + (int(frac) * scale // 10 ** len(frac) if frac
                                            else 0)
    if total >= 1 << 63:
        raise ValueError(f"time: invalid duration {quoted}")
    return sign * total


# go-units' ulimit names (ulimit.go)
ULIMIT_NAMES = ("core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice",
                "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack")


def parse_ulimit(text: str) -> dict[str, object]:
    """go-units ParseUlimit: "nofile=1024[:2048]" -> {"Name", "Soft", "Hard"} (Docker's
    HostConfig.Ulimits item); ValueError with its words."""
    name, eq, values = text.partition("=")
    if not eq:
        raise ValueError(f"invalid ulimit argument: {text}")
    if name not in ULIMIT_NAMES:
        raise ValueError(f"invalid ulimit type: {name}")
    soft_text, colon, hard_text = values.partition(":")

    def number(part: str) -> int:
        try:
            return int(part, 10)
        except ValueError:
            raise ValueError(f'strconv.ParseInt: parsing "{part}": invalid syntax') from None

    if colon and ":" in hard_text:
        raise ValueError(f"too many limit value arguments - {values}, can only have up "
                         "to two, `soft[:hard]`")
    soft = number(soft_text)
    hard = number(hard_text) if colon else soft
    if soft > hard:
        raise ValueError(f"ulimit soft limit must be less than or equal to hard limit: "
                         f"{soft} > {hard}")
    return {"Name": name, "Soft": soft, "Hard": hard}
