"""The default tokenizer corpus of the tiny model, generated locally (nothing is downloaded).

The text looks like what the tiny model will read and write: chat-formatted turns, numbers
and arithmetic, tool-call JSON, tool responses and plain English words, so the learned BPE
merges cover the chat markup, JSON punctuation and common words.
"""

from __future__ import annotations

import json
import operator
import random
from collections.abc import Callable

__all__ = ["default_corpus"]

_WORD_TEXT = (
    "the a an and or but if then else of to in on at by for with from as is are was were be "
    "been it this that these those there here what which who whom whose when where why how "
    "i you he she we they me him her us them my your his its our their one two three four five "
    "six seven eight nine ten number numbers sum add plus minus times divided product result "
    "answer question tool tools call calls function functions name arguments value values "
    "search find look up weather city today tomorrow time date please thank thanks hello hi "
    "sure okay yes no not can could would should will shall may might must do does did done "
    "make made get got give given take took use used need needs want wants know knows think "
    "thought reason reasoning step steps first second third next last final total count list "
    "word words text file files read write open close run test tests check error errors fix "
    "good bad great small large big little more less most least many much few some any all "
    "every each other same different new old right left true false null none user assistant "
    "system message messages reply respond help helpful world people day days year years "
    "compute calculate equals equal result is let me so therefore because since while until"
)
_WORDS = _WORD_TEXT.split()

_TOOLS = (
    ("add", ("a", "b")),
    ("subtract", ("a", "b")),
    ("multiply", ("a", "b")),
    ("search", ("query",)),
    ("get_weather", ("city",)),
    ("lookup", ("key",)),
)
_Op = tuple[str, str, Callable[[int, int], int]]
_OPS: tuple[_Op, ...] = (("+", "add", operator.add), ("-", "subtract", operator.sub))
_OPS_ALL: tuple[_Op, ...] = (*_OPS, ("*", "multiply", operator.mul))


def _sentence(rng: random.Random, length: int) -> str:
    words = [rng.choice(_WORDS) for _ in range(length)]
    text = " ".join(words)
    return text[0].upper() + text[1:] + rng.choice((".", "?", "!", "."))


def _turn(role: str, body: str) -> str:
    return f"<|im_start|>{role}\n{body}<|im_end|>\n"


def _tool_schema(name: str, params: tuple[str, ...]) -> str:
    schema = {
        "type": "function",
        "function": {
            "name": name,
            "description": f"The {name} tool.",
            "parameters": {
                "type": "object",
                "properties": {p: {"type": "integer"} for p in params},
                "required": list(params),
            },
        },
    }
    return json.dumps(schema)


def _arithmetic_episode(rng: random.Random) -> str:
    symbol, tool, fn = rng.choice(_OPS_ALL)
    a, b = rng.randint(0, 999), rng.randint(0, 999)
    call = json.dumps({"name": tool, "arguments": {"a": a, "b": b}})
    tools = "\n".join(_tool_schema(n, p) for n, p in rng.sample(_TOOLS, 3))
    return (
        _turn("system", f"You are a helpful assistant.\n\n# Tools\n\n<tools>\n{tools}\n</tools>")
        + _turn("user", f"What is {a} {symbol} {b}?")
        + _turn(
            "assistant",
            f"<think>\nI should call {tool}.\n</think>\n\n<tool_call>\n{call}\n</tool_call>",
        )
        + _turn("user", f"<tool_response>\n{fn(a, b)}\n</tool_response>")
        + _turn("assistant", f"<think>\n\n</think>\n\nThe answer is {fn(a, b)}.")
    )


def _chat_episode(rng: random.Random) -> str:
    turns = [_turn("system", _sentence(rng, rng.randint(3, 8)))]
    for _ in range(rng.randint(1, 3)):
        turns.append(_turn("user", _sentence(rng, rng.randint(3, 12))))
        reasoning = _sentence(rng, rng.randint(2, 10))
        turns.append(_turn("assistant", f"<think>\n{reasoning}\n</think>\n\n{_sentence(rng, 8)}"))
    return "".join(turns)


def _mental_math(rng: random.Random) -> str:
    symbol, _, fn = rng.choice(_OPS)
    a, b = rng.randint(0, 99), rng.randint(0, 99)
    return f"{a} {symbol} {b} = {fn(a, b)}\n{a}{symbol}{b}={fn(a, b)}"


def default_corpus(size: int = 3000, *, seed: int = 0) -> list[str]:
    """``size`` synthetic documents (chat episodes, tool calls, arithmetic, English words)."""
    rng = random.Random(seed)
    makers = (_arithmetic_episode, _chat_episode, _mental_math)
    return [makers[i % len(makers)](rng) for i in range(size)]
