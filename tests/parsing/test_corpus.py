"""The held-out corpus: raw outputs as real model families write them, each with its parse.

``tests/parsing/corpus/`` holds one JSON file per family (data, not code): the parser the
family needs, the tools offered to the model, and samples with the expected result. Each
sample's ``source`` says what it is modelled on (model cards, chat templates, LangChain's
prompts, the shapes of vLLM's tool-parser tests); the values are our own. Every parser must
read its own family, and no parser may raise on any sample of any family.

Run this module as a script for the pass rate per family::

    python tests/parsing/test_corpus.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hone.parsing import ParsedOutput, get_parser, parse_openai_tool_calls, parser_names
from hone.parsing._calls import INTERNAL_ERROR

CORPUS = Path(__file__).resolve().parent / "corpus"
FAMILIES = {
    "hermes_qwen25": "hermes",
    "qwen3_thinking": "hermes",
    "qwen3_coder": "qwen3_coder",
    "llama31_json": "llama3_json",
    "mistral": "mistral",
    "langchain_structured_chat": "structured_chat",
    "langchain_react": "react",
}
_OPTIONAL_FIELDS = ("content", "reasoning", "final_answer")


def load_families() -> dict[str, dict[str, Any]]:
    """Every corpus file, by file name (without ``.json``)."""
    return {path.stem: json.loads(path.read_text()) for path in sorted(CORPUS.glob("*.json"))}


def parse_sample(family: dict[str, Any], sample: dict[str, Any]) -> ParsedOutput:
    """The family's parser applied to one sample, with the family's tools."""
    parser = get_parser(family["parser"])
    return parser(
        sample["text"], tools=family["tools"], truncated=bool(sample.get("truncated", False))
    )


def mismatches(family: dict[str, Any], sample: dict[str, Any]) -> list[str]:
    """How the parse of ``sample`` differs from its expectation (empty: it passes)."""
    out = parse_sample(family, sample)
    expect = sample["expect"]
    problems: list[str] = []
    calls = [{"name": c.name, "arguments": c.arguments} for c in out.tool_calls]
    wanted = [{"name": c["name"], "arguments": c["arguments"]} for c in expect["tool_calls"]]
    if calls != wanted:
        problems.append(f"tool calls {calls} != expected {wanted}")
    for got, want in zip(out.tool_calls, expect["tool_calls"], strict=False):
        if "id" in want and got.id != want["id"]:
            problems.append(f"call id {got.id!r} != expected {want['id']!r}")
    if len(out.errors) != expect.get("errors", 0):
        problems.append(
            f"{len(out.errors)} errors != expected {expect.get('errors', 0)}: {out.errors}"
        )
    if out.truncated != bool(sample.get("truncated", False)):
        problems.append(f"truncated {out.truncated} != {sample.get('truncated', False)}")
    for field in _OPTIONAL_FIELDS:
        if field in expect and getattr(out, field) != expect[field]:
            problems.append(f"{field} {getattr(out, field)!r} != expected {expect[field]!r}")
    return problems


def _samples() -> list[Any]:
    return [
        pytest.param(family, sample, id=f"{name}/{sample['id']}")
        for name, family in load_families().items()
        for sample in family["samples"]
    ]


def _check_invariants(out: ParsedOutput) -> None:
    """What every parser output must satisfy, whatever the input (as in the fuzz suite)."""
    assert isinstance(out, ParsedOutput)
    assert INTERNAL_ERROR not in out.errors, "a parser bug was caught by the safety net"
    for call in out.tool_calls:
        assert call.name and call.name == call.name.strip()
        assert isinstance(call.arguments, dict)
        if call.error is not None:
            assert any(call.error in error for error in out.errors)
    assert all(isinstance(error, str) and error for error in out.errors)
    out.to_message()


def test_the_corpus_has_every_family_with_its_parser() -> None:
    families = load_families()
    assert {name: f["parser"] for name, f in families.items()} == FAMILIES
    for name, family in families.items():
        assert len(family["samples"]) >= 10, name
        assert any(s.get("truncated") for s in family["samples"]), f"{name} has no cut-off sample"
        assert all(s["source"] for s in family["samples"]), name


@pytest.mark.parametrize(("family", "sample"), _samples())
def test_each_family_parses_as_expected(family: dict[str, Any], sample: dict[str, Any]) -> None:
    assert mismatches(family, sample) == []


@pytest.mark.parametrize("name", parser_names())
def test_no_parser_raises_on_any_sample(name: Any) -> None:
    parser = get_parser(name)
    for family in load_families().values():
        for sample in family["samples"]:
            for truncated in (False, True):
                out = parser(sample["text"], tools=family["tools"], truncated=truncated)
                _check_invariants(out)
                assert out.truncated is truncated


def test_the_openai_parser_does_not_raise_on_any_sample_as_content() -> None:
    for family in load_families().values():
        for sample in family["samples"]:
            for truncated in (False, True):
                _check_invariants(
                    parse_openai_tool_calls(None, sample["text"], truncated=truncated)
                )


def main() -> None:
    """Print the pass rate per family (and the failing samples)."""
    total = passed = 0
    print(f"{'family':<28} {'parser':<16} {'passed':>9}")
    for name, family in load_families().items():
        results = [(s["id"], mismatches(family, s)) for s in family["samples"]]
        ok = sum(not problems for _, problems in results)
        total, passed = total + len(results), passed + ok
        print(
            f"{name:<28} {family['parser']:<16} {ok:>4}/{len(results):<4} ({ok / len(results):.0%})"
        )
        for sample_id, problems in results:
            for problem in problems:
                print(f"    {sample_id}: {problem}")
    print(f"{'all':<28} {'':<16} {passed:>4}/{total:<4} ({passed / total:.0%})")


if __name__ == "__main__":
    main()
