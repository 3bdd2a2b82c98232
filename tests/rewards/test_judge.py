"""GroupJudge: RULER-style group judging with shuffled repeats, driven by scripted judges."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from hone.errors import ConfigError, ModelConnectionError
from hone.messages import text_of
from hone.models._protocol import ChatRequest
from hone.models._scripted import ScriptedModel
from hone.rewards import GroupJudge, common_prefix_length, render_messages
from hone.trajectory import Episode

QUALITY = {"perfect": 0.9, "decent": 0.5, "awful": 0.1}
SHARED = [
    {"role": "system", "content": "Be helpful."},
    {"role": "user", "content": "Find the cat."},
]


def episode(word: str, extra: int = 0) -> Episode:
    messages = [*SHARED, {"role": "assistant", "content": f"I did a {word} job" + " ." * extra}]
    return Episode(task_id="t", messages=messages)


def presented(request: ChatRequest) -> list[str]:
    """The quality word of each trajectory, in the order the judge sees them."""
    user = text_of(request.messages[-1].content)
    bodies = re.findall(r'<trajectory id="\d+">\n(.*?)\n</trajectory>', user, re.DOTALL)
    return [next(w for w in QUALITY if w in body) for body in bodies]


class ContentJudge:
    """Scores each trajectory by what it says (plus a per-call offset), as JSON."""

    def __init__(self, offsets: list[float] | None = None) -> None:
        self.orders: list[list[str]] = []
        self.offsets = offsets or [0.0]

    def __call__(self, request: ChatRequest) -> str:
        order = presented(request)
        offset = self.offsets[len(self.orders) % len(self.offsets)]
        self.orders.append(order)
        scores = [
            {"trajectory_id": str(i + 1), "explanation": f"{w} work", "score": QUALITY[w] + offset}
            for i, w in enumerate(order)
        ]
        return "<think>comparing</think>" + json.dumps({"scores": scores})


async def test_shuffle_is_undone() -> None:
    judge_fn = ContentJudge()
    judge = GroupJudge(ScriptedModel([judge_fn], when_exhausted="cycle"), repeats=4, seed=3)
    eps = [episode("awful"), episode("perfect"), episode("decent")]
    results = await judge.score(eps)
    assert [r.value for r in results] == pytest.approx([0.1, 0.9, 0.5])
    assert results[1].explanation == json.dumps(["perfect work"] * 4)
    assert len({tuple(o) for o in judge_fn.orders}) > 1  # the orderings really differ
    assert all(r.components["judge_variance"] == pytest.approx(0.0) for r in results)


async def test_repeats_are_averaged_with_variance() -> None:
    judge = GroupJudge(
        ScriptedModel([ContentJudge(offsets=[0.0, 0.1])], when_exhausted="cycle"), repeats=2
    )
    results = await judge.score([episode("decent"), episode("awful")])
    assert [r.value for r in results] == pytest.approx([0.55, 0.15])
    assert results[0].components["judge_variance"] == pytest.approx(0.0025)
    assert results[0].components["judge_repeats"] == 2.0


async def test_common_prefix_is_sent_once_as_context() -> None:
    model = ScriptedModel([ContentJudge()], when_exhausted="cycle")
    await GroupJudge(model, shuffle=False).score([episode("perfect"), episode("awful", extra=2)])
    [request] = model.requests
    user = text_of(request.messages[-1].content)
    assert user.count("Find the cat.") == 1
    context = user.split("</context>")[0]
    assert "[system] Be helpful." in context and "[user] Find the cat." in context
    assert '<trajectory id="1">\n[assistant] I did a perfect job\n</trajectory>' in user
    assert "shared context" in text_of(request.messages[0].content)
    assert common_prefix_length([SHARED, SHARED[:1]]) == 1
    assert common_prefix_length([[{"a": 1}], [{"a": 2}]]) == 0


async def test_malformed_reply_is_retried_once_then_the_repeat_dropped() -> None:
    good = ContentJudge()
    model = ScriptedModel(["no json here", good, "{'scores': []}", '{"scores": "x"}', good])
    judge = GroupJudge(model, repeats=3, seed=1)
    results = await judge.score([episode("perfect"), episode("decent")])
    # repeat 0 recovered on retry, repeat 1 failed twice (dropped), repeat 2 fine.
    assert model.calls == 5
    assert [r.value for r in results] == pytest.approx([0.9, 0.5])
    assert results[0].components["judge_repeats"] == 2.0
    assert results[0].components["judge_dropped"] == 1.0


async def test_no_usable_scores_gives_no_value() -> None:
    bad_ids = json.dumps({"scores": [{"trajectory_id": "7", "score": 0.5}]})
    out_of_range = json.dumps({"scores": [{"trajectory_id": "1", "score": 3}]})
    judge = GroupJudge(ScriptedModel([bad_ids, out_of_range]), repeats=1)
    [result] = await judge.score([episode("perfect")])
    assert result.value is None
    assert "trajectories 1..1" in (result.error or "") and "not a number in [0, 1]" in (
        result.error or ""
    )


async def test_a_failing_judge_model_counts_as_a_failed_attempt() -> None:
    def unreachable(request: ChatRequest) -> str:
        raise ModelConnectionError("judge server unreachable")

    judge = GroupJudge(ScriptedModel([unreachable, ContentJudge()]))
    [result] = await judge.score([episode("decent")])
    assert result.value == pytest.approx(0.5)
    # A group of one keeps its last message out of the shared context.
    user = text_of(judge.model.requests[-1].messages[-1].content)  # type: ignore[attr-defined]
    assert '<trajectory id="1">\n[assistant] I did a decent job' in user


async def test_misc() -> None:
    assert await GroupJudge(ScriptedModel(["x"])).score([]) == []
    with pytest.raises(ConfigError):
        GroupJudge(ScriptedModel(["x"]), repeats=0)
    long: list[dict[str, Any]] = [
        {"role": "tool", "content": "y" * 50, "tool_call_id": "c1"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"function": {"name": "f", "arguments": "{}"}}],
        },
    ]
    text = render_messages(long, max_chars=10)
    assert "[tool result c1] yyyyyyyyyy …[40 more characters]" in text
    assert "-> call f({})" in text


async def test_judging_a_rollout_group() -> None:
    from hone.models._protocol import ModelBackend, make_request
    from hone.trajectory import rollout_group

    async def program(task: str, model: ModelBackend) -> None:
        await model.complete(make_request(task))

    policy = ScriptedModel(["a perfect answer", "an awful answer", "a decent answer"])
    judge = GroupJudge(ScriptedModel([ContentJudge()], when_exhausted="cycle"), repeats=2)
    episodes = await rollout_group(program, "Find the cat.", policy, group_size=3, reward=judge)
    assert [e.reward for e in episodes] == pytest.approx([0.9, 0.1, 0.5])
    assert episodes[0].reward_components["judge_repeats"] == 2.0
    assert episodes[0].reward_explanation is not None
