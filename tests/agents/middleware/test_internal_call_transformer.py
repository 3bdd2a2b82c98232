"""A middleware's own model calls stay out of ``run.messages`` when marked, as in
LangChain."""

from typing import Any

import pytest

from hone.agents import create_agent
from hone.agents.middleware import (
    AgentMiddleware,
    InternalCallTransformer,
    internal_call_metadata,
)

lc_models = pytest.importorskip("langchain_core.language_models.fake_chat_models")
lc_messages = pytest.importorskip("langchain_core.messages")
lc_agents = pytest.importorskip("langchain.agents")
lc_middleware = pytest.importorskip("langchain.agents.middleware")
lc_internal = pytest.importorskip("langchain.agents.middleware.internal_call_transformer")


def _texts(create: Any, base: Any, transformer: Any, mark: Any, *, marked: bool) -> list[str]:
    side = lc_models.GenericFakeChatModel(messages=iter([lc_messages.AIMessage("side talk")]))

    class Checker(base):  # type: ignore[misc, valid-type]
        """Calls a side model before each model call."""

        transformers = (transformer,)

        def wrap_model_call(self, request: Any, handler: Any) -> Any:
            side.invoke(
                [lc_messages.HumanMessage("check")], config={"metadata": mark() if marked else {}}
            )
            return handler(request)

    model = lc_models.GenericFakeChatModel(messages=iter([lc_messages.AIMessage("the answer")]))
    agent = create(model, tools=[], middleware=[Checker()])
    run = agent.stream_events({"messages": [lc_messages.HumanMessage("hi")]}, version="v3")
    return ["".join(m.text) for m in run.messages]


@pytest.mark.parametrize("marked", [True, False])
def test_marked_calls_are_left_out_as_in_langchain(marked: bool) -> None:
    ours = _texts(
        create_agent,
        AgentMiddleware,
        InternalCallTransformer,
        internal_call_metadata,
        marked=marked,
    )
    theirs = _texts(
        lc_agents.create_agent,
        lc_middleware.AgentMiddleware,
        lc_internal.InternalCallTransformer,
        lc_internal.internal_call_metadata,
        marked=marked,
    )
    assert ours == theirs == (["the answer"] if marked else ["side talk", "the answer"])


def test_user_metadata_cannot_hide_a_call() -> None:
    spoof = {"lc_internal_call": "guess"}
    assert internal_call_metadata() != spoof
    assert _texts(
        create_agent, AgentMiddleware, InternalCallTransformer, lambda: spoof, marked=True
    ) == [
        "side talk",
        "the answer",
    ]
