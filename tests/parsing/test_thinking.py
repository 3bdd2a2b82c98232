"""split_thinking: reasoning blocks as Qwen3, DeepSeek-R1 and friends really emit them."""

from __future__ import annotations

import pytest

from hone.parsing import split_thinking
from hone.parsing._thinking import UNCLOSED_THINK_ERROR


@pytest.mark.parametrize(
    ("text", "reasoning", "rest"),
    [
        pytest.param("<think>plan</think>\n\nanswer", "plan", "answer", id="both-tags"),
        pytest.param("plan it\n</think>\n\nanswer", "plan it", "answer", id="opening-in-prompt"),
        pytest.param("<think>\n\n</think>\n\nanswer", None, "answer", id="empty-block"),
        pytest.param("just an answer", None, "just an answer", id="no-tags"),
        pytest.param("", None, "", id="empty"),
        pytest.param("<think>a</think>x<think>b</think>y", "a\n\nb", "xy", id="two-blocks"),
        pytest.param("<THINKING>a</Thinking> y", "a", "y", id="thinking-any-case"),
        pytest.param("<think>a</think>b</think>c", "a", "bc", id="stray-close-dropped"),
        pytest.param("<think>a <think> b</think>c", "a\n\nb", "c", id="nested-open"),
        pytest.param("answer <think>more", "more", "answer", id="unclosed-after-answer"),
    ],
)
def test_splits(text: str, reasoning: str | None, rest: str) -> None:
    assert split_thinking(text) == (reasoning, rest, None)


def test_unclosed_think_is_all_reasoning_and_an_error() -> None:
    reasoning, rest, error = split_thinking("<think>Let me think about this step")
    assert (reasoning, rest, error) == ("Let me think about this step", "", UNCLOSED_THINK_ERROR)
    assert "</think>" in UNCLOSED_THINK_ERROR


def test_only_think_closed_has_no_answer_but_no_error() -> None:
    assert split_thinking("<think>hmm</think>") == ("hmm", "", None)
