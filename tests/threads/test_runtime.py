"""The single-request runtime: tools inside decoding, pruning in the cache, problems shown to
the model, clean ends; nothing raises out of the loop."""

from __future__ import annotations

import pytest

from hone.models import SamplingOptions, TransformersModel
from hone.threads import (
    LookupSuite,
    PruneRule,
    ThreadOptions,
    ThreadParser,
    ThreadResult,
    ThreadSchema,
    arun_threads,
    run_threads,
    score_traces,
)
from hone.tools import ExecutionOptions, tool


@tool
def lookup(key: str) -> int:
    """Look up a key.

    Args:
        key: The key.
    """
    return {"a": 1, "b": 2}[key]


@tool
async def slow(seconds: float) -> str:
    """Sleep.

    Args:
        seconds: How long.
    """
    import asyncio

    await asyncio.sleep(seconds)
    return "woke up"


CALL_A = '{"reasoning": {"thought": "Look up a.", "tooluse": {"tool_name": "lookup", "parameters": {"key": "a"}'
END_A = ', "conclusion": "a is 1."}, "answer": "1"}'


class Script:
    """A teacher that plays pieces in order and remembers the text it was shown."""

    def __init__(self, *pieces: str) -> None:
        self.pieces, self.seen = list(pieces), list[str]()

    def continuation(self, index: int, text: str) -> str:
        self.seen.append(text)
        return self.pieces.pop(0) if self.pieces else ""


def _run(model: TransformersModel, teacher: Script, **options: object) -> ThreadResult:
    opts = ThreadOptions(max_depth=2, **options)  # type: ignore[arg-type]
    return run_threads(model, ["Find a."], [lookup, slow], options=opts, teacher=teacher)[0]


def _decoded(model: TransformersModel, result: ThreadResult, kind: str) -> str:
    assert result.trace is not None
    ids = [t for t, k in zip(result.trace.token_ids, result.trace.kinds, strict=True) if k == kind]
    return str(model.tokenizer.decode(ids))


def test_tool_results_are_written_into_the_request(tiny: TransformersModel) -> None:
    teacher = Script(CALL_A, END_A)
    result = _run(tiny, teacher)
    assert result.stop == "answer" and result.answer == "1" and result.errors == ()
    assert teacher.seen[1].endswith('"parameters": {"key": "a"}, "tool_result": "1"}')
    assert _decoded(tiny, result, "forced") == ', "tool_result": "1"}'
    trace = result.trace
    assert trace is not None and trace.positions == tuple(range(len(trace)))
    # Every token but the closing brace was encoded exactly once: nothing was re-encoded.
    assert result.stats.processed_tokens == len(trace) - 1
    assert result.stats.calls == 1 and result.tool_calls == 1


def test_tokens_processed_grow_linearly_and_pruning_shrinks_the_cache(
    tiny: TransformersModel,
) -> None:
    suite = LookupSuite(2, lookups=(6, 6), group_size=2, seed=3)
    runs = {}
    for name, rule in (("pruned", PruneRule(1)), ("whole", None)):
        runs[name] = run_threads(
            tiny,
            suite.questions,
            suite.tools(),
            options=ThreadOptions(prune=rule),
            teacher=suite.tree_teacher(),
        )
    for pruned, whole in zip(runs["pruned"], runs["whole"], strict=True):
        assert pruned.text == whole.text and pruned.stop == whole.stop == "answer"
        assert pruned.stats.processed_tokens == whole.stats.processed_tokens
        assert pruned.trace is not None
        assert pruned.stats.processed_tokens == len(pruned.trace) - 1
        assert pruned.stats.kv_entries < 0.8 * whole.stats.kv_entries
        assert pruned.stats.peak_kv_entries < whole.stats.peak_kv_entries
        # What was pruned is exactly the internals of finished subtasks: thought and tool text.
        hidden = [
            t
            for t, k, h in zip(
                pruned.trace.token_ids, pruned.trace.kinds, pruned.trace.hidden_from, strict=True
            )
            if h is not None and k != "prompt"
        ]
        text = str(tiny.tokenizer.decode(hidden))
        assert "tool_result" in text and "Look up" in text


@pytest.mark.parametrize(
    ("pieces", "fragment", "seen"),
    [
        (
            (CALL_A.replace('"lookup"', '"lokup"'), '"lookup", "parameters": {"key": "a"}', END_A),
            "unknown tool 'lokup'",
            '"tool_name": ',
        ),
        (
            (
                '{"reasoning": {"thought": "x", "subtasks": [{"thought": "y", "subtasks": [',
                '"conclusion": "v"}], "conclusion": "u"}, "answer": "1"}',
            ),
            "cannot have subtasks",
            '{"thought": "y", ',
        ),
        (
            (CALL_A, ', "conclusion": "a is 1."}<|im_end|>', ', "answer": "1"}'),
            "not finished",
            'a is 1."}',
        ),
        (
            (CALL_A + "}", END_A),  # one token, '"}}', closes the parameters and goes on
            "the tool result is written for you",
            '{"key": "a"}, "tool_result": "1"}',
        ),
    ],
    ids=["unknown-tool", "too-deep", "unclosed", "writes-the-result"],
)
def test_a_malformed_tree_is_cut_back_shown_and_corrected(
    tiny: TransformersModel, pieces: tuple[str, ...], fragment: str, seen: str
) -> None:
    teacher = Script(*pieces)
    result = _run(tiny, teacher)
    assert result.stop == "answer" and result.answer == "1"
    assert len(result.errors) == 1 and fragment in result.errors[0].message
    assert any(s.endswith(seen) for s in teacher.seen[1:])  # cut back to the problem
    notice = _decoded(tiny, result, "forced")
    assert fragment in notice and "<|im_start|>user" in notice  # shown as a user turn
    assert result.trace is not None
    # The retracted tokens are hidden from everything after the cut.
    retracted = [i for i, h in enumerate(result.trace.hidden_from) if h is not None]
    assert retracted and all(result.trace.kinds[i] == "model" for i in retracted)
    # ... and the one-pass oracle still reproduces what decoding computed.
    recorded = [
        v for v, k in zip(result.trace.logprobs, result.trace.kinds, strict=True) if k == "model"
    ]
    scored = score_traces(tiny.model, [result.trace], pad_id=tiny.special_ids.pad)[0]
    assert max(abs(a - b) for a, b in zip(recorded, scored, strict=True)) < 1e-4


def test_tool_failures_come_back_as_the_result(tiny: TransformersModel) -> None:
    teacher = Script(
        '{"reasoning": {"thought": "t", "tooluse": {"tool_name": "lookup", "parameters": {"kee": "a"}',
        ', "subtasks": [{"thought": "u", "tooluse": {"tool_name": "lookup", "parameters": {"key": "zz"}',
        ', "conclusion": "none"}], "conclusion": "c"}, "answer": "?"}',
    )
    result = _run(tiny, teacher)
    assert result.stop == "answer" and result.errors == ()
    assert result.thread is not None
    first = result.thread.reasoning.tooluse
    assert first is not None and first.tool_result is not None
    assert first.tool_result.startswith("Error: invalid arguments for 'lookup'")
    inner = result.thread.reasoning.subtasks[0].tooluse
    assert inner is not None and "KeyError" in (inner.tool_result or "")


def test_a_timeout_is_a_result_too(tiny: TransformersModel) -> None:
    teacher = Script(
        '{"reasoning": {"thought": "t", "tooluse": {"tool_name": "slow", "parameters": {"seconds": 5}',
        ', "conclusion": "c"}, "answer": "a"}',
    )
    result = _run(tiny, teacher, execution=ExecutionOptions(timeout=0.05))
    assert result.stop == "answer" and "timed out" in result.text


def test_too_many_problems_end_the_episode(tiny: TransformersModel) -> None:
    bad = CALL_A.replace('"lookup"', '"lokup"')
    teacher = Script(bad, '"nope", "parameters": {}', '"nada", "parameters": {}')
    result = _run(tiny, teacher, max_corrections=2)
    assert result.stop == "malformed" and len(result.errors) == 3 and result.thread is None


def test_context_and_budget_limits_end_cleanly(tiny: TransformersModel) -> None:
    suite = LookupSuite(1, lookups=(8, 8), group_size=2, seed=5)
    questions, tools = suite.questions, suite.tools()
    prompt = len(tiny.encode_prompt(_request(questions[0], tools)))
    overflow = run_threads(
        tiny,
        questions,
        tools,
        options=ThreadOptions(prune=PruneRule(0), max_context=prompt + 150),
        teacher=suite.tree_teacher(),
    )[0]
    assert overflow.stop == "context_overflow" and "even after pruning" in overflow.detail
    assert overflow.stats.peak_kv_entries <= prompt + 150
    short = run_threads(
        tiny,
        questions,
        tools,
        options=ThreadOptions(sampling=SamplingOptions(max_tokens=40)),
        teacher=suite.tree_teacher(),
    )[0]
    assert short.stop == "length" and short.stats.model_tokens + short.stats.forced_tokens <= 40
    tiny_window = run_threads(tiny, questions, tools, options=ThreadOptions(max_context=10))[0]
    assert tiny_window.stop == "context_overflow" and "prompt alone" in tiny_window.detail


def _request(question: str, tools: object) -> object:
    from hone.models import ChatRequest
    from hone.threads import thread_messages

    schema = ThreadSchema.for_tools(tools)  # type: ignore[arg-type]
    return ChatRequest(messages=tuple(thread_messages(question, schema)))


async def test_constrained_sampling_keeps_the_tree_valid(tiny: TransformersModel) -> None:
    pytest.importorskip("llguidance")
    suite = LookupSuite(2, lookups=(2, 3), seed=1)
    options = ThreadOptions(sampling=SamplingOptions(max_tokens=60, temperature=1.0, seed=11))
    first = await arun_threads(tiny, suite.questions, suite.tools(), options=options)
    again = await arun_threads(tiny, suite.questions, suite.tools(), options=options)
    assert [r.text for r in first] == [r.text for r in again]  # seeded
    schema = ThreadSchema.for_tools(suite.tools())
    for result in first:
        assert result.stop in ("length", "answer") and result.errors == ()
        parser = ThreadParser(schema)
        text = result.text
        while text:
            before = parser.offset
            parser.feed(text)
            text = text[parser.offset - before :]
            parser.resume()
        assert parser.error is None  # every sampled token kept the thread valid
