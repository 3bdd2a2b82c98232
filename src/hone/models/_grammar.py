"""Constraints on the next token: grammars compiled by llguidance, and two simple token rules.

Every constraint fills a *token bitmask* for its row before each sampling step (one bit per
token id, packed into int32 words, the layout llguidance, xgrammar and vLLM share) and is told
which token was sampled. The token loop (``_transformers_loop``) sets the logits of disallowed
tokens to ``-inf`` before sampling; it knows nothing about grammars.

Grammars are llguidance's Lark dialect with inline JSON schemas (``%json {...}``). Why
llguidance and not xgrammar or outlines-core is measured in ``docs/structured_output.md``
(``python -m bench grammar_engines``). llguidance is imported only when a grammar is needed:
it is the ``structured`` extra.

The builders here turn a reply's required shape into a grammar for Hermes/Qwen-style models:

* a JSON reply (``response_format``): exactly one JSON value matching the schema;
* tool calls (``tool_choice`` "required" or a named function): one or more
  ``<tool_call>\\n{"name": ..., "arguments": {...}}\\n</tool_call>`` blocks whose arguments
  match each tool's parameter schema;
* an optional reasoning block first, when the model is thinking (see :class:`Tags`).

JSON is written with ``", "`` and ``": "`` separators and no other whitespace (as
``json.dumps`` writes it, and as the tiny model's template renders tool calls): a fixed layout
leaves an untrained or weak model no room to ramble in whitespace.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import torch

from hone.errors import CapabilityError
from hone.models._structured import (
    JsonSchemaFormat,
    OutputFormat,
    ToolRequirement,
)

__all__ = [
    "BannedTokens",
    "EndAfterToken",
    "Grammar",
    "GrammarEngine",
    "GrammarMatcher",
    "Tags",
    "TokenConstraint",
    "apply_bitmask",
    "bitmask_words",
    "reply_grammar",
]

logger = logging.getLogger(__name__)

#: How JSON inside every grammar is laid out (llguidance's JSON compile options).
JSON_LAYOUT: dict[str, Any] = {
    "whitespace_flexible": False,
    "item_separator": ", ",
    "key_separator": ": ",
}
_CACHE_SIZE = 64


class TokenConstraint(Protocol):
    """A per-row rule on which token may come next."""

    def fill_bitmask(self, out: torch.Tensor) -> None:
        """Write the allowed next tokens into ``out``: (⌈V/32⌉,) int32, on CPU, all ones."""
        ...

    def accept(self, token: int) -> bool:
        """Take the sampled token; False when the rule cannot follow it (it then stops)."""
        ...


def bitmask_words(vocab_size: int) -> int:
    """int32 words of a token bitmask over ``vocab_size`` ids."""
    return (vocab_size + 31) // 32


def apply_bitmask(logits: torch.Tensor, bitmask: torch.Tensor) -> torch.Tensor:
    """``logits`` with disallowed tokens at ``-inf``. logits: (N, V); bitmask: (N, ⌈V/32⌉)."""
    rows, vocab = logits.shape
    bits = torch.arange(32, dtype=torch.int32)
    allowed = ((bitmask.unsqueeze(-1) >> bits) & 1).bool().reshape(rows, -1)[:, :vocab]  # (N, V)
    return logits.masked_fill(~allowed.to(logits.device), float("-inf"))


def _set_bit(out: torch.Tensor, token: int, value: bool) -> None:
    word, bit = divmod(token, 32)
    if word >= out.shape[0]:
        return
    flag = (1 << bit) - (1 << 32 if bit == 31 else 0)  # the bit as a signed int32
    current = int(out[word])
    out[word] = (current | flag) if value else (current & ~flag)


class BannedTokens:
    """Every token but some (``tool_choice="none"`` bans the tool-call opening tag)."""

    def __init__(self, banned: Sequence[int]) -> None:
        self._banned = tuple(banned)

    def fill_bitmask(self, out: torch.Tensor) -> None:
        """Allow everything except the banned ids."""
        for token in self._banned:
            _set_bit(out, token, False)

    def accept(self, token: int) -> bool:
        """Any token is fine (banned ones were masked)."""
        return token not in self._banned


class EndAfterToken:
    """Anything until ``token``; after it only an end-of-turn token (one tool call per turn)."""

    def __init__(self, token: int, end_of_turn: Sequence[int]) -> None:
        self._token, self._ends, self._seen = token, tuple(end_of_turn), False

    def fill_bitmask(self, out: torch.Tensor) -> None:
        """All tokens, or only the end-of-turn tokens once ``token`` was sampled."""
        if not self._seen:
            return
        out.zero_()
        for end in self._ends:
            _set_bit(out, end, True)

    def accept(self, token: int) -> bool:
        """Note the token; after the closing one only ends are fine."""
        if self._seen:
            return token in self._ends
        self._seen = token == self._token
        return True


@dataclass(frozen=True, slots=True)
class Grammar:
    """A grammar in llguidance's Lark dialect (``%json {...}`` embeds a JSON schema)."""

    lark: str

    @classmethod
    def from_json_schema(cls, schema: Mapping[str, Any]) -> Grammar:
        """Exactly one JSON value matching ``schema``, laid out as :data:`JSON_LAYOUT`."""
        return cls(f"start: {_json_rule(schema)}\n")


@dataclass(frozen=True, slots=True)
class Tags:
    """Single-token markup of the model's output format, and where the prompt leaves it.

    A tag that is not one token in this tokenizer is None (its text is used instead).
    """

    think_open: int | None = None
    think_close: int | None = None
    call_open: int | None = None
    call_close: int | None = None
    #: The prompt ends inside an open reasoning block: the reply first closes it.
    in_think: bool = False
    #: The model may open a reasoning block before the constrained part.
    may_think: bool = False


def reply_grammar(
    fmt: OutputFormat,
    requirement: ToolRequirement,
    tools: Sequence[Mapping[str, Any]],
    tags: Tags,
) -> Grammar | None:
    """The grammar a reply must follow, or None when the reply is free.

    Tool calls are constrained when they are required (or named); a JSON format constrains
    the answer, and with tools on "auto" the reply is either that answer or tool calls.
    """
    calls = _calls_rule(requirement, tools, tags) if tools else None
    if requirement.must_call and calls is not None:
        body = "calls"
    elif fmt is not None:
        body = "answer | calls" if calls is not None and requirement.mode == "auto" else "answer"
    else:
        return None
    rules = [f"start: {_prefix(tags)}body", f"body: {body}"]
    if fmt is not None:
        schema = fmt.schema if isinstance(fmt, JsonSchemaFormat) else {"type": "object"}
        rules.append(f"answer: {_json_rule(schema)}")
    if calls is not None and "calls" in body:
        rules.extend(calls)
    rules.extend(_think_rules(tags))
    return Grammar("\n".join(rules) + "\n")


def _json_rule(schema: Mapping[str, Any]) -> str:
    options = {**JSON_LAYOUT, **dict(schema.get("x-guidance") or {})}
    return "%json " + json.dumps({**schema, "x-guidance": options}, ensure_ascii=False)


def _tag(token: int | None, text: str) -> str:
    return f"<[{token}]>" if token is not None else json.dumps(text)


def _prefix(tags: Tags) -> str:
    close = _tag(tags.think_close, "</think>")
    if tags.in_think:
        return f"THINK {close} GAP "
    if tags.may_think:
        return f"({_tag(tags.think_open, '<think>')} THINK {close} GAP)? "
    return ""


def _think_rules(tags: Tags) -> list[str]:
    if not (tags.in_think or tags.may_think):
        return []
    # Reasoning text cannot contain the closing tag's token (special tokens never match
    # text), so the block ends exactly where the model emits it.
    return ["THINK: /(?s:.*)/", "GAP: /[ \\t\\r\\n]{0,4}/"]


def _calls_rule(
    requirement: ToolRequirement, tools: Sequence[Mapping[str, Any]], tags: Tags
) -> list[str]:
    choices = []
    for tool in tools:
        function = tool.get("function", tool)
        name = function.get("name")
        if requirement.mode == "named" and name != requirement.name:
            continue
        parameters = function.get("parameters") or {"type": "object"}
        choices.append(
            {
                "type": "object",
                "properties": {"name": {"const": name}, "arguments": parameters},
                "required": ["name", "arguments"],
                "additionalProperties": False,
            }
        )
    schema = choices[0] if len(choices) == 1 else {"anyOf": choices}
    repeat = ' ("\\n" call)*' if requirement.parallel else ""
    open_, close = _tag(tags.call_open, "<tool_call>"), _tag(tags.call_close, "</tool_call>")
    return [
        f"calls: call{repeat}",
        f'call: {open_} "\\n" call_json "\\n" {close}',
        f"call_json: {_json_rule(schema)}",
    ]


class GrammarEngine:
    """llguidance for one tokenizer: compiles grammars into matchers (cached by grammar).

    Args:
        tokenizer: a fast Hugging Face tokenizer.
        vocab_size: rows of the model's logits (may exceed the tokenizer's length).
        end_of_turn: the ids that end a reply; the grammar allows them once it is complete.

    Raises:
        CapabilityError: llguidance is not installed, or the tokenizer is not a fast one.
    """

    def __init__(self, tokenizer: Any, *, vocab_size: int, end_of_turn: Sequence[int]) -> None:
        try:
            import llguidance.hf
        except ImportError as exc:
            raise CapabilityError(
                "constrained decoding (response_format, tool_choice) on local models needs "
                "llguidance: pip install 'hone[structured]'"
            ) from exc
        try:
            self._tokenizer = llguidance.hf.from_tokenizer(
                tokenizer, n_vocab=vocab_size, eos_token=sorted(end_of_turn)
            )
        except ValueError as exc:
            raise CapabilityError(f"cannot build a grammar tokenizer: {exc}") from exc
        self.vocab_size = vocab_size
        self._compiled: OrderedDict[str, Any] = OrderedDict()

    def matcher(self, grammar: Grammar) -> GrammarMatcher:
        """A fresh matcher at the start of ``grammar``.

        Raises:
            CapabilityError: the grammar (or a JSON schema inside it) cannot be compiled.
        """
        import llguidance

        base = self._compiled.get(grammar.lark)
        if base is None:
            source = llguidance.LLMatcher.grammar_from_lark(grammar.lark)
            base = llguidance.LLMatcher(self._tokenizer, source, log_level=0)
            if base.is_error():
                raise CapabilityError(f"the grammar cannot be compiled: {base.get_error()}")
            self._compiled[grammar.lark] = base
            if len(self._compiled) > _CACHE_SIZE:
                self._compiled.popitem(last=False)
        else:
            self._compiled.move_to_end(grammar.lark)
        return GrammarMatcher(base.deep_copy(), bitmask_words(self.vocab_size))


class GrammarMatcher:
    """Where one generation stands in its grammar (a :class:`TokenConstraint`)."""

    def __init__(self, matcher: Any, words: int) -> None:
        self._matcher, self._bytes = matcher, words * 4

    def fill_bitmask(self, out: torch.Tensor) -> None:
        """The tokens the grammar allows next (only end-of-turn ones once it is complete)."""
        if not out.is_contiguous() or out.numel() * 4 != self._bytes:
            raise ValueError(f"the bitmask row must be {self._bytes // 4} contiguous int32")
        self._matcher.unsafe_compute_mask_ptr(out.data_ptr(), self._bytes)

    def accept(self, token: int) -> bool:
        """Advance by the sampled token; False when the grammar does not allow it."""
        ok = bool(self._matcher.consume_token(token))
        if not ok:
            logger.warning("the grammar rejected token %d: %s", token, self._matcher.get_error())
        return ok

    @property
    def is_accepting(self) -> bool:
        """The text so far is a complete reply."""
        return bool(self._matcher.is_accepting())
