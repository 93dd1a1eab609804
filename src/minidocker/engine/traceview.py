"""`trace show`: the steps of a trace file (minidocker.trace) as an indented list.

Each step is one row: its start (ms from the first event of the file), its duration, and
what it did with its values. Rows are in time order; a process's rows are indented one
level below the process that forked it, so the runtime, stage 1 and the container's
init read as a tree while their steps interleave as they happened.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

WRAP = 110  # a row longer than this puts each value on a line of its own


class Row:
    """One line of `trace show` (and its continuation lines)."""

    def __init__(self, at_ms: float, took_ms: float | None, depth: int, text: str,
                 values: list[str], pid: int, is_process: bool = False):
        self.at_ms = at_ms
        self.took_ms = took_ms
        self.depth = depth
        self.text = text
        self.values = values
        self.pid = pid
        self.is_process = is_process

    def lines(self) -> list[str]:
        took = "" if self.took_ms is None else f"{self.took_ms:.3f}"
        head = f"{self.at_ms:10.3f} {took:>9}  {'  ' * self.depth}{self.text}"
        inline = "  ".join(self.values)
        if not self.values:
            return [head]
        if len(head) + 2 + len(inline) <= WRAP:
            return [f"{head}  {inline}"]
        pad = " " * 22 + "  " * self.depth + "    "
        return [head] + [pad + v for v in self.values]


class Summary:
    def __init__(self, rows: list[Row], processes: dict[int, dict[str, Any]], steps: int,
                 span_ms: float):
        self.rows = rows
        self.processes = processes
        self.steps = steps
        self.span_ms = span_ms

    def header(self) -> list[str]:
        n = len(self.processes)
        return [f"{n} process{'es' * (n != 1)}, {self.steps} step{'s' * (self.steps != 1)}, "
                f"{self.span_ms:.3f} ms from the first event to the last",
                f"{'at (ms)':>10} {'took':>9}  step"]


def summarize(events: list[dict[str, Any]], code: bool = False) -> Summary:
    """The rows of `trace show` for the events of one trace file; with `code`, each step
    says where in the source it was recorded (its `at`)."""
    processes: dict[int, dict[str, Any]] = {}
    for ev in events:
        if ev.get("ph") == "M" and ev.get("name") == "process_name":
            processes[int(ev.get("pid", 0))] = dict(ev.get("args") or {})
    timed = [ev for ev in events if ev.get("ph") in ("X", "i", "I", "B", "E")
             and isinstance(ev.get("ts"), int | float)]
    if not timed:
        return Summary([], processes, 0, 0.0)
    origin = min(ev["ts"] for ev in timed)
    end = max(ev["ts"] + (ev.get("dur") or 0) for ev in timed)

    def depth(pid: int) -> int:
        seen = set()
        d = 0
        while pid in processes and pid not in seen:
            seen.add(pid)
            parent = int(processes[pid].get("ppid") or 0)
            if parent not in processes:
                break
            d += 1
            pid = parent
        return d

    spans: dict[int, dict[str, Any]] = {}  # pid -> its process span (the event that finish() wrote)
    for ev in timed:
        pid = int(ev.get("pid", 0))
        name = (processes.get(pid) or {}).get("name")
        if ev.get("ph") == "X" and ev.get("cat") == "process" and ev.get("name") == name:
            spans.setdefault(pid, ev)
    first: dict[int, float] = {}
    for ev in timed:
        pid = int(ev.get("pid", 0))
        first[pid] = min(first.get(pid, ev["ts"]), ev["ts"])

    rows: list[Row] = []
    steps = 0
    for pid, ts in first.items():  # a header for each process, at its start
        info = processes.get(pid) or {}
        span = spans.get(pid)
        start = span["ts"] if span is not None else ts
        took = span["dur"] / 1000 if span is not None else None
        label = f"{info.get('name') or 'process'} [pid {pid}"
        parent = info.get("ppid")
        label += f", forked by {parent}]" if parent in processes else "]"
        values = [f"{k}={_value(v)}" for k, v in info.items() if k not in ("name", "ppid")]
        if span is not None:
            values += [f"{k}={_value(v)}" for k, v in (span.get("args") or {}).items()
                       if k != "at"]
        rows.append(Row((start - origin) / 1000, took, depth(pid), label, values, pid, True))
    for ev in timed:
        pid = int(ev.get("pid", 0))
        if spans.get(pid) is ev:
            continue
        steps += 1
        took = ev["dur"] / 1000 if ev.get("ph") == "X" else None
        text = f"{ev.get('cat') or '-'}: {ev.get('name')}"
        values = [f"{k}={_value(v)}" for k, v in (ev.get("args") or {}).items()
                  if v not in ("", [], {}, None) and k != "at"]  # unset says nothing
        if code and (ev.get("args") or {}).get("at"):
            values.append(f"at {ev['args']['at']}")
        rows.append(Row((ev["ts"] - origin) / 1000, took, depth(pid) + 1, text, values, pid))
    # time order; at the same instant a process header before its steps
    rows.sort(key=lambda r: (r.at_ms, not r.is_process))
    return Summary(rows, processes, steps, (end - origin) / 1000)


def _value(v: Any) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_value(x)}" for k, x in v.items()) + "}"
    if v is None:
        return "-"
    text = str(v)
    if text == "" or any(c in text for c in " \t\n\"'"):
        from minidocker import jsonfast
        return jsonfast.dumps(text)
    return text


def read(path: str) -> list[dict[str, Any]]:
    """The events of the trace file at `path`; one-line errors for a missing or bad file."""
    from minidocker.errors import MinidockerError, NotFound
    from minidocker.trace import TraceFormatError, load
    try:
        return load(path)
    except FileNotFoundError:
        raise NotFound(f"trace file {path}: no such file")
    except OSError as e:
        raise MinidockerError(f"trace file {path}: {e.strerror}")
    except (TraceFormatError, UnicodeDecodeError) as e:
        raise MinidockerError(f"trace file {path}: {e}")
