"""TIM's pruning rule: a fixed-size stack of completed subtask lists.

When a subtask list closes it is pushed on a stack. While the stack holds more than
``stack_size`` lists, the oldest one is taken off and its tasks' *internals* (everything
between a task's opening brace and its ``"conclusion"`` key: thought, tool use with its
result, nested subtasks) leave the working memory; the conclusions stay. Lists nested inside
pruned internals leave the stack with them. What is pruned is a set of character spans of
the thread text; :func:`pruned_text` is the view a model sees when pruning is done on text
(remote models), and the local runtime hides the tokens that start inside the spans.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from hone.errors import ConfigError
from hone.threads._events import Span, SubtasksClosed

__all__ = ["PruneRule", "Pruner", "pruned_text"]


@dataclass(frozen=True, slots=True)
class PruneRule:
    """How much finished work stays in full.

    Args:
        stack_size: completed subtask lists kept whole; past it, the oldest list's internals
            are pruned (0: every list is pruned as soon as it closes).

    Raises:
        ConfigError: a negative ``stack_size``.
    """

    stack_size: int = 2

    def __post_init__(self) -> None:
        if self.stack_size < 0:
            raise ConfigError(f"PruneRule.stack_size must be >= 0, got {self.stack_size}")


@dataclass(slots=True)
class Pruner:
    """Applies a :class:`PruneRule` to the subtask lists of one thread, as they close."""

    rule: PruneRule
    #: Lists completed and not pruned yet, oldest first.
    stack: list[SubtasksClosed] = field(default_factory=list)
    #: Every span pruned so far, in the order they were pruned.
    pruned: list[Span] = field(default_factory=list)

    def on_closed(self, event: SubtasksClosed) -> list[Span]:
        """Push a closed list; return the spans this prunes (empty while the stack fits)."""
        self.stack.append(event)
        out: list[Span] = []
        while len(self.stack) > self.rule.stack_size:
            oldest = self.stack.pop(0)
            spans = [t.internals for t in oldest.tasks if t.internals.end > t.internals.start]
            self.stack = [s for s in self.stack if not _inside(s.span, spans)]
            out.extend(spans)
        self.pruned.extend(out)
        return out


def _inside(span: Span, spans: Sequence[Span]) -> bool:
    return any(s.start <= span.start and span.end <= s.end for s in spans)


def pruned_text(text: str, spans: Sequence[Span]) -> str:
    """``text`` without the characters of ``spans`` (which may overlap or nest)."""
    if not spans:
        return text
    out, at = [], 0
    for span in sorted(spans, key=lambda s: s.start):
        if span.start > at:
            out.append(text[at : span.start])
        at = max(at, span.end)
    out.append(text[at:])
    return "".join(out)
