"""Budgets in model calls: what generators report, overshoot, resume, bad values."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from hone.errors import ConfigError, SearchStateError
from hone.models import Usage
from hone.search import (
    ABMCTSA,
    MCTS,
    Budget,
    Cost,
    EpisodeSearch,
    Sampled,
    asearch,
    best_of_n,
    refine,
    search,
    self_consistency,
)
from hone.search._budget import Spend

from ._landscape import generators


def _costly(calls: int | list[int], *, delay: float = 0.0) -> Any:
    """A generator whose expansions each report ``calls`` model calls (or the next of a
    list, cycled), 10 + 5 tokens per model call."""
    counts = calls if isinstance(calls, list) else [calls]
    made = 0

    async def generate(parent: Any) -> tuple[Any, float, Cost]:
        nonlocal made
        n = counts[made % len(counts)]
        made += 1
        if delay:
            await asyncio.sleep(delay * (made % 3))
        score = 0.5 if parent is None else min(1.0, parent[0] + 0.05)
        return [score], score, Cost(prompt_tokens=10 * n, completion_tokens=5 * n, model_calls=n)

    return generate


def test_an_expansion_reporting_three_calls_uses_three() -> None:
    state = search(ABMCTSA(), {"A": _costly(3)}, budget=Budget(model_calls=30), seed=0)
    assert len(state) == 10 and state.model_calls == 30
    assert state.usage.total_tokens == 15 * 30  # a Cost is a Usage: its tokens count too
    assert isinstance(state.usage, Usage)


def test_a_generator_that_reports_nothing_counts_one_call() -> None:
    plain = search(MCTS(), generators(0), budget=Budget(model_calls=7), seed=0)
    assert len(plain) == 7 and plain.model_calls == 7

    def with_usage(parent: Any) -> tuple[Any, float, Usage]:
        return [0.5], 0.5, Usage(prompt_tokens=3, completion_tokens=1)

    tokens_only = search(MCTS(), {"A": with_usage}, budget=Budget(model_calls=4))
    assert len(tokens_only) == 4 and tokens_only.model_calls == 4


def test_failed_trials_count_one_call_each() -> None:
    made = 0

    def flaky(parent: Any) -> tuple[Any, float, Cost]:
        nonlocal made
        made += 1
        if made % 2 == 0:
            raise RuntimeError("boom")
        return [0.5], 0.5, Cost(model_calls=2)

    state = search(MCTS(), {"A": flaky}, budget=Budget(model_calls=9))
    # 2 + 1 (failed) + 2 + 1 + 2 = 8 < 9, then one more (failed): 9
    assert len(state.failures) == 3 and len(state) == 3 and state.model_calls == 9


@pytest.mark.parametrize("concurrency", [1, 2, 4])
def test_overshoot_is_bounded_by_the_calls_in_flight(concurrency: int) -> None:
    rng = random.Random(concurrency)
    counts = [rng.randint(0, 5) for _ in range(40)]
    budget = 25
    state = asyncio.run(
        asearch(
            ABMCTSA(virtual_loss=0.0),
            {"A": _costly(counts, delay=0.001)},
            budget=Budget(model_calls=budget),
            concurrency=concurrency,
            seed=0,
        )
    )
    spent = state.model_calls
    assert spent == sum(counts[: len(state)])
    # a call in flight counts as one until it reports: the overshoot is at most the extra
    # calls (beyond one) of the expansions in flight when the budget ran out
    assert budget <= spent <= budget + concurrency * (max(counts) - 1)
    if concurrency == 1:  # nothing else in flight: the last expansion started below it
        assert spent - counts[len(state) - 1] < budget


def test_model_calls_and_generator_calls_together() -> None:
    state = search(MCTS(), {"A": _costly(4)}, budget=Budget(calls=100, model_calls=12))
    assert len(state) == 3
    state = search(MCTS(), {"A": _costly(1)}, budget=Budget(calls=5, model_calls=100))
    assert len(state) == 5


def test_resume_keeps_the_model_calls_spent() -> None:
    algo = ABMCTSA()
    state = search(algo, {"A": _costly(3)}, budget=Budget(model_calls=12), seed=1)
    assert state.model_calls == 12
    saved = state.to_json()
    resumed = algo.from_json(saved)
    assert resumed.model_calls == 12 and resumed.usage == state.usage
    # the budget is for this run: the earlier calls do not count against it
    more = search(algo, {"A": _costly(3)}, budget=Budget(model_calls=6), state=resumed)
    assert len(more) == 6 and more.model_calls == 18
    # a state saved before model calls were counted: one per finished trial
    data = state.to_dict()
    del data["model_calls"]
    assert algo.from_dict(data).model_calls == 4


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3"])
def test_a_corrupt_saved_model_call_count_is_named(bad: Any) -> None:
    algo = MCTS()
    data = search(algo, generators(0), budget=3).to_dict()
    data["model_calls"] = bad
    with pytest.raises(SearchStateError, match="model_calls"):
        algo.from_dict(data)


@pytest.mark.parametrize("bad", [-1, 2.0, True, "8"])
def test_bad_values_name_the_field(bad: Any) -> None:
    with pytest.raises(ConfigError, match=r"Budget\.model_calls"):
        Budget(model_calls=bad)
    with pytest.raises(ConfigError, match=r"Cost\.model_calls"):
        Cost(model_calls=bad)


def test_a_model_call_budget_alone_is_a_limit() -> None:
    assert not Budget(model_calls=0).unlimited and Budget().unlimited
    with pytest.raises(ConfigError, match="model_calls"):
        search(MCTS(), generators(0), budget=Budget())
    assert len(search(MCTS(), generators(0), budget=Budget(model_calls=0))) == 0


def test_spend_counts_calls_in_flight_as_one_until_they_report() -> None:
    spend = Spend()
    spend.start()
    spend.start()
    assert spend.model_calls == 2 and spend.exhausted(Budget(model_calls=2)) == "model_calls"
    spend.charge(Cost(prompt_tokens=1, completion_tokens=1, model_calls=5))
    spend.charge(None)
    assert (spend.calls, spend.model_calls, spend.tokens) == (2, 6, 2)
    assert spend.exhausted(Budget(calls=3, model_calls=7, tokens=3)) is None


def _sampler(calls: int) -> Any:
    index = 0

    def sample() -> Sampled:
        nonlocal index
        index += 1
        return Sampled(f"answer {index}", Cost(completion_tokens=2 * calls, model_calls=calls))

    return sample


def test_best_of_n_honours_a_model_call_budget() -> None:
    result = best_of_n(_sampler(3), lambda answer: 0.5, n=50, budget=Budget(model_calls=10))
    assert result.stopped == "model_calls"
    assert result.calls == 4 and result.model_calls == 12  # launched at 0, 3, 6, 9 calls
    assert [c.model_calls for c in result.candidates] == [3, 3, 3, 3]
    assert result.usage.completion_tokens == 24 and result.best is not None
    assert result.best.value == "answer 1"


async def test_concurrent_sampling_overshoots_by_the_calls_in_flight_only() -> None:
    from hone.search import abest_of_n

    async def sample() -> Sampled:
        await asyncio.sleep(0.001)
        return Sampled("x", Cost(model_calls=4))

    result = await abest_of_n(
        sample, lambda answer: 1.0, n=50, budget=Budget(model_calls=10), concurrency=3
    )
    assert result.stopped == "model_calls"
    assert 10 <= result.model_calls <= 10 + 3 * (4 - 1)
    assert result.model_calls == 4 * result.calls


def test_plain_answers_count_one_call_each() -> None:
    answers = iter(["7", "7", "8", "7", "9"])
    vote = self_consistency(lambda: next(answers), n=5, budget=Budget(model_calls=3))
    assert vote.stopped == "model_calls" and vote.calls == vote.model_calls == 3
    assert vote.answer == "7"


def test_refine_honours_a_model_call_budget() -> None:
    def revise(answer: str, feedback: Any) -> Sampled:
        return Sampled(answer + "!", Cost(model_calls=2))

    result = refine(
        lambda: "draft",
        revise,
        lambda answer: len(answer) / 10,
        rounds=10,
        budget=Budget(model_calls=5),
    )
    # draft (1) + revision (2) = 3 < 5, one more revision (2) = 5: stop
    assert [c.value for c in result.history] == ["draft", "draft!", "draft!!"]
    assert result.stopped == "model_calls" and result.model_calls == 5 and result.calls == 3
    with_critic = refine(
        lambda: "draft",
        revise,
        lambda answer: len(answer) / 10,
        rounds=10,
        budget=Budget(model_calls=5),
        critique=lambda answer, score: "longer",
    )
    # draft (1) + critique (1) + revision (2) = 4 < 5, critique (1) = 5: stop
    assert len(with_critic.history) == 2 and with_critic.model_calls == 5


def test_episode_search_reports_its_own_model_calls() -> None:
    from hone.checkpoint import InMemorySaver
    from hone.graph import END, START, MessagesState, StateGraph, get_model
    from hone.models import ChatRequest, ScriptedModel
    from hone.rewards import reward_fn

    async def agent(state: MessagesState) -> dict[str, Any]:
        completion = await get_model().complete(ChatRequest(messages=tuple(state["messages"])))
        return {"messages": [completion.message]}

    def route(state: MessagesState) -> str:
        return END if "final" in state["messages"][-1].text else "agent"

    builder = StateGraph(MessagesState)
    builder.add_node("agent", agent)
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", route, ["agent", END])
    graph = builder.compile(checkpointer=InMemorySaver())
    model = ScriptedModel(["a", "b", "final"], when_exhausted="cycle")  # 3 calls an episode
    reward = reward_fn(lambda episode: 0.5)
    searcher = EpisodeSearch(graph, "go", model, reward, on_done="retry_last")
    _, _, cost = searcher.generate(None)
    assert isinstance(cost, Cost) and cost.model_calls == 3
    state = search(MCTS(), {"agent": searcher.agenerate}, budget=Budget(model_calls=7))
    own = [e.metadata["search"]["own_calls"] for e in list(searcher.episodes.values())[1:]]
    assert state.model_calls == sum(own) >= 7
    assert sum(own[:-1]) < 7  # the last expansion started below the budget
