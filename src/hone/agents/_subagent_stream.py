"""``run.subagents``: the named agents an agent runs, as handles of event streaming.

``create_agent`` adds :class:`SubagentTransformer`. A child run whose tasks carry an
``lc_agent_name`` (``create_agent(name=...)`` sets it, so a named agent called from a tool
is one) gets a :class:`SubagentRunStream`: a subgraph handle (``values``, ``messages``,
``tool_calls``, ``status``...) with the agent's ``name`` and the ``cause``, the tool call that
started it when that can be told. Unnamed child runs are left to ``run.subgraphs``.
"""

from __future__ import annotations

from typing import Any

from hone.graph.streaming import (
    AsyncSubgraphRunStream,
    LifecycleCause,
    StreamMux,
    SubgraphRunStream,
    SubgraphTransformer,
)

__all__ = ["AsyncSubagentRunStream", "SubagentRunStream", "SubagentTransformer"]


class _Named:
    graph_name: str | None
    _cause: LifecycleCause | None

    @property
    def name(self) -> str | None:
        """The agent's name (its ``lc_agent_name``)."""
        return self.graph_name

    @property
    def cause(self) -> LifecycleCause | None:
        """``{"type": "toolCall", "tool_call_id": ...}``: the call that started it, or None."""
        return self._cause


class SubagentRunStream(_Named, SubgraphRunStream):
    """A named agent run inside a sync v3 run."""

    def __init__(self, mux: StreamMux, *, cause: LifecycleCause | None = None, **kw: Any) -> None:
        super().__init__(mux, **kw)
        self._cause = cause


class AsyncSubagentRunStream(_Named, AsyncSubgraphRunStream):
    """A named agent run inside an async v3 run."""

    def __init__(self, mux: StreamMux, *, cause: LifecycleCause | None = None, **kw: Any) -> None:
        super().__init__(mux, **kw)
        self._cause = cause


class SubagentTransformer(SubgraphTransformer):
    """Builds ``run.subagents`` (see the module doc)."""

    def init(self) -> dict[str, Any]:
        return {"subagents": self._log}

    def _wants(self, ns: tuple[str, ...]) -> bool:
        return self._lc_by_ns.get(ns) is not None

    _handle_classes = (SubagentRunStream, AsyncSubagentRunStream)

    def _handle_kwargs(self) -> dict[str, Any]:
        return {"cause": self._pending_cause}
