"""The messages ``create_react_agent`` sends: the conversation (or what a
``pre_model_hook`` put in ``llm_input_messages``) after the agent's prompt, or what a prompt
function or LangChain runnable makes of the state."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

from pydantic import BaseModel

from hone.graph._context import get_config, get_runtime, get_store, get_stream_writer
from hone.graph._nodes import Callee
from hone.graph.prebuilt._react_state import state_value
from hone.interop._messages import from_langchain, is_langchain_message
from hone.messages import AnyMessage, SystemMessage, to_message

__all__ = ["Prompt", "as_hone", "prompt_messages"]

#: A system prompt (text, or a hone or LangChain system message), or a function of the
#: state (sync or async; it may also take ``config``, ``store``, ``runtime`` or ``writer``,
#: as a graph node does) or a LangChain runnable returning the messages to send.
Prompt: TypeAlias = str | SystemMessage | Callable[..., Any] | Any


def as_hone(values: Sequence[Any]) -> list[AnyMessage]:
    """Messages of either family (or message-like values) as hone's."""
    return [from_langchain(v) if is_langchain_message(v) else to_message(v) for v in values]


def _with_messages(state: Any, messages: list[Any]) -> Any:
    """A copy of ``state`` whose ``messages`` are ``messages``."""
    if isinstance(state, BaseModel):
        return state.model_copy(update={"messages": messages})
    return {**state, "messages": messages}


async def _made(prompt: Any, state: Any) -> list[Any]:
    """What a prompt function or runnable returns for ``state``, as a list of messages (a
    returned runnable, such as a ``ChatPromptTemplate``, is run on the state, as LangGraph
    does; a prompt value gives its messages)."""
    made = await Callee.of(prompt, "Prompt").acall(
        state,
        get_config(),
        {
            "config": get_config(),
            "store": get_store(),
            "runtime": get_runtime(),
            "writer": get_stream_writer(),
        },
    )
    if inspect.isawaitable(made):
        made = await made
    if hasattr(made, "ainvoke") and not is_langchain_message(made):
        made = await made.ainvoke(state)
    if hasattr(made, "to_messages"):
        made = made.to_messages()
    return list(made)


async def prompt_messages(prompt: Prompt | None, state: Any, *, hooked: bool) -> list[AnyMessage]:
    """The messages of the model's request for ``state``.

    After a ``pre_model_hook`` the model sees what it put in ``llm_input_messages`` (a
    prompt function gets the state with those as its ``messages``, as in LangGraph); the
    history stays whole.
    """
    source = state_value(state, "llm_input_messages") if hooked else None
    messages = list(source if source else state_value(state, "messages", []))
    if prompt is None:
        return as_hone(messages)
    if isinstance(prompt, str):
        return [SystemMessage(content=prompt), *as_hone(messages)]
    if isinstance(prompt, SystemMessage) or is_langchain_message(prompt):
        return as_hone([prompt, *messages])
    return as_hone(await _made(prompt, _with_messages(state, messages) if source else state))
