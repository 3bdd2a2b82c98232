"""Best-of-N, self-consistency and refinement over scripted models and plain functions."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from hone.errors import ConfigError
from hone.models import ScriptedModel
from hone.rewards import reward_fn
from hone.search import (
    ABMCTSA,
    Budget,
    Feedback,
    best_of_n,
    model_generator,
    model_reviser,
    model_sampler,
    refine,
    search,
    self_consistency,
)


def test_best_of_n_keeps_the_best_by_a_verifier() -> None:
    model = ScriptedModel(["7", "12", "10", "12"])
    result = best_of_n(
        model_sampler(model, "6 + 6 = ?"), lambda answer: answer.strip() == "12", n=4
    )
    assert result.best is not None and result.best.index == 1 and result.best.score == 1.0
    assert [c.value for c in result.candidates] == ["7", "12", "10", "12"]
    assert result.calls == 4 and result.stopped == "done" and result.solved()
    assert result.usage.completion_tokens == sum(len(c.value) for c in result.candidates)
    assert [r.options.seed for r in model.requests] == [None] * 4


def test_samples_get_distinct_seeds() -> None:
    model = ScriptedModel(["a"], when_exhausted="cycle")
    best_of_n(model_sampler(model, "hi", seed=10), lambda a: 0.5, n=3)
    assert [r.options.seed for r in model.requests] == [10, 11, 12]


def test_best_of_n_with_a_hone_reward_scores_one_group() -> None:
    seen: list[int] = []

    @reward_fn
    def length(episode: Any) -> float:
        seen.append(episode.metadata["search_index"])
        assert episode.messages[0] == {"role": "user", "content": "say something"}
        return len(episode.final_answer) / 10

    model = ScriptedModel(["short", "much longer", "mid size"])
    result = best_of_n(model_sampler(model, "say something"), length, n=3, prompt="say something")
    assert result.best is not None and result.best.value == "much longer"
    assert seen == [0, 1, 2]


def test_budgets_in_calls_and_tokens() -> None:
    model = ScriptedModel(["x" * 40], when_exhausted="cycle")
    sample = model_sampler(model, "go")
    by_tokens = best_of_n(sample, lambda a: 0.1, n=50, budget=Budget(tokens=100))
    per_call = by_tokens.candidates[0].usage.total_tokens
    assert by_tokens.stopped == "tokens"
    assert by_tokens.calls == -(-100 // per_call)
    by_calls = best_of_n(sample, lambda a: 0.1, n=50, budget=Budget(calls=3))
    assert (by_calls.calls, by_calls.stopped) == (3, "calls")


def test_target_stops_early() -> None:
    counter = itertools.count()
    result = best_of_n(lambda: next(counter), lambda v: v >= 2, n=10, target=1.0)
    assert result.stopped == "target" and result.calls == 3 and result.best.value == 2  # type: ignore[union-attr]


def test_failures_are_candidates_not_crashes() -> None:
    counter = itertools.count()

    def sample() -> int:
        value = next(counter)
        if value == 1:
            raise TimeoutError("slow server")
        return value

    def verify(value: int) -> float:
        if value == 2:
            raise ValueError("cannot parse")
        return float("nan") if value == 3 else value / 10

    result = best_of_n(sample, verify, n=5)
    errors = [c.error for c in result.candidates]
    assert errors[1] == "the sampler raised TimeoutError: slow server"
    assert errors[2] == "the verifier raised ValueError: cannot parse"
    assert "nan" in (errors[3] or "")
    assert result.best is not None and result.best.value == 4


async def test_concurrent_sampling_keeps_order() -> None:
    import asyncio

    from hone.search import abest_of_n

    async def sample() -> float:
        await asyncio.sleep(0)
        return 0.5

    result = await abest_of_n(sample, lambda v: v, n=6, concurrency=3)
    assert [c.index for c in result.candidates] == list(range(6))


def test_self_consistency_votes_over_normalised_answers() -> None:
    replies = ["The answer is 1,000.", "answer: 1000", "Hmm.\n999", "\\boxed{1000.0}", "999"]
    result = self_consistency(model_sampler(ScriptedModel(replies), "q"), n=5)
    assert result.answer == "1000"
    assert result.votes == {"1000": 3, "999": 2}
    assert result.agreement == pytest.approx(0.6)
    assert result.chosen is not None and result.chosen.index == 0


def test_self_consistency_breaks_ties_by_first_seen() -> None:
    result = self_consistency(lambda: "x", n=1, extract=lambda v: v)  # one vote
    assert result.answer == "x"
    values = iter(["b", "a", "a", "b"])
    tied = self_consistency(lambda: next(values), n=4, normalize=str.upper)
    assert tied.answer == "B" and tied.votes == {"B": 2, "A": 2}
    abstain = self_consistency(lambda: "", n=2)
    assert abstain.answer is None and abstain.agreement == 0.0 and abstain.chosen is None


def test_refine_revises_until_the_target() -> None:
    model = ScriptedModel(["draft", "better", "best", "never used"])
    scores = {"draft": 0.2, "better": 0.6, "best": 1.0}
    result = refine(
        model_sampler(model, "write"),
        model_reviser(model, "write"),
        lambda answer: scores.get(answer, 0.0),
        rounds=5,
        target=1.0,
    )
    assert [c.value for c in result.history] == ["draft", "better", "best"]
    assert result.stopped == "target" and result.calls == 3
    assert result.best is not None and result.best.round == 2
    revision = model.requests[1].messages
    assert revision[-2].text == "draft"
    assert "scored 0.20" in revision[-1].text


def test_refine_with_a_critic_and_from_the_best() -> None:
    drafts = iter([0.5, 0.2, 0.7])
    seen: list[Feedback] = []

    def revise(answer: float, feedback: Feedback) -> float:
        seen.append(feedback)
        return next(drafts)

    result = refine(
        lambda: 0.4,
        revise,
        lambda value: value,
        rounds=3,
        critique=lambda value, score: f"{value} is too low",
        revise_from="best",
        budget=Budget(calls=7),
    )
    assert [c.value for c in result.history] == [0.4, 0.5, 0.2, 0.7][: len(result.history)]
    assert seen[0] == Feedback(0.4, "0.4 is too low")
    assert seen[2].score == 0.5  # the best so far, not the latest (0.2)
    # 4 answers and 3 critiques: the budget left no call for the last critique.
    assert result.calls == 7 and result.stopped == "done"
    assert result.history[-1].feedback is None
    with pytest.raises(ConfigError, match="revise_from"):
        refine(lambda: 1, revise, lambda v: 1, revise_from="oldest")  # type: ignore[arg-type]


def test_model_generator_drives_a_tree_search() -> None:
    model = ScriptedModel(["a", "ab", "abc", "abcd", "x"], when_exhausted="cycle")
    generate = model_generator(model, "grow the string", lambda answer: min(1.0, len(answer) / 4))
    state = search(ABMCTSA(), {"model": generate}, budget=12, seed=0)
    best = state.best()
    assert best is not None and best.state["answer"] in {"abcd", "abc"}
    assert state.usage.completion_tokens > 0
    assert state.to_json()  # node states are JSON data


@pytest.mark.slow
def test_best_of_n_with_the_tiny_model(tmp_path: Any) -> None:
    """Integration: a real local model (hone's tiny one) behind model_sampler, with seeds."""
    pytest.importorskip("torch")
    from hone.models import SamplingOptions
    from hone.models._tiny_corpus import default_corpus
    from hone.models._transformers import TransformersModel
    from hone.models.tiny import TinyConfig, build_tiny_model

    small = TinyConfig(
        hidden_size=64,
        layers=2,
        heads=2,
        kv_heads=1,
        intermediate=128,
        max_position=256,
        vocab_size=1024,
    )
    model = TransformersModel.from_pretrained(
        build_tiny_model(tmp_path / "tiny", corpus=default_corpus(200), config=small)
    )
    options = SamplingOptions(max_tokens=12)
    first = best_of_n(model_sampler(model, "Say a number.", options=options, seed=0), len, n=3)
    again = best_of_n(model_sampler(model, "Say a number.", options=options, seed=0), len, n=3)
    assert first.calls == 3 and 0 < first.usage.completion_tokens <= 36
    assert [c.value for c in first.candidates] == [c.value for c in again.candidates]
    assert first.best is not None and first.best.score == max(
        len(c.value) for c in first.candidates
    )
