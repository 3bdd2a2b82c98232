"""The RLM loop: code blocks and the stop sequence, what the model sees, answer readiness,
errors in code, sub-calls (single, batched under the cap, recursive to the depth limit)."""

from __future__ import annotations

import pytest

from hone.errors import ConfigError
from hone.messages import AssistantMessage, UserMessage
from hone.models import ScriptedModel
from hone.rlm import CODE_STOP, RLMBudget, RLMConfig, arun_rlm, run_rlm
from hone.sandbox import Limits

from ._helpers import CutOff, Gauge, HonoursStop, KeepingSandbox, Overflowing, code, finish


async def test_blocks_run_in_one_session_and_the_answer_is_a_variable() -> None:
    sandbox = KeepingSandbox()
    coder = ScriptedModel(
        [
            code("words = context.split()\nprint(len(words))"),
            "The answer is 3, I think.",  # text is not an answer: only the variable is
            code("answer['content'] = {'count': len(words)}\nanswer['ready'] = True"),
        ]
    )
    result = await arun_rlm(coder, "a b c", "How many words?", sandbox=sandbox)
    assert result.ready and result.answer == {"count": 3}
    assert result.stop_reason == "answered"
    assert [s.status for s in result.steps] == ["ok", "no_code", "ok"]
    assert result.steps[0].observation == "3"
    assert "no code block found" in result.steps[1].observation
    assert result.usage.iterations == 3
    assert [s.alive for s in sandbox.sessions] == [False]  # closed when the run ended


async def test_every_root_request_stops_at_the_closing_fence() -> None:
    coder = ScriptedModel([finish(1)])
    config = RLMConfig(options=RLMConfig().options.with_(stop=("STOP",), max_tokens=77))
    await arun_rlm(coder, "text", "q?", config=config)
    (request,) = coder.requests
    assert request.options.stop == ("STOP", CODE_STOP)
    assert request.options.max_tokens == 77


async def test_a_reply_ended_by_the_stop_sequence_runs_and_reads_back_closed() -> None:
    coder = HonoursStop(
        [
            "Let me count.\n```python\nn = len(context)\nprint(n)\n```\nOutput: 999 (a guess)",
            finish("ok"),
        ]
    )
    result = await arun_rlm(coder, "x" * 12, "How long?")
    assert result.steps[0].observation == "12"
    first = result.messages[2]
    assert isinstance(first, AssistantMessage)
    assert first.text == "Let me count.\n```python\nn = len(context)\nprint(n)\n```"
    # the second request shows the model its own reply closed, then what the block printed
    second = coder.requests[1].messages
    assert second[2].text == first.text and second[3].text == "12"


async def test_only_the_first_block_of_a_reply_runs() -> None:
    coder = ScriptedModel([code("print('one')") + "\n" + code("print('two')"), finish()])
    result = await arun_rlm(coder, "", "q?")
    assert result.steps[0].observation == "one"
    assert "two" not in result.messages[2].text


async def test_a_reply_cut_off_at_the_token_limit_does_not_run() -> None:
    coder = CutOff(["```python\nanswer['ready'] = True\nprint('half", finish()])
    config = RLMConfig(budget=RLMBudget(max_iterations=2))
    result = await arun_rlm(coder, "", "q?", config=config)
    assert result.steps[0].status == "cut_off"
    assert "cut off at the token limit" in result.steps[0].observation
    # a block that closed before the limit is whole: it runs
    assert result.steps[1].status == "ok" and result.ready


async def test_printed_output_is_cut_with_a_note() -> None:
    coder = ScriptedModel([code("print('x' * 10_000)"), finish()])
    result = await arun_rlm(coder, "", "q?", config=RLMConfig(output_chars=200))
    observation = result.steps[0].observation
    assert len(observation) < 400
    assert "[output truncated: 10,001 characters printed, about 200 shown" in observation
    assert result.steps[0].output_chars == 10_001


async def test_errors_in_code_are_shown_and_the_run_goes_on() -> None:
    coder = ScriptedModel([code("x = 1\n1 / 0"), code("print(x)"), finish(2)])
    result = await arun_rlm(coder, "", "q?")
    assert result.steps[0].status == "error"
    assert "ZeroDivisionError" in result.steps[0].observation
    assert result.steps[1].observation == "1"  # the session kept x
    assert result.answer == 2


async def test_a_crashed_worker_is_restarted_with_the_context_set_again() -> None:
    coder = ScriptedModel([code("import os\nos._exit(3)"), code("print(len(context))"), finish()])
    result = await arun_rlm(coder, "abcd", "q?")
    assert result.steps[0].status == "crashed"
    assert "set again in the fresh session" in result.steps[0].observation
    assert result.steps[1].observation == "4"


async def test_a_block_past_its_time_limit_is_interrupted() -> None:
    coder = ScriptedModel([code("while True:\n    pass"), finish()])
    result = await arun_rlm(coder, "", "q?", config=RLMConfig(block_timeout=0.5))
    assert result.steps[0].status == "timeout"
    assert result.ready


async def test_answer_must_stay_a_dict_of_json() -> None:
    coder = ScriptedModel(
        [
            code("answer = 42"),
            code("answer = {'content': {1, 2}, 'ready': True}"),
            code("answer = {'content': [1, 2], 'ready': 'yes'}"),
            finish([1, 2]),
        ]
    )
    result = await arun_rlm(coder, "", "q?")
    assert "`answer` must be a dict" in result.steps[0].observation
    assert "`answer` must be a dict of JSON values" in result.steps[1].observation
    assert result.steps[2].status == "ok" and result.usage.iterations == 4  # 'yes' is not True
    assert result.answer == [1, 2] and result.ready


async def test_the_context_never_reaches_the_root_model() -> None:
    marker = "ZEBRA-7734"
    context = ("filler line\n" * 50_000) + marker + "\n" + ("more filler\n" * 50_000)
    coder = ScriptedModel(
        [
            code("print(len(context), context[:20])"),
            code("hits = [i for i, line in enumerate(context.splitlines()) if 'ZEBRA' in line]"),
            code("answer['content'] = context.splitlines()[hits[0]]\nanswer['ready'] = True"),
        ]
    )
    result = await arun_rlm(coder, context, "Which line has a zebra?")
    assert result.answer == marker
    texts = [m.text for request in coder.requests for m in request.messages]
    assert not any(marker in text for text in texts)
    assert max(len(text) for text in texts) < 5_000  # the system prompt is the longest


async def test_llm_query_and_its_role() -> None:
    reader = ScriptedModel(["FIRST", "SECOND"])
    coder = ScriptedModel(
        [
            code(
                "a = llm_query('Summarise: ' + context[:10])\nb = llm_query('again')\nprint(a, b)"
            ),
            finish(),
        ]
    )
    result = await arun_rlm(coder, "0123456789abcdef", "q?", sub_model=reader)
    assert result.steps[0].observation == "FIRST SECOND"
    assert [r.messages[-1].text for r in reader.requests] == ["Summarise: 0123456789", "again"]
    assert result.usage.sub_calls == 2 and result.steps[0].sub_calls == 2
    assert result.usage.roles["llm_query"].calls == 2
    assert result.usage.roles["rlm"].calls == 2


async def test_llm_query_batched_keeps_order_and_the_cap() -> None:
    gauge = Gauge(wait=0.05)
    coder = ScriptedModel(
        [
            code("replies = llm_query_batched(['x' * n for n in range(1, 11)])\nprint(replies)"),
            finish(),
        ]
    )
    config = RLMConfig(concurrency=3)
    result = await arun_rlm(coder, "", "q?", sub_model=gauge, config=config)
    assert result.steps[0].observation == str([str(n) for n in range(1, 11)])
    assert gauge.most == 3
    assert result.usage.sub_calls == 10


async def test_sub_call_errors_reach_the_code() -> None:
    coder = ScriptedModel(
        [
            code(
                "try:\n    llm_query_batched(['a', 'b'])\nexcept Exception as exc:\n"
                "    print(type(exc).__name__, exc)"
            ),
            code("llm_query(42)"),
            finish(),
        ]
    )
    result = await arun_rlm(coder, "", "q?", sub_model=Overflowing())
    assert "ContextOverflowError: the prompt is 9999 tokens" in result.steps[0].observation
    assert "prompt must be a str, got int" in result.steps[1].observation


async def test_rlm_query_runs_a_sub_rlm_on_its_own_context() -> None:
    sandbox = KeepingSandbox()
    coder = ScriptedModel(
        [
            code("part = rlm_query('How many b?', context[5:])\nprint('sub said', part)"),
            # the sub-RLM's turns (depth 1) come from the same model here
            code("print(repr(context))"),
            finish("found 2"),
            finish("parent done"),
        ]
    )
    result = await arun_rlm(coder, "aaaaabbcc", "q?", sandbox=sandbox)
    assert result.steps[0].observation.startswith("sub said found 2")
    assert coder.requests[2].messages[-1].text == "'bbcc'"  # the child saw its own context
    assert "Question: How many b?" in coder.requests[1].messages[1].text
    assert result.usage.sub_rlms == 1 and result.usage.max_depth_reached == 1
    assert result.usage.roles["rlm@1"].calls == 2
    assert len(sandbox.sessions) == 2 and not any(s.alive for s in sandbox.sessions)


async def test_rlm_query_stops_at_the_depth_limit() -> None:
    coder = ScriptedModel(
        [
            code("print(rlm_query('inner', 'ctx'))"),
            code("print(rlm_query('deeper', 'ctx'))"),  # depth 1 == max_depth: refused
            finish("inner answer"),
            finish("outer"),
        ]
    )
    result = await arun_rlm(coder, "ctx", "q?", config=RLMConfig(max_depth=1))
    (refusal,) = result.usage.refusals
    assert refusal.reason == "depth" and refusal.depth == 1
    assert "rlm_query refused: the recursion depth limit (1)" in refusal.message
    child_prompt = coder.requests[1].messages[0].text
    assert "def rlm_query" not in child_prompt  # not offered where it would be refused
    assert "def rlm_query" in coder.requests[0].messages[0].text
    assert result.steps[0].observation == "inner answer"


async def test_a_sub_rlm_without_an_answer_is_an_error_in_the_code() -> None:
    coder = ScriptedModel([code("rlm_query('inner', 'ctx')"), "no code"])
    config = RLMConfig(budget=RLMBudget(max_iterations=1))
    result = await arun_rlm(coder, "ctx", "q?", config=config)
    assert result.stop_reason == "iterations" and not result.ready
    assert "the sub-RLM stopped without an answer (iterations, after 1 turns)" in (
        result.steps[0].observation
    )


def test_the_sync_shell() -> None:
    result = run_rlm(ScriptedModel([finish(len("abc"))]), "abc", "q?")
    assert result.answer == 3


async def test_bad_input_is_a_precise_error() -> None:
    coder = ScriptedModel([finish()])
    with pytest.raises(ConfigError, match="question must be a non-empty str"):
        await arun_rlm(coder, "text", "  ")
    with pytest.raises(ConfigError, match="context must be JSON"):
        await arun_rlm(coder, {1, 2}, "q?")
    with pytest.raises(ConfigError, match="no model was given"):
        await arun_rlm(None, "text", "q?")
    assert coder.requests == []


async def test_limits_of_the_default_prompt_are_stated() -> None:
    coder = ScriptedModel([finish()])
    await arun_rlm(coder, "", "q?", sandbox=KeepingSandbox(Limits(timeout=3.0)))
    system = coder.requests[0].messages[0].text
    assert "20 blocks, 200 sub-calls in all, 200,000 characters per sub-call prompt" in system
    assert "{functions}" not in system and "def llm_query_batched" in system
    assert isinstance(coder.requests[0].messages[1], UserMessage)
