"""A middleware's ``trace_policy`` and the process-wide default of
``configure_trace_policy``: what its hook nodes record in traces."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.tracers import BaseTracer, Run

from hone.agents import create_agent
from hone.agents.middleware import (
    AgentMiddleware,
    AutoModeMiddleware,
    ModelRefusalMiddleware,
    ModelRouterMiddleware,
    ToolErrorMiddleware,
    TracePolicy,
    configure_trace_policy,
    omit_payload,
)
from hone.models import ScriptedModel


@pytest.fixture(autouse=True)
def _no_default() -> Iterator[None]:
    configure_trace_policy(None)
    yield
    configure_trace_policy(None)


class Inputs(BaseTracer):
    """What each chain run records as its input, by run name (the first of each name)."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs: dict[str, Any] = {}

    def _persist_run(self, run: Run) -> None:
        pass

    def _on_chain_start(self, run: Run) -> None:
        self.inputs.setdefault(run.name, run.inputs)


class Noop(AgentMiddleware[Any, Any, Any]):
    """A before_model hook and no trace policy of its own."""

    def before_model(self, state: Any, runtime: Any) -> None:
        return None


class Scrubbed(Noop):
    trace_policy = TracePolicy(process_inputs=omit_payload)


class OutputsOnly(Noop):
    trace_policy = TracePolicy(process_outputs=omit_payload)


def _recorded(agent: Any, node: str) -> Any:
    tracer = Inputs()
    out = agent.invoke({"messages": [("user", "hi")]}, {"callbacks": [tracer]})
    assert out["messages"][-1].content == "done"  # the policy never changes the run
    return tracer.inputs[node]


def _agent(middleware: AgentMiddleware[Any, Any, Any]) -> Any:
    return create_agent(ScriptedModel(["done"], when_exhausted="cycle"), middleware=[middleware])


def test_hooks_record_their_input_unless_a_policy_says_otherwise() -> None:
    recorded = _recorded(_agent(Noop()), "Noop.before_model")
    assert [m.content for m in recorded["messages"]] == ["hi"]
    assert _recorded(_agent(Scrubbed()), "Scrubbed.before_model") == {}


def test_the_default_applies_to_middleware_without_a_policy_even_built_before() -> None:
    agent = _agent(Noop())
    configure_trace_policy(TracePolicy(process_inputs=omit_payload))
    assert _recorded(agent, "Noop.before_model") == {}
    configure_trace_policy(None)
    assert "messages" in _recorded(agent, "Noop.before_model")


def test_a_middlewares_own_policy_replaces_the_default_whole() -> None:
    configure_trace_policy(TracePolicy(process_inputs=omit_payload))
    # its policy sets only process_outputs, so the default's input scrub does not apply
    assert "messages" in _recorded(_agent(OutputsOnly()), "OutputsOnly.before_model")


@pytest.mark.parametrize(
    "middleware",
    [AutoModeMiddleware, ModelRefusalMiddleware, ModelRouterMiddleware, ToolErrorMiddleware],
)
def test_built_in_middleware_that_sees_the_conversation_omits_it_as_langchains(
    middleware: type[AgentMiddleware[Any, Any, Any]],
) -> None:
    assert middleware.trace_policy == TracePolicy(process_inputs=omit_payload)
    assert AgentMiddleware.trace_policy is None
