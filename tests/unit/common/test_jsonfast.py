"""jsonfast gives json's results and json's errors, without importing json up front."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from minidocker import jsonfast

DOCS = ['{"a": [1, 2.5, "x\\u00e9", null, true, false], "b": {"c": -1e5}}', "  [] ", '"s"',
        "0", '{"nested": {"deep": [[], {}]}}', '"\\ud83d\\ude00"', "-0.0", "1E400"]


@pytest.mark.parametrize("doc", DOCS)
def test_same_as_json(doc: str) -> None:
    value = json.loads(doc)
    assert jsonfast.loads(doc) == value or value != value
    assert jsonfast.loads(doc.encode()) == jsonfast.loads(doc)
    assert jsonfast.dumps(value) == json.dumps(value, separators=(",", ":"))
    assert jsonfast.dumps_indented(value) == json.dumps(value, indent=2)


def test_indented_as_json_for_the_runtime_documents() -> None:
    """`state`, `spec` and `features` print through dumps_indented: json.dumps(indent=2)."""
    from minidocker.runtime.features import features
    from minidocker.runtime.spec import default_spec
    for doc in (default_spec(), default_spec(rootless=True), features(),
                {"ociVersion": "1.2.0", "id": "c", "status": "running", "pid": 42,
                 "bundle": "/b", "annotations": {"k\u00e9y": "v\n", "e": ""}},
                {1: "int key", "t": (1, [2, {}])}, [[[]], {"a": {"b": [None]}}]):
        assert jsonfast.dumps_indented(doc) == json.dumps(doc, indent=2)
        assert jsonfast.dumps_indented(doc, 4) == json.dumps(doc, indent=4)


@pytest.mark.parametrize("bad", ["", "{", "[1,]", '{"a":1} x', "nan", "{not json", "'s'"])
def test_errors_are_json_errors(bad: str) -> None:
    with pytest.raises(json.JSONDecodeError) as err:
        jsonfast.loads(bad)
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(bad)
    assert str(err.value) == str(expected.value)


def test_unserializable() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        jsonfast.dumps({"a": object()})


def test_imports_neither_json_nor_re() -> None:
    code = ("import sys; from minidocker import jsonfast; jsonfast.loads('{\"a\": [1]}'); "
            "jsonfast.dumps({'a': 1}); print('json' in sys.modules, 're' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["False", "False"]


def test_dumps_works_again_after_a_value_it_cannot_encode() -> None:
    doc = {"args": {"x": object()}}
    with pytest.raises(TypeError):
        jsonfast.dumps(doc)
    doc["args"] = {"x": 1}  # the same containers, now serializable
    assert jsonfast.dumps(doc) == '{"args":{"x":1}}'
