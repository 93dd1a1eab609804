"""The Trace Event Format (Chrome's trace-event JSON, which Perfetto and chrome://tracing
load) as a JSON Schema, written from the format's description of each event phase, and a
reader of a trace file as the format defines it: an array of events whose closing
bracket is optional, or an object with a `traceEvents` array."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

PHASES = ["B", "E", "X", "i", "I", "C", "b", "n", "e", "s", "t", "f", "P", "N", "O", "D",
          "M", "V", "v", "R", "c", "(", ")"]
METADATA_NAMES = ["process_name", "process_labels", "process_sort_index", "thread_name",
                  "thread_sort_index"]

EVENT: dict[str, Any] = {
    "type": "object",
    "required": ["name", "ph", "pid", "tid"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "cat": {"type": "string"},
        "ph": {"enum": PHASES},
        "ts": {"type": "number", "minimum": 0},
        "dur": {"type": "number", "minimum": 0},
        "pid": {"type": "integer"},
        "tid": {"type": "integer"},
        "s": {"enum": ["g", "p", "t"]},
        "args": {"type": "object"},
    },
    "allOf": [
        {"if": {"properties": {"ph": {"not": {"const": "M"}}}},
         "then": {"required": ["ts"]}},
        {"if": {"properties": {"ph": {"const": "X"}}},
         "then": {"required": ["dur"]}},
        {"if": {"properties": {"ph": {"const": "M"}}},
         "then": {"required": ["args"],
                  "properties": {"name": {"enum": METADATA_NAMES}}}},
        {"if": {"properties": {"ph": {"const": "M"},
                               "name": {"enum": ["process_name", "thread_name"]}}},
         "then": {"properties": {"args": {"required": ["name"],
                                          "properties": {"name": {"type": "string"}}}}}},
    ],
}

TRACE: dict[str, Any] = {
    "oneOf": [
        {"type": "array", "items": EVENT},
        {"type": "object", "required": ["traceEvents"],
         "properties": {"traceEvents": {"type": "array", "items": EVENT},
                        "displayTimeUnit": {"enum": ["ms", "ns"]}}},
    ],
}


def read_trace(path: Path | str) -> Any:
    """The JSON document of a trace file; an array may lack its closing bracket (and end
    with a comma), which the format allows."""
    text = Path(path).read_text().strip()
    if text.startswith("[") and not text.endswith("]"):
        text = text.rstrip(",") + "]"
    return json.loads(text)


def check_trace(path: Path | str) -> list[dict[str, Any]]:
    """Validate a trace file against the schema; its events."""
    doc = read_trace(path)
    jsonschema.validate(doc, TRACE)
    return doc if isinstance(doc, list) else doc["traceEvents"]
