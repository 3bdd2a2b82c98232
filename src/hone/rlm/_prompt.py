"""What the root model reads and writes: the system prompt, the task (a description of the
context, never its text), the code block cut out of a reply, and what a block printed."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hone.sandbox import ExecResult

__all__ = [
    "CODE_STOP",
    "RLM_PROMPT",
    "Block",
    "cut_output",
    "describe_context",
    "find_block",
    "task_message",
]

#: The stop sequence that ends a reply at its code block's closing fence (a fence line with
#: nothing after it, so the opening "```python" does not match).
CODE_STOP = "\n```\n"

#: The root model's default system prompt; ``{functions}`` lists what the code can call and
#: ``{limits}`` states the budget.
RLM_PROMPT = """\
You answer a question about a context that is far too long to read at once. The context is \
the variable `context` in a persistent Python session; you see it only through code you run.

Write one Python block per reply:

```python
print(type(context), len(context))
print(context[:500])
```

The block runs and you see what it printed (long output is cut, so print summaries and \
samples, never the whole text). Variables, functions and imports stay between blocks. The \
code can call these functions:

{functions}

Limits: {limits}. A good plan: look at how the context is laid out, split it into pieces \
that fit a sub-call, ask a sub-model about each piece with llm_query_batched, and combine the \
answers in code.

When you know the answer, store it and mark it ready in a block:

```python
answer["content"] = 42
answer["ready"] = True
```

The run ends after the block that sets answer["ready"] = True."""

_OPEN = re.compile(r"```(?:python3?|py|repl)?[ \t]*\n")
_CLOSE = re.compile(r"\n[ \t]*```[ \t]*(?:\n|$)")


@dataclass(frozen=True, slots=True)
class Block:
    """The first code block of a reply.

    Attributes:
        code: the code (None: the reply has no block).
        shown: the reply as the conversation keeps it: up to the block's closing fence (added
            when the stop sequence cut it off), nothing after it.
        closed: whether the block's closing fence (or the stop sequence) ended it, rather
            than the end of the text.
    """

    code: str | None
    shown: str
    closed: bool


def find_block(text: str, *, stopped: bool) -> Block:
    """The first fenced block of ``text`` (```python, ```py, ```repl or a bare fence).

    ``stopped``: the reply ended at a stop sequence (the closing fence, cut off), so a block
    still open at the end is complete. What follows the first block's closing fence is
    dropped: a reply holds one block, as a backend that honours the stop sequence returns.
    """
    opened = _OPEN.search(text)
    if opened is None:
        return Block(None, text, closed=False)
    closing = _CLOSE.search(text, opened.end() - 1)
    if closing is not None:
        code = text[opened.end() : closing.start()]
        shown = text[: closing.start()] + "\n```"
        return Block(code if code.strip() else None, shown, closed=True)
    code = text[opened.end() :]
    shown = text.rstrip("\n") + "\n```"
    return Block(code if code.strip() else None, shown, closed=stopped)


def describe_context(context: Any) -> str:
    """The context's type and size as the model is told them (never its text)."""
    if isinstance(context, str):
        lines = context.count("\n") + (1 if context and not context.endswith("\n") else 0)
        return f"a str of {len(context):,} characters in {lines:,} line{'' if lines == 1 else 's'}"
    if isinstance(context, list):
        texts = [item for item in context if isinstance(item, str)]
        sizes = ""
        if texts and len(texts) == len(context):
            total = sum(len(t) for t in texts)
            sizes = f" (all str, {total:,} characters in all, longest {max(map(len, texts)):,})"
        return f"a list of {len(context):,} items{sizes}"
    if isinstance(context, Mapping):
        keys = list(context)[:20]
        more = ", ..." if len(context) > len(keys) else ""
        return f"a dict with {len(context):,} keys ({', '.join(map(repr, keys))}{more})"
    return f"a {type(context).__name__}"


def task_message(question: str, context: Any) -> str:
    """The first user message: the question and what ``context`` is."""
    return (
        f"`context` is {describe_context(context)}.\n\n"
        f"Question: {question}\n\n"
        "Explore the context with code, then set answer['content'] and answer['ready'] = True."
    )


def cut_output(result: ExecResult, limit: int) -> str:
    """What a block printed and how it ended, as the model reads it: output beyond ``limit``
    characters is cut in the middle, with a note of how much was printed and shown."""
    output = result.output
    printed = max(result.output_chars, len(output))
    cut = len(output) > limit
    if cut:
        head = limit // 2
        output = f"{output[:head]}\n...\n{output[len(output) - (limit - head) :]}"
    observed = dataclasses.replace(result, output=output).observation()
    if not (cut or result.truncated):
        return observed
    shown = limit if cut else len(result.output)
    return (
        f"{observed}\n[output truncated: {printed:,} characters printed, about {shown:,} "
        "shown; print less: counts, samples, slices]"
    )
