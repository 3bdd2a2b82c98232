"""Message helpers the multi-agent patterns share: one family per conversation, names on
replies, and the answer an agent's run ended with.

A graph's message list holds hone messages or LangChain messages, never both (see
``hone.graph.add_messages``). The patterns work on hone messages and hand back messages of
the family the conversation already has, so a program never sees a type it did not put in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from hone.interop import from_langchain, is_langchain_message, to_langchain
from hone.messages import AnyMessage, AssistantMessage, to_message

__all__ = ["answer_of", "as_hone", "in_family", "is_langchain_conversation", "named"]


def as_hone(values: Iterable[Any]) -> list[AnyMessage]:
    """The messages as hone messages (LangChain messages converted losslessly)."""
    return [from_langchain(v) if is_langchain_message(v) else to_message(v) for v in values]


def is_langchain_conversation(values: Sequence[Any]) -> bool:
    """Whether a conversation holds LangChain messages (the family new messages must take)."""
    return any(is_langchain_message(v) for v in values)


def in_family(messages: Iterable[AnyMessage], langchain: bool) -> list[Any]:
    """Hone messages in the conversation's family."""
    return [to_langchain(m) for m in messages] if langchain else list(messages)


def named(message: AnyMessage, name: str) -> AnyMessage:
    """An assistant message stamped with the agent's name (kept when it has one); other
    messages unchanged. Names say who spoke in a shared history."""
    if isinstance(message, AssistantMessage) and not message.name:
        return message.model_copy(update={"name": name})
    return message


def answer_of(messages: Sequence[AnyMessage]) -> AssistantMessage | None:
    """The last assistant message without tool calls: the answer a run ended with."""
    for message in reversed(messages):
        if isinstance(message, AssistantMessage) and not message.tool_calls:
            return message
    return None
