"""RetryPolicy: one class for nodes and tools, with LangGraph's fields, backoff and validation."""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from hone.errors import ConfigError
from hone.tools import RetryPolicy


def test_graph_and_tools_export_the_same_class() -> None:
    import hone.graph

    assert hone.graph.RetryPolicy is RetryPolicy


def test_fields_and_defaults_are_langgraphs() -> None:
    from langgraph.types import RetryPolicy as LangGraphRetryPolicy

    ours = {f.name: f.default for f in dataclasses.fields(RetryPolicy)}
    theirs = LangGraphRetryPolicy._field_defaults
    assert list(ours) == list(theirs)
    assert {k: v for k, v in ours.items() if k != "retry_on"} == {
        k: v for k, v in theirs.items() if k != "retry_on"
    }


def test_positional_arguments_follow_langgraphs_order() -> None:
    policy = RetryPolicy(0.1, 3.0, 5.0, 4, False)
    assert (policy.initial_interval, policy.backoff_factor, policy.max_interval) == (0.1, 3.0, 5.0)
    assert (policy.max_attempts, policy.jitter) == (4, False)


def test_exponential_backoff_is_capped() -> None:
    policy = RetryPolicy(
        max_attempts=5, initial_interval=0.1, backoff_factor=3.0, max_interval=0.5, jitter=False
    )
    assert [round(policy.delay(n), 6) for n in (1, 2, 3, 4)] == [0.1, 0.3, 0.5, 0.5]


def test_jitter_adds_up_to_one_second() -> None:
    policy = RetryPolicy(initial_interval=1.0, backoff_factor=1.0)
    delays = {policy.delay(1) for _ in range(50)}
    assert all(1.0 <= d <= 2.0 for d in delays)
    assert len(delays) > 1


def test_should_retry_respects_attempts_and_types() -> None:
    policy = RetryPolicy(max_attempts=2, retry_on=(ConnectionError,))
    assert policy.should_retry(ConnectionError(), 1)
    assert not policy.should_retry(ConnectionError(), 2)
    assert not policy.should_retry(ValueError(), 1)


def test_retry_on_takes_a_type_a_sequence_or_a_predicate() -> None:
    assert RetryPolicy(retry_on=KeyError).matches(KeyError())
    assert RetryPolicy(retry_on=[KeyError, OSError]).matches(OSError())
    assert not RetryPolicy(retry_on=lambda exc: "again" in str(exc)).matches(ValueError("no"))


def test_default_retries_connection_failures_and_5xx_only() -> None:
    policy = RetryPolicy()
    request = httpx.Request("GET", "http://x")

    def status(code: int) -> httpx.HTTPStatusError:
        response = httpx.Response(code, request=request)
        return httpx.HTTPStatusError("bad", request=request, response=response)

    assert policy.matches(ConnectionResetError())
    assert policy.matches(status(503)) and not policy.matches(status(404))
    assert not policy.matches(ValueError()) and not policy.matches(TimeoutError())


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"max_attempts": 0}, "at least 1"),
        ({"initial_interval": -1}, "initial_interval >= 0"),
        ({"backoff_factor": 0}, "backoff_factor > 0"),
        ({"retry_on": "ValueError"}, "retry_on must be"),
        ({"retry_on": [ValueError, 3]}, "retry_on must be"),
    ],
)
def test_bad_values_raise(kwargs: dict[str, object], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_one_policy_serves_a_node_and_the_tools_of_a_tool_node() -> None:
    from hone.graph import END, START, MessagesState, StateGraph
    from hone.graph.prebuilt import ToolNode
    from hone.messages import AssistantMessage, ToolCall
    from hone.tools import tool

    policy = RetryPolicy(max_attempts=3, initial_interval=0.0, jitter=False, retry_on=OSError)
    attempts = {"node": 0, "tool": 0}

    def flaky_node(state: MessagesState) -> dict[str, object]:
        attempts["node"] += 1
        if attempts["node"] < 2:
            raise OSError("node hiccup")
        call = ToolCall(id="c1", name="lookup", arguments={})
        return {"messages": [AssistantMessage(tool_calls=(call,))]}

    @tool(retry=policy)
    def lookup() -> str:
        """Look something up."""
        attempts["tool"] += 1
        if attempts["tool"] < 3:
            raise OSError("tool hiccup")
        return "found"

    graph = (
        StateGraph(MessagesState)
        .add_node("ask", flaky_node, retry_policy=policy)
        .add_node("tools", ToolNode([lookup]))
        .add_edge(START, "ask")
        .add_edge("ask", "tools")
        .add_edge("tools", END)
        .compile()
    )
    out = graph.invoke({"messages": [("user", "go")]})
    assert out["messages"][-1].text == "found"
    assert attempts == {"node": 2, "tool": 3}
