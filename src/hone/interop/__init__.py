"""LangChain interoperability: LangChain's messages, chat models and tools work in hone.

hone's own message classes stay the canonical type of hone's backends and agent loop, and a
program keeps the message types it was given: LangChain messages stay LangChain messages in
graph state, reducers, checkpoints and tool nodes. Where the two families meet, conversion is
lossless both ways::

    from hone.interop import from_langchain, to_langchain

    assert to_langchain(from_langchain(ai_message)) == ai_message

:class:`LangChainModel` makes any LangChain chat model a hone model backend (``run_agent``,
``create_react_agent`` and graphs accept a LangChain chat model directly; they wrap it).
langchain-core is an optional extra (``pip install 'hone[langchain]'``); importing hone does
not import it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hone.interop._messages import from_langchain, is_langchain_message, to_langchain

if TYPE_CHECKING:
    from hone.interop._model import LangChainModel, resolve_model

__all__ = [
    "LangChainModel",
    "from_langchain",
    "is_langchain_message",
    "resolve_model",
    "to_langchain",
]


def __getattr__(name: str) -> Any:
    # The model adapter imports hone.models; loaded on first use to keep this package light.
    if name in ("LangChainModel", "resolve_model"):
        from hone.interop import _model

        return getattr(_model, name)
    raise AttributeError(f"module 'hone.interop' has no attribute {name!r}")
