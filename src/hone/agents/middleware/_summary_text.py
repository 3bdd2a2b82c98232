"""The text side of :class:`~hone.agents.middleware.SummarizationMiddleware`: counting a
conversation's tokens (hone's approximate counters, and when to trust the token count a
provider reported), and the prompt and XML transcript the summary model reads.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

from hone.agents.middleware._side_model import kind_of
from hone.interop._model import is_langchain_chat_model
from hone.memory import ApproximateCounter
from hone.memory._trim import as_hone
from hone.messages import AssistantMessage, ImagePart, TextPart

__all__ = [
    "DEFAULT_SUMMARY_PROMPT",
    "TokenCounter",
    "count_approximately",
    "default_counter",
    "provider_matches",
    "transcript",
]

#: A function counting the tokens of a list of messages.
TokenCounter: TypeAlias = Callable[[Sequence[Any]], int]

#: The default instruction of the summary call; ``{messages}`` is replaced with the
#: conversation to summarise (inside the ``<messages>`` block).
DEFAULT_SUMMARY_PROMPT = """<role>
Conversation context keeper
</role>

<task>
The conversation below is about to be removed from your context window, which is nearly
full. Write the context that will replace it: everything you need to keep working toward the
user's goal without redoing finished work, and nothing else.

Organise it under these headings; under each, write the relevant facts or "None":

## SESSION INTENT
What the user wants overall, in a few sentences.

## SUMMARY
The important context: decisions and why they were made, conclusions, approaches that were
rejected and why, facts and figures established so far.

## ARTIFACTS
Files, resources and other artifacts created, changed or read, with paths and what changed.

## NEXT STEPS
What remains to be done, and what to do next.
</task>

Reply with the extracted context only, with no text before or after it.

<messages>
Messages to summarize:
{messages}
</messages>"""

#: Providers whose messages name themselves differently from the chat model's
#: ``ls_provider`` (the key): a reported token count is trusted when either name matches.
_PROVIDER_ALIASES: dict[str, frozenset[str]] = {
    "amazon_bedrock": frozenset({"bedrock", "bedrock_converse"}),
    "openai-mantle": frozenset({"openai"}),
    "anthropic-mantle": frozenset({"anthropic"}),
}


def provider_matches(message_provider: str, model_provider: str | None) -> bool:
    """Whether a message's ``model_provider`` is the chat model's ``ls_provider`` (or an
    alias of it)."""
    if model_provider is None:
        return False
    return message_provider == model_provider or message_provider in _PROVIDER_ALIASES.get(
        model_provider, frozenset()
    )


def count_approximately(messages: Sequence[Any]) -> int:
    """The approximate token count of ``messages`` (hone's or LangChain's)."""
    return ApproximateCounter().count(as_hone(list(messages)))


def _count_for_claude(messages: Sequence[Any]) -> int:
    """The approximate token count of ``messages`` for Anthropic's tokenizer."""
    return ApproximateCounter(chars_per_token=3.3).count(as_hone(list(messages)))


def default_counter(model: Any) -> TokenCounter:
    """The approximate counter for ``model``'s tokenizer: about 3.3 characters a token for
    Anthropic's chat models (measured against their token-counting API), 4 otherwise."""
    if is_langchain_chat_model(model) and str(getattr(model, "_llm_type", "")).startswith(
        "anthropic-chat"
    ):
        return _count_for_claude
    return count_approximately


def _message_tag(message: Any) -> str:
    """The ``type`` a message has in the transcript: human, ai, tool or system."""
    kind = kind_of(message)
    return {"user": "human", "ai": "ai", "tool": "tool", "system": "system"}.get(
        kind or "", str(getattr(message, "type", getattr(message, "role", "message")))
    )


def _content_text(content: Any) -> str:
    """A message's content as transcript text: its text parts, and each image given by URL
    as an ``<image url="..." />`` element (inline data is left out)."""
    if isinstance(content, str):
        return content
    pieces = []
    for part in content:
        if isinstance(part, TextPart):
            pieces.append(part.text)
        elif isinstance(part, ImagePart) and not part.image_url.url.startswith("data:"):
            pieces.append(f'<image url="{html.escape(part.image_url.url)}" />')
    return " ".join(pieces)


def transcript(messages: Sequence[Any]) -> str:
    """``messages`` as the XML transcript the summary model reads: one ``<message
    type="human|ai|tool|system">`` element each, tool calls as ``<tool_call>`` elements
    (their arguments as JSON). Message metadata is left out: it would cost tokens and say
    nothing about the conversation."""
    lines = []
    for message, twin in zip(messages, as_hone(list(messages)), strict=True):
        tag = _message_tag(message)
        text = _content_text(twin.content)
        calls = twin.tool_calls if isinstance(twin, AssistantMessage) else ()
        if not calls:
            lines.append(f'<message type="{tag}">{text}</message>')
            continue
        body = [f'<message type="{tag}">']
        if text:
            body.append(f"  <content>{text}</content>")
        for call in calls:
            arguments = json.dumps(call.arguments)
            body.append(
                f'  <tool_call id="{html.escape(call.id)}" name="{html.escape(call.name)}">'
                f"{arguments}</tool_call>"
            )
        body.append("</message>")
        lines.append("\n".join(body))
    return "\n".join(lines)
