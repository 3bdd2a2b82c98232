"""Answers for voting: pull the final answer out of a reply, normalise it, count the votes.

All pure functions. ``extract_answer`` and ``normalize_answer`` are the defaults of
:func:`~hone.search.self_consistency`; pass your own for other answer formats.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

__all__ = ["extract_answer", "majority_vote", "normalize_answer"]

_BOXED = re.compile(r"\\boxed\{((?:[^{}]|\{[^{}]*\})*)\}")
_MARKED = re.compile(
    r"(?:final answer|answer)\s*(?:is\s*:?|:)\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE
)
_NUMBER = re.compile(r"^[-+]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?$")


def extract_answer(text: str) -> str | None:
    """The final answer in a reply: the last ``\\boxed{...}``, else what follows the last
    "answer is" / "answer:", else the last non-empty line; None for an empty reply."""
    boxed = _BOXED.findall(text)
    if boxed:
        return str(boxed[-1]).strip()
    marked = _MARKED.findall(text)
    if marked:
        return str(marked[-1]).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else None


def normalize_answer(answer: str) -> str:
    """A canonical form for comparing answers: case and spacing folded, surrounding ``$``,
    quotes and a final period dropped, numbers written one way (``1,000.50`` → ``1000.5``)."""
    text = " ".join(answer.strip().split()).lower()
    text = text.strip("$`'\" ").rstrip(".").strip()
    candidate = text.replace(" ", "")
    if candidate and _NUMBER.match(candidate) and any(ch.isdigit() for ch in candidate):
        try:
            number = Decimal(candidate.replace(",", ""))
        except InvalidOperation:
            return text
        if number == number.to_integral_value():
            return str(int(number))
        return format(number.normalize(), "f")
    return text


def majority_vote(answers: Sequence[str | None]) -> tuple[str | None, dict[str, int]]:
    """The most frequent answer and the vote count of each (None answers abstain). Ties go
    to the answer that appeared first, so the result never depends on hash order."""
    counts: dict[str, int] = {}
    for answer in answers:
        if answer is not None:
            counts[answer] = counts.get(answer, 0) + 1
    if not counts:
        return None, {}
    # dicts keep insertion order, so max() keeps the first-seen answer among equals.
    winner = max(counts, key=counts.__getitem__)
    return winner, counts
