"""Split ``<think>…</think>`` reasoning from the rest of a model's output."""

from __future__ import annotations

import re

__all__ = ["UNCLOSED_THINK_ERROR", "split_thinking"]

#: ``<think>`` and ``<thinking>``, opening or closing, with stray spaces and any case.
_TAG = re.compile(r"<\s*(/?)\s*think(?:ing)?\s*>", re.IGNORECASE)

UNCLOSED_THINK_ERROR = (
    "Your output ended inside <think> without a closing </think>, so it had no answer. "
    "Keep your reasoning short, close it with </think>, and then give your answer or tool call."
)


def split_thinking(
    text: str, *, literal: tuple[re.Pattern[str], re.Pattern[str]] | None = None
) -> tuple[str | None, str, str | None]:
    """Split ``text`` into ``(reasoning, rest, error)``.

    ``literal`` names the opening and closing tags of spans (outside reasoning) whose content
    is kept as it is: a think tag inside a tool call's JSON is data, not reasoning.

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
    while True:
        tag = _TAG.search(text, pos)
        span = literal[0].search(text, pos) if literal and not inside else None
        if span is not None and (tag is None or span.start() < tag.start()):
            end = literal[1].search(text, span.end()) if literal else None
            pos = end.end() if end is not None else len(text)
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
