"""Answer extraction, normalisation and voting (pure functions)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hone.search import extract_answer, majority_vote, normalize_answer


def test_extract_answer_forms() -> None:
    assert extract_answer("so \\boxed{42} and \\boxed{\\frac{1}{2}}") == "\\frac{1}{2}"
    assert extract_answer("Work...\nThe final answer is: 17") == "17"
    assert extract_answer("line one\n\nlast line\n") == "last line"
    assert extract_answer("   \n") is None


def test_normalize_answer_forms() -> None:
    assert normalize_answer("  $1,000.50$ ") == "1000.5"
    assert normalize_answer("3.0") == normalize_answer("3") == "3"
    assert normalize_answer("Paris.") == normalize_answer("paris") == "paris"
    assert normalize_answer("New   York") == "new york"


@given(st.text())
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize_answer(text)
    assert normalize_answer(once) == once


@given(st.lists(st.sampled_from(["a", "b", "c", None])))
def test_vote_is_the_first_most_frequent(answers: list[str | None]) -> None:
    winner, counts = majority_vote(answers)
    cast = [a for a in answers if a is not None]
    assert sum(counts.values()) == len(cast)
    if not cast:
        assert winner is None
        return
    top = max(counts.values())
    assert counts[winner] == top  # type: ignore[index]
    assert winner == next(a for a in cast if counts[a] == top)
