"""Budgets of the multi-agent patterns: counting, limits, and loops without progress."""

from __future__ import annotations

import pytest

from hone.agents import Budget, BudgetStop, BudgetUsage
from hone.errors import ConfigError


def _turn(
    usage: BudgetUsage, agent: str, *, tools: int = 0, answer: str | None = None
) -> BudgetUsage:
    return usage.after_turn(agent, tokens=10, seconds=0.5, tool_successes=tools, answer=answer)


def test_turns_tokens_and_time_add_up() -> None:
    usage = _turn(_turn(BudgetUsage(), "a"), "b")
    assert (usage.turns, usage.tokens, usage.seconds) == (2, 20, 1.0)


def test_a_finished_run_starts_a_fresh_count_and_a_running_one_continues() -> None:
    running = _turn(BudgetUsage(), "a")
    assert BudgetUsage.current(running) is running
    assert BudgetUsage.current(running.ended()) == BudgetUsage()
    assert BudgetUsage.current(None) == BudgetUsage()


def test_handoff_limit_refuses_with_the_source_answering() -> None:
    budget = Budget(max_handoffs=1, max_revisits=None)
    usage = budget.admit(_turn(BudgetUsage(), "a"), "a", "b")
    assert usage.stop is None and usage.handoffs == 1
    refused = budget.admit(_turn(usage, "b"), "b", "a")
    assert refused.finished
    assert refused.stop == BudgetStop("handoffs", "b", "1 handoffs")
    assert "1 handoffs" in budget.final_prompt(refused.stop)


@pytest.mark.parametrize(
    ("budget", "limit"),
    [
        (Budget(max_turns=1), "turns"),
        (Budget(max_tokens=10), "tokens"),
        (Budget(max_seconds=0.5), "seconds"),
    ],
)
def test_spent_limits_refuse_the_next_handoff(budget: Budget, limit: str) -> None:
    usage = _turn(BudgetUsage(), "a")
    assert budget.spent(usage) is not None
    stopped = budget.admit(usage, "a", "b").stop
    assert stopped is not None and stopped.limit == limit


def test_ping_pong_without_progress_is_a_loop() -> None:
    budget = Budget(max_revisits=1, max_handoffs=None)
    usage = BudgetUsage()
    path = []
    for source, target in [("a", "b"), ("b", "a"), ("a", "b"), ("b", "a")]:
        usage = budget.admit(_turn(usage, source), source, target)
        path.append(usage.revisits)
        if usage.stop is not None:
            break
    # a→b (new), b→a (revisit 1), a→b (revisit 2 > 1): refused.
    assert usage.stop is not None and usage.stop.limit == "loop" and usage.stop.agent == "a"
    assert path == [0, 1, 1]  # the refused admit keeps the last counted usage


def test_progress_resets_the_loop_count() -> None:
    budget = Budget(max_revisits=0, max_handoffs=None)
    usage = budget.admit(_turn(BudgetUsage(), "a"), "a", "b")
    usage = budget.admit(_turn(usage, "b", tools=1), "b", "a")  # b's tool worked
    assert usage.stop is None
    usage = budget.admit(_turn(usage, "a", answer="new text"), "a", "b")
    assert usage.stop is None  # a new answer is progress too
    again = budget.admit(_turn(usage, "b"), "b", "a")
    assert again.stop is None  # a has not held control since the last progress
    looped = budget.admit(_turn(again, "a", answer="new text"), "a", "b")
    assert looped.stop is not None and looped.stop.limit == "loop"  # a repeated answer is none


def test_a_hub_holding_control_is_no_revisit() -> None:
    budget = Budget(max_revisits=0, max_handoffs=None)
    usage = BudgetUsage()
    for worker in ("w1", "w2"):
        usage = usage.after_turn(
            "sup", tokens=0, seconds=0, tool_successes=0, answer=None, hub=True
        )
        usage = budget.admit(usage, "sup", worker)
        assert usage.stop is None
        usage = _turn(usage, worker)
    usage = usage.after_turn("sup", tokens=0, seconds=0, tool_successes=0, answer=None, hub=True)
    assert budget.admit(usage, "sup", "w1").stop is not None  # w1 again, nothing new since


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_turns": 0},
        {"max_handoffs": -1},
        {"max_tokens": 0},
        {"max_seconds": 0.0},
        {"max_revisits": -1},
        {"prompt": " "},
    ],
)
def test_bad_budgets_are_config_errors(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        Budget(**kwargs)  # type: ignore[arg-type]
