"""``create_agent``'s stream transformers: its own (``run.tool_calls``, ``run.subagents``),
its middleware's (each once), then the call's; and what they give on an agent run."""

from typing import Any

from hone.agents import create_agent
from hone.agents.middleware import AgentMiddleware
from hone.graph.streaming import StreamChannel, StreamTransformer, ToolCallTransformer
from hone.messages import AssistantMessage, ToolCall
from hone.models import ScriptedModel
from hone.tools import tool


class Counter(StreamTransformer):
    """Counts the ``updates`` events of the run."""

    required_stream_modes = ("updates",)

    def __init__(self, scope: tuple[str, ...] = ()) -> None:
        super().__init__(scope)
        self.count: StreamChannel[int] = StreamChannel()
        self.n = 0

    def init(self) -> dict[str, Any]:
        return {"count": self.count}

    def process(self, event: Any) -> bool:
        if event["method"] == "updates" and not event["params"]["namespace"]:
            self.n += 1
            self.count.push(self.n)
        return True


class Uses(AgentMiddleware):
    """A middleware declaring the counter."""

    transformers = (Counter,)


class AlsoUses(AgentMiddleware):
    """Another middleware declaring the same counter."""

    transformers = (Counter,)


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def _agent(**kwargs: Any) -> Any:
    call = AssistantMessage(
        content="", tool_calls=[ToolCall(id="c1", name="add", arguments={"a": 1, "b": 2})]
    )
    return create_agent(ScriptedModel([call, "3"]), tools=[add], **kwargs)


def test_the_agents_transformers_in_order_each_once() -> None:
    agent = _agent(middleware=[Uses(), AlsoUses()], transformers=[Counter])
    names = [getattr(t, "__name__", repr(t)) for t in agent.stream_transformers]
    assert names == ["ToolCallTransformer", "SubagentTransformer", "Counter"]
    assert agent.stream_transformers[0] is ToolCallTransformer


def test_an_agent_run_read_through_its_projections() -> None:
    run = _agent(middleware=[Uses()]).stream_events({"messages": [("user", "1+2")]}, version="v3")
    seen = list(run.interleave("tool_calls", "count"))
    assert [(c.tool_name, c.input) for name, c in seen if name == "tool_calls"] == [
        ("add", {"a": 1, "b": 2})
    ]
    # model, tools, model: three updates, counted as they came.
    assert [n for name, n in seen if name == "count"] == [1, 2, 3]
    assert run.output["messages"][-1].content == "3"
