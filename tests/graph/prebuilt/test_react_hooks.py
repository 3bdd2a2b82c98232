"""create_react_agent's post_model_hook, custom state, run context, dynamic model and
prompts; one program run on LangGraph and on hone."""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import pytest
from pydantic import BaseModel, Field

from hone.errors import ConfigError, ToolBindingError
from hone.graph import Runtime
from hone.graph.prebuilt import (
    AgentState,
    AgentStatePydantic,
    AgentStateWithStructuredResponse,
    create_react_agent,
)
from hone.messages import AssistantMessage, ToolCall, ToolMessage
from hone.models import ScriptedModel
from hone.tools import tool


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first addend.
        b: The second addend.
    """
    return a + b


CALLS = AssistantMessage(
    tool_calls=(
        ToolCall(id="c0", name="add", arguments={"a": 1, "b": 2}),
        ToolCall(id="c1", name="add", arguments={"a": 3, "b": 4}),
    )
)


class Flagged(AgentState):
    flag: bool


def test_the_post_hook_runs_after_every_model_turn() -> None:
    seen: list[int] = []

    def post(state: Any) -> dict[str, Any]:
        seen.append(len(state["messages"]))
        return {"flag": True}

    agent = create_react_agent(
        ScriptedModel([CALLS, "done"]), [add], post_model_hook=post, state_schema=Flagged
    )
    out = agent.invoke({"messages": [("user", "hi")], "flag": False})
    assert out["flag"] is True and seen == [2, 5]
    assert [m.role for m in out["messages"]] == ["user", "assistant", "tool", "tool", "assistant"]


def test_the_post_hook_may_answer_some_calls_and_the_rest_run() -> None:
    def answer_first(state: Any) -> dict[str, Any]:
        last = state["messages"][-1]
        if not last.tool_calls:
            return {}
        return {"messages": [ToolMessage(content="blocked", tool_call_id="c0")]}

    model = ScriptedModel([CALLS, "done"])
    agent = create_react_agent(model, [add], post_model_hook=answer_first)
    out = agent.invoke({"messages": [("user", "hi")]})
    tools = [(m.tool_call_id, m.text) for m in out["messages"] if m.role == "tool"]
    assert tools == [("c0", "blocked"), ("c1", "7")]
    assert model.calls == 2


def test_a_post_hook_that_answers_every_call_goes_back_to_the_model() -> None:
    def answer_all(state: Any) -> dict[str, Any]:
        calls = state["messages"][-1].tool_calls
        return {"messages": [ToolMessage(content="no", tool_call_id=c.id) for c in calls]}

    model = ScriptedModel([CALLS, "fine"])
    agent = create_react_agent(model, [add], post_model_hook=answer_all)
    out = agent.invoke({"messages": [("user", "hi")]})
    assert out["messages"][-1].text == "fine" and model.calls == 2


def test_the_post_hook_precedes_the_structured_answer() -> None:
    class Answer(BaseModel):
        value: int

    order: list[str] = []

    def post(state: Any) -> dict[str, Any]:
        order.append("post")
        return {}

    model = ScriptedModel(["seven", '{"value": 7}'])
    agent = create_react_agent(model, [add], post_model_hook=post, response_format=Answer)
    out = agent.invoke({"messages": [("user", "hi")]})
    assert out["structured_response"] == Answer(value=7) and order == ["post"]


def test_a_state_schema_must_have_the_agent_keys() -> None:
    class Bare(BaseModel):
        messages: list[Any]

    with pytest.raises(ConfigError, match="remaining_steps"):
        create_react_agent(ScriptedModel(["x"]), [add], state_schema=Bare)
    with pytest.raises(ConfigError, match="structured_response"):
        create_react_agent(
            ScriptedModel(["x"]), [add], state_schema=AgentState, response_format=BaseModel
        )
    create_react_agent(
        ScriptedModel(["x"]),
        [add],
        state_schema=AgentStateWithStructuredResponse,
        response_format={"type": "object", "title": "A", "properties": {}},
    )


def test_a_pydantic_state_with_a_pre_hook_and_a_prompt() -> None:
    class State(AgentStatePydantic):
        user: str = "nobody"

    def prompt(state: State) -> list[Any]:
        return [("system", f"User is {state.user}."), *state.messages]

    def trim(state: State) -> dict[str, Any]:
        return {"llm_input_messages": state.messages[-1:]}

    model = ScriptedModel([CALLS, "done"])
    agent = create_react_agent(model, [add], state_schema=State, prompt=prompt, pre_model_hook=trim)
    out = agent.invoke({"messages": [("user", "hi")], "user": "Ada"})
    assert out["user"] == "Ada" and "llm_input_messages" not in out
    last = model.requests[-1].messages
    assert [m.text for m in last] == ["User is Ada.", "7"]


async def test_an_async_prompt_reading_the_store() -> None:
    from hone.store import InMemoryStore

    store = InMemoryStore()
    store.put(("users",), "1", {"name": "Ada"})

    async def prompt(state: Any, *, store: Any) -> list[Any]:
        name = store.get(("users",), "1").value["name"]
        return [("system", f"Hi {name}"), *state["messages"]]

    model = ScriptedModel(["ok"])
    await create_react_agent(model, [add], prompt=prompt, store=store).ainvoke(
        {"messages": [("user", "hi")]}
    )
    assert model.requests[0].messages[0].text == "Hi Ada"


@dataclasses.dataclass
class Context:
    model: str


def test_a_dynamic_model_reads_the_state_and_the_context() -> None:
    fast, big = ScriptedModel(["fast"]), ScriptedModel(["big"])
    seen: list[int] = []

    def choose(state: Any, runtime: Runtime[Context]) -> Any:
        seen.append(len(state["messages"]))
        return big if runtime.context.model == "big" else fast

    agent = create_react_agent(choose, [add], context_schema=Context)
    out = agent.invoke({"messages": [("user", "hi")]}, context=Context(model="big"))
    assert out["messages"][-1].text == "big" and seen == [1] and fast.calls == 0


async def test_an_async_dynamic_model_also_makes_the_structured_answer() -> None:
    class Answer(BaseModel):
        value: int

    model = ScriptedModel(["seven", '{"value": 7}'])

    async def choose(state: Any, runtime: Runtime[Any]) -> Any:
        return model

    agent = create_react_agent(choose, [add], response_format=Answer)
    out = await agent.ainvoke({"messages": [("user", "hi")]})
    assert out["structured_response"] == Answer(value=7) and model.calls == 2


def test_a_dynamic_model_returning_no_model_is_refused() -> None:
    agent = create_react_agent(lambda state, runtime: 42, [add])
    with pytest.raises(ConfigError, match="not a model"):
        agent.invoke({"messages": [("user", "hi")]})


def _langchain_parts() -> tuple[Any, Any, Any]:
    chat_models = pytest.importorskip("langchain_core.language_models.chat_models")
    from langchain_core.messages import AIMessage
    from langchain_core.outputs import ChatGeneration, ChatResult

    class Scripted(chat_models.BaseChatModel):  # type: ignore[misc,name-defined]
        replies: list[Any]
        index: int = 0
        bound: list[str] = Field(default_factory=list)

        def _generate(
            self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any
        ) -> ChatResult:
            reply = self.replies[self.index]
            self.index += 1
            return ChatResult(generations=[ChatGeneration(message=reply)])

        @property
        def _llm_type(self) -> str:
            return "scripted"

        def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
            names = [t["function"]["name"] if isinstance(t, dict) else t.name for t in tools]
            self.bound.append(",".join(names))
            return self.bind(tools=[{"type": "function", "function": {"name": n}} for n in names])

    return Scripted, AIMessage, ToolMessage


def test_a_bound_model_is_offered_the_tools_it_binds() -> None:
    scripted, ai, _ = _langchain_parts()
    from langchain_core.tools import tool as lc_tool

    @lc_tool
    def sub(a: int, b: int) -> int:
        """Subtract."""
        return a - b

    @lc_tool
    def mul(a: int, b: int) -> int:
        """Multiply."""
        return a * b

    chat = scripted(replies=[ai("ok")])
    agent = create_react_agent(chat.bind_tools([sub, mul]), [sub, mul])
    agent.invoke({"messages": [("user", "hi")]})
    assert chat.bound == ["sub,mul", "sub,mul"]  # by the test, then by the agent
    # As LangGraph checks it: the agent's own model binds exactly the agent's tools.
    with pytest.raises(ToolBindingError, match="does not have: mul") as caught:
        create_react_agent(chat.bind_tools([mul]), [sub])
    assert isinstance(caught.value, ValueError)
    with pytest.raises(ToolBindingError, match="does not bind the agent's tools mul"):
        create_react_agent(chat.bind_tools([sub]), [sub, mul])
    with pytest.raises(ConfigError, match="tool_choice"):
        create_react_agent(chat.bind_tools([sub]).bind(tool_choice="sub"), [sub])


def test_a_post_hook_program_runs_the_same_on_langgraph() -> None:
    """Same model replies, same hook (it answers the first call itself): the same
    messages on LangGraph's create_react_agent (v2) and on hone's."""
    prebuilt = pytest.importorskip("langgraph.prebuilt")
    scripted, ai, _ = _langchain_parts()
    from langchain_core.messages import HumanMessage
    from langchain_core.messages import ToolMessage as LcToolMessage
    from langchain_core.tools import tool as lc_tool

    @lc_tool
    def sub(a: int, b: int) -> int:
        """Subtract."""
        return a - b

    calls = [
        {"name": "sub", "args": {"a": 5, "b": 1}, "id": "c0", "type": "tool_call"},
        {"name": "sub", "args": {"a": 9, "b": 2}, "id": "c1", "type": "tool_call"},
    ]

    def hook(state: Any) -> dict[str, Any]:
        last = state["messages"][-1]
        if not getattr(last, "tool_calls", None):
            return {}
        return {"messages": [LcToolMessage("skipped", tool_call_id="c0", name="sub")]}

    def run(factory: Any) -> list[tuple[str, str]]:
        chat = scripted(replies=[ai("", id="a0", tool_calls=calls), ai("done", id="a1")])
        agent = factory(chat, [sub], post_model_hook=hook)
        out = agent.invoke({"messages": [HumanMessage("hi", id="h")]})
        return [(m.type, str(m.content)) for m in out["messages"]]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = run(prebuilt.create_react_agent)
    assert run(create_react_agent) == theirs
    assert theirs[-1] == ("ai", "done") and ("tool", "7") in theirs
