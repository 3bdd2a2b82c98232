"""``run.subagents``: a named agent called from a tool shows as a handle with its name and
the tool call that started it; unnamed child runs do not."""

import asyncio
from typing import Any

from hone.agents import create_agent
from hone.agents._subagent_stream import AsyncSubagentRunStream, SubagentRunStream
from hone.messages import AssistantMessage, ToolCall
from hone.models import ScriptedModel
from hone.tools import tool


def _boss(inner_name: str | None, boss_name: str | None = "boss") -> Any:
    inner = create_agent(ScriptedModel(["inner answer"], when_exhausted="cycle"), name=inner_name)

    @tool
    def research(question: str) -> str:
        """Ask the researcher."""
        return str(inner.invoke({"messages": [("user", question)]})["messages"][-1].content)

    call = AssistantMessage(
        content="", tool_calls=[ToolCall(id="call-7", name="research", arguments={"question": "q"})]
    )
    return create_agent(ScriptedModel([call, "done"]), tools=[research], name=boss_name)


def test_a_named_agent_called_from_a_tool_is_a_subagent() -> None:
    run = _boss("researcher").stream_events({"messages": [("user", "go")]}, version="v3")
    seen = []
    for handle in run.subagents:
        assert isinstance(handle, SubagentRunStream)
        seen.append((handle.name, handle.cause, [v["messages"][-1].content for v in handle.values]))
    assert seen == [
        ("researcher", {"type": "toolCall", "tool_call_id": "call-7"}, ["inner answer"])
    ]
    assert run.output["messages"][-1].content == "done"


def test_unnamed_runs_are_not_subagents() -> None:
    # A run inside a tool inherits its caller's name (as in LangChain): only when neither
    # agent is named is there no subagent.
    run = _boss(None, None).stream_events({"messages": [("user", "go")]}, version="v3")
    assert list(run.subagents) == []
    named_after_caller = _boss(None).stream_events({"messages": [("user", "go")]}, version="v3")
    assert [h.name for h in named_after_caller.subagents] == ["boss"]


def test_async_subagent_handles() -> None:
    async def main() -> list[Any]:
        run = await _boss("researcher").astream_events({"messages": [("user", "go")]}, version="v3")
        out = []
        async for handle in run.subagents:
            assert isinstance(handle, AsyncSubagentRunStream)
            values = [v async for v in handle.values]
            out.append((handle.name, len(values) > 0, handle.status))
        return out

    assert asyncio.run(main()) == [("researcher", True, "completed")]
