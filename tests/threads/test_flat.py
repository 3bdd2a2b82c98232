"""The flat baseline: the same tasks and tools as a ReAct agent, and teacher forcing of any
scripted backend through the local model."""

from __future__ import annotations

from hone.models import TransformersModel
from hone.threads import LookupSuite, TeacherForcedModel, run_flat


def test_the_scripted_flat_agent_solves_the_suite() -> None:
    suite = LookupSuite(3, lookups=(4, 7), group_size=3, seed=2)
    results = run_flat(suite.flat_teacher(), suite.questions, suite.tools())
    assert suite.check([r.answer for r in results]) == [True] * 3
    for task, result in zip(suite.tasks, results, strict=True):
        assert result.tool_calls == task.tool_calls
        assert result.stats.calls == task.tool_calls + 1
        prompts = [c.usage.prompt_tokens for c in result.completions]
        assert prompts == sorted(prompts)  # the whole conversation is sent every time
        assert result.stats.processed_tokens == sum(
            c.usage.total_tokens for c in result.completions
        )


def test_teacher_forcing_runs_the_replies_through_the_local_model(tiny: TransformersModel) -> None:
    suite = LookupSuite(2, lookups=(3, 3), group_size=3, seed=4)
    forced = TeacherForcedModel(tiny, suite.flat_teacher())
    results = run_flat(forced, suite.questions, suite.tools())
    assert suite.check([r.answer for r in results]) == [True, True]
    for result in results:
        for completion in result.completions:
            assert completion.token_ids and completion.logprobs
            assert all(lp <= 0 for lp in completion.logprobs)
            assert completion.finish_reason in ("stop", "tool_calls")
