"""Split ``<think>…</think>`` reasoning from the rest of a model's output."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeAlias

__all__ = ["UNCLOSED_THINK_ERROR", "SpanFinder", "any_span", "split_thinking", "tag_spans"]

#: ``finder(text, pos)``: the next ``(start, end)`` span at or after ``pos`` whose content is
#: data (a tool call, a JSON value), so think tags inside it are not reasoning; or None.
SpanFinder: TypeAlias = Callable[[str, int], "tuple[int, int] | None"]

#: ``<think>`` and ``<thinking>``, opening or closing, with stray spaces and any case.
_TAG = re.compile(r"<\s*(/?)\s*think(?:ing)?\s*>", re.IGNORECASE)

UNCLOSED_THINK_ERROR = (
    "Your output ended inside <think> without a closing </think>, so it had no answer. "
    "Keep your reasoning short, close it with </think>, and then give your answer or tool call."
)


def tag_spans(opening: re.Pattern[str], closing: re.Pattern[str]) -> SpanFinder:
    """A finder of ``opening ... closing`` spans (an unclosed one runs to the end)."""

    def find(text: str, pos: int) -> tuple[int, int] | None:
        start = opening.search(text, pos)
        if start is None:
            return None
        end = closing.search(text, start.end())
        return start.start(), end.end() if end is not None else len(text)

    return find


def any_span(*finders: SpanFinder) -> SpanFinder:
    """A finder of the earliest span any of ``finders`` finds."""

    def find(text: str, pos: int) -> tuple[int, int] | None:
        spans = [span for span in (f(text, pos) for f in finders) if span is not None]
        return min(spans) if spans else None

    return find


def split_thinking(
    text: str, *, protect: SpanFinder | None = None
) -> tuple[str | None, str, str | None]:
    """Split ``text`` into ``(reasoning, rest, error)``.

    ``protect`` finds spans (outside reasoning) whose content is kept as it is: a think tag
    inside a tool call or a JSON string is data, not reasoning.

    ``reasoning`` joins every ``<think>`` block (``None`` when there is none or all are
    empty); ``rest`` is the text outside them, stripped. Handled:

    * a missing opening tag: Qwen3-style templates put ``<think>`` in the prompt, so the
      output starts mid-reasoning and only has ``</think>``; all before it is reasoning;
    * an unclosed ``<think>`` (output truncated): all after it is reasoning, and ``error``
      tells the model to close its reasoning;
    * empty blocks, several blocks, and stray closing tags (dropped).

    Never raises.
    """
    thoughts: list[str] = []
    outside: list[str] = []
    inside = False
    cursor = 0
    first = True
    pos = 0
    # Found tags and spans are reused until passed, so skipping many spans rescans nothing.
    tag = _TAG.search(text)
    span = protect(text, 0) if protect is not None else None
    while True:
        if tag is not None and tag.start() < pos:
            tag = _TAG.search(text, pos)
        if protect is not None and span is not None and span[0] < pos and not inside:
            span = protect(text, pos)
        ahead = span is not None and not inside and span[0] >= pos
        if span is not None and ahead and (tag is None or span[0] < tag.start()):
            pos = max(span[1], span[0] + 1)
            continue
        if tag is None:
            break
        closing = tag.group(1) == "/"
        segment = text[cursor : tag.start()]
        if inside:
            if closing:
                thoughts.append(segment)
                inside = False
            else:
                thoughts.append(segment)  # a nested opening tag: still reasoning
        elif closing and first:
            thoughts.append(segment)  # the opening tag was in the prompt
        else:
            outside.append(segment)
            inside = not closing  # a stray closing tag outside reasoning is dropped
        first = False
        cursor = pos = tag.end()
    tail = text[cursor:]
    (thoughts if inside else outside).append(tail)
    reasoning = "\n\n".join(t.strip() for t in thoughts if t.strip()) or None
    rest = "".join(outside).strip()
    error = UNCLOSED_THINK_ERROR if inside and not rest else None
    return reasoning, rest, error
