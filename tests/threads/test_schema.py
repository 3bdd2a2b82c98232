"""The protocol for a tool set: JSON schema, grammar and instructions agree on the layout."""

from __future__ import annotations

import json

import jsonschema
import pytest

from hone.errors import ConfigError
from hone.threads import LookupSuite, ThreadSchema, ThreadTool
from hone.threads._lookup import LookupTask


def _schema(depth: int = 3) -> ThreadSchema:
    return ThreadSchema.for_tools(LookupSuite(1, lookups=(2, 2)).tools(), max_depth=depth)


def test_for_tools_reads_the_tool_specs() -> None:
    schema = _schema()
    assert schema.tool_names == ("lookup", "add")
    lookup = schema.tools[0]
    assert lookup.parameters["required"] == ["key"] and "Look up" in lookup.description


def test_json_schema_accepts_the_teacher_tree_and_rejects_depth_and_unknown_tools() -> None:
    task = LookupTask(
        keys=("k1", "k2", "k3"), values=(1, 2, 3), group_size=2, records=("1", "2", "3")
    )
    thread = json.loads(task.thread().to_text())
    jsonschema.validate(thread, _schema().json_schema())
    with pytest.raises(jsonschema.ValidationError):  # three levels of tasks, limit two
        jsonschema.validate(thread, _schema(depth=2).json_schema())
    thread["reasoning"]["subtasks"][0]["subtasks"][0]["tooluse"]["tool_name"] = "fetch"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(thread, _schema().json_schema())


def test_grammar_takes_the_canonical_text_token_by_token(tiny: object) -> None:
    pytest.importorskip("llguidance")
    from hone.models._grammar import GrammarEngine

    tokenizer = tiny.tokenizer  # type: ignore[attr-defined]
    engine = GrammarEngine(
        tokenizer, vocab_size=len(tokenizer), end_of_turn=[tokenizer.eos_token_id]
    )
    task = LookupTask(
        keys=("k1", "k2", "k3"), values=(1, 2, 3), group_size=2, records=("1", "2", "3")
    )
    text = task.thread().to_text()

    def accepts(schema: ThreadSchema, text: str) -> bool:
        matcher = engine.matcher(schema.grammar())
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        return all(matcher.accept(i) for i in ids) and matcher.is_accepting

    assert accepts(_schema(), text)
    assert not accepts(_schema(depth=2), text)
    assert not accepts(_schema(), text.replace('"lookup"', '"fetch"', 1))
    assert not accepts(_schema(), text.replace('{"key": "k1"}', '{"key": 1}'))
    assert not accepts(_schema(), text.replace('"conclusion": "k1 = 1."', '"end": "k1 = 1."'))


def test_instructions_name_the_tools_and_the_depth() -> None:
    text = _schema(depth=2).instructions()
    assert "lookup" in text and "add" in text and "2 levels" in text
    assert "No tools" in ThreadSchema().instructions()


def test_bad_schemas_are_refused() -> None:
    with pytest.raises(ConfigError):
        ThreadSchema(max_depth=0)
    tool = ThreadTool("t", "", {"type": "object"})
    with pytest.raises(ConfigError):
        ThreadSchema(tools=(tool, tool))


def test_the_protocol_does_not_import_torch() -> None:
    import subprocess
    import sys

    code = (
        "import sys, hone.threads as t\n"
        "s = t.LookupSuite(1, lookups=(2, 2))\n"
        "assert t.parse_thread(s.tasks[0].thread().to_text(), t.ThreadSchema.for_tools(s.tools())).error is None\n"
        "assert 'torch' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
