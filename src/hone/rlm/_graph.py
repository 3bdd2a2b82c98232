"""The RLM as a compiled graph: one node, ``rlm``, that runs :func:`~hone.rlm.arun_rlm` on
the state's context and question.

::

    START ─► rlm ─► END

A graph gives what graphs give: a checkpointer (each run's answer, stop reason, transcript
and usage saved on the thread), streaming (``stream_mode="messages"`` streams the root
model's tokens; ``"custom"`` yields one ``{"rlm": {...}}`` event per code block), use as a
node or subgraph of a bigger graph, and rollouts through
:func:`~hone.trajectory.graph_program` with ``roles=roles_of(graph)``. A run is one
checkpoint step: the sandbox session that holds the context's variables lives only while
the run does, so a resumed run starts again rather than continuing without them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

from hone.graph import END, START, StateGraph
from hone.interop._model import ModelLike, resolve_model
from hone.messages import AnyMessage
from hone.rlm._api import arun_rlm, check_input
from hone.rlm._config import RLMConfig
from hone.rlm._result import RLMStopReason, RLMUsage
from hone.rlm._roles import rlm_roles
from hone.sandbox import Sandbox

if TYPE_CHECKING:
    from hone.checkpoint import Checkpointer
    from hone.graph import CompiledGraph

__all__ = ["RLMState", "create_rlm_agent"]


class RLMState(TypedDict):
    """The state of :func:`create_rlm_agent`: invoke with ``{"context": ..., "question":
    ...}`` and read ``answer``.

    Attributes:
        context: the long input (a str, or a list or dict of JSON values).
        question: what to answer about it.
        answer: ``answer["content"]`` as the run's code left it.
        ready: whether the code marked the answer ready.
        stop_reason: why the run stopped (:data:`~hone.rlm.RLMStopReason`).
        transcript: the root model's conversation.
        usage: what the run spent (:class:`~hone.rlm.RLMUsage`).
    """

    context: Any
    question: str
    answer: NotRequired[Any]
    ready: NotRequired[bool]
    stop_reason: NotRequired[RLMStopReason]
    transcript: NotRequired[list[AnyMessage]]
    usage: NotRequired[RLMUsage]


def create_rlm_agent(
    model: ModelLike | None = None,
    *,
    sub_model: ModelLike | None = None,
    config: RLMConfig | None = None,
    sandbox: Sandbox | None = None,
    checkpointer: Checkpointer | None = None,
    name: str = "rlm",
) -> CompiledGraph:
    """A compiled RLM graph (state :class:`RLMState`): ``invoke({"context": text,
    "question": q})`` returns the state with ``answer``, ``ready``, ``stop_reason``,
    ``transcript`` and ``usage``.

    Its node carries the roles it calls in its metadata, so ``roles_of(graph)`` gives what a
    rollout needs to record one episode per role. Arguments as :func:`~hone.rlm.arun_rlm`;
    ``checkpointer`` saves each run on its thread, ``name`` names the graph.
    """
    config = config or RLMConfig()
    root = None if model is None else resolve_model(model)
    sub = None if sub_model is None else resolve_model(sub_model)

    async def rlm(state: RLMState) -> dict[str, Any]:
        context, question = state.get("context"), state.get("question")
        check_input(context, question)
        result = await arun_rlm(
            root, context, str(question), sub_model=sub, config=config, sandbox=sandbox
        )
        return {
            "answer": result.answer,
            "ready": result.ready,
            "stop_reason": result.stop_reason,
            "transcript": list(result.messages),
            "usage": result.usage,
        }

    graph = StateGraph(RLMState)
    # hone.agents.roles_of reads a node's roles from its metadata.
    graph.add_node("rlm", rlm, metadata={"roles": list(rlm_roles(config.max_depth))})
    graph.add_edge(START, "rlm")
    graph.add_edge("rlm", END)
    return graph.compile(checkpointer, name=name)
