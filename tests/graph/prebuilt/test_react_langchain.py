"""create_react_agent on a LangChain chat model: the conversation stays in LangChain's messages
(untyped input included), the model's replies are stored exactly as it returned them, and
prompts see the state as the agent holds it; the same programs run on LangGraph's
create_react_agent store the same messages."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Callable
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, Field

from hone.graph import add_messages
from hone.graph.prebuilt import AgentState, AgentStatePydantic, create_react_agent
from hone.messages import AnyMessage, AssistantMessage, UserMessage
from hone.models import ScriptedModel

lc = pytest.importorskip("langchain_core.messages")
prebuilt = pytest.importorskip("langgraph.prebuilt")
chat_models = pytest.importorskip("langchain_core.language_models.chat_models")

from langchain_core.outputs import ChatGeneration, ChatResult  # noqa: E402
from langchain_core.prompts import ChatPromptTemplate  # noqa: E402
from langchain_core.runnables import RunnableLambda  # noqa: E402
from langchain_core.tools import tool as lc_tool  # noqa: E402

USAGE = {"input_tokens": 3, "output_tokens": 1, "total_tokens": 4}


class Echo(chat_models.BaseChatModel):  # type: ignore[misc,name-defined]
    """Replies with the contents it was sent joined by "-" (ids "0", "1", ...), making the
    scripted tool calls in turn; records the message classes it receives. Its
    ``with_structured_output`` takes the schema alone, as LangGraph calls it."""

    calls: list[list[dict[str, Any]]] = Field(default_factory=list)
    value: Any = None
    index: int = 0
    seen: list[list[str]] = Field(default_factory=list)

    def _generate(
        self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        self.seen.append([type(m).__name__ for m in messages])
        calls = self.calls[self.index % len(self.calls)] if self.calls else []
        reply = lc.AIMessage(
            content="-".join(str(m.content) for m in messages),
            id=str(self.index),
            tool_calls=list(calls),
            additional_kwargs={"echo": True},
            response_metadata={"model_provider": "echo"},
            usage_metadata=USAGE,
        )
        self.index += 1
        return ChatResult(generations=[ChatGeneration(message=reply)])

    @property
    def _llm_type(self) -> str:
        return "echo"

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        names = [t["function"]["name"] if isinstance(t, dict) else t.name for t in tools]
        return self.bind(tools=[{"type": "function", "function": {"name": n}} for n in names])

    def with_structured_output(self, schema: Any) -> Any:  # type: ignore[override]
        return RunnableLambda(lambda _: self.value)


@lc_tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


ADD = {"name": "add", "args": {"a": 2, "b": 3}, "id": "c0", "type": "tool_call"}


def _generated(message_id: Any) -> bool:
    try:
        uuid.UUID(str(message_id))
    except ValueError:
        return False
    return True


def _stored(messages: list[Any]) -> list[tuple[str, dict[str, Any]]]:
    """The messages as data, the ids add_messages made up (uuid4s) left out."""
    out = []
    for m in messages:
        data = m.model_dump()
        if _generated(m.id):
            data["id"] = "<generated>"
        out.append((type(m).__name__, data))
    return out


def _both(
    run: Callable[[Callable[..., Any]], dict[str, Any]],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``run`` with LangGraph's create_react_agent, then with hone's."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # LangGraph's deprecation of create_react_agent
        theirs = run(prebuilt.create_react_agent)
    return theirs, run(create_react_agent)


@pytest.mark.parametrize(
    "given",
    [
        "hi?",
        [("user", "hi?")],
        [{"role": "user", "content": "hi?"}],
        [lc.HumanMessage("hi?", id="h0")],
    ],
    ids=["string", "tuple", "dict", "typed"],
)
def test_any_input_gives_the_messages_langgraph_stores(given: Any) -> None:
    def run(factory: Callable[..., Any]) -> dict[str, Any]:
        model = Echo(calls=[[ADD], []])
        out: dict[str, Any] = factory(model, [add]).invoke({"messages": given})
        assert model.seen == [["HumanMessage"], ["HumanMessage", "AIMessage", "ToolMessage"]]
        return out

    theirs, ours = _both(run)
    assert _stored(ours["messages"]) == _stored(theirs["messages"])
    reply = ours["messages"][-1]
    assert reply.response_metadata == {"model_provider": "echo"}  # nothing added by hone
    assert reply.usage_metadata == USAGE and reply.additional_kwargs == {"echo": True}


def _callable_prompt(state: Any) -> list[Any]:
    return [lc.HumanMessage(f"Bar {state['messages'][-1].content}")]


@pytest.mark.parametrize(
    "prompt",
    [
        "Be brief.",
        lc.SystemMessage("Be brief."),
        _callable_prompt,
        RunnableLambda(_callable_prompt),
        ChatPromptTemplate.from_messages([("system", "Be brief."), ("placeholder", "{messages}")]),
    ],
    ids=["text", "system-message", "callable", "runnable", "chat-prompt-template"],
)
def test_prompts_see_the_state_as_langgraph_gives_it(prompt: Any) -> None:
    def run(factory: Callable[..., Any]) -> dict[str, Any]:
        out: dict[str, Any] = factory(Echo(), [], prompt=prompt).invoke(
            {"messages": [("user", "hi?")]}
        )
        return out

    theirs, ours = _both(run)
    assert _stored(ours["messages"]) == _stored(theirs["messages"])


class Extra(AgentState):
    foo: int


class ExtraPydantic(AgentStatePydantic):
    foo: int


def _langgraph_schemas() -> dict[type[Any], type[Any]]:
    """LangGraph's own state classes with the same extra key, for each of hone's."""
    executor = prebuilt.chat_agent_executor
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # LangGraph's deprecation of AgentStatePydantic

        class LgExtra(executor.AgentState):  # type: ignore[name-defined,misc]
            foo: int

        class LgExtraPydantic(executor.AgentStatePydantic):  # type: ignore[name-defined,misc]
            foo: int

    return {Extra: LgExtra, ExtraPydantic: LgExtraPydantic}


@pytest.mark.parametrize("schema", [Extra, ExtraPydantic], ids=["typed-dict", "pydantic"])
def test_a_subclass_of_hones_agent_state_keeps_langchain_messages(schema: type[Any]) -> None:
    langgraph_schema = _langgraph_schemas()[schema]

    def run(factory: Callable[..., Any]) -> dict[str, Any]:
        state = schema if factory is create_react_agent else langgraph_schema
        agent = factory(Echo(calls=[[ADD], []]), [add], state_schema=state)
        out: dict[str, Any] = agent.invoke({"messages": [("user", "hi")], "foo": 2})
        return out

    theirs, ours = _both(run)
    assert _stored(ours["messages"]) == _stored(theirs["messages"])
    assert ours["foo"] == theirs["foo"] == 2


def test_a_structured_response_from_a_model_taking_the_schema_alone() -> None:
    class Weather(BaseModel):
        temperature: float

    def run(factory: Callable[..., Any]) -> dict[str, Any]:
        model = Echo(calls=[[ADD], []], value=Weather(temperature=75))
        out: dict[str, Any] = factory(model, [add], response_format=Weather).invoke(
            {"messages": [("user", "weather?")]}
        )
        return out

    theirs, ours = _both(run)
    assert ours["structured_response"] == theirs["structured_response"] == Weather(temperature=75)
    assert _stored(ours["messages"]) == _stored(theirs["messages"])


def test_a_state_declaring_hone_messages_keeps_them_and_the_model_gets_langchains() -> None:
    class HoneState(AgentState):
        messages: Annotated[list[AnyMessage], add_messages]  # type: ignore[misc]

    model = Echo()
    out = create_react_agent(model, [], state_schema=HoneState).invoke({"messages": "hi"})
    assert [type(m) for m in out["messages"]] == [UserMessage, AssistantMessage]
    assert model.seen == [["HumanMessage"]]


def test_hone_models_keep_hone_messages() -> None:
    out = create_react_agent(ScriptedModel(["hello"]), []).invoke({"messages": [("user", "hi")]})
    assert [type(m) for m in out["messages"]] == [UserMessage, AssistantMessage]


def test_a_streamed_reply_is_stored_with_the_id_its_chunks_carry() -> None:
    agent = create_react_agent(Echo(), [])
    chunks = []
    final = None
    for mode, data in agent.stream(
        {"messages": [("user", "hi")]}, stream_mode=["messages", "values"]
    ):
        if mode == "messages":
            chunks.append(data[0])
        else:
            final = data
    assert final is not None
    reply = final["messages"][-1]
    assert isinstance(reply, lc.AIMessage) and reply.content == "hi"
    # The stored reply is the one the streamed chunks build (the runtime need not send it
    # again), and still the model's own message.
    assert reply.id in {c.id for c in chunks}
    assert reply.response_metadata == {"model_provider": "echo"}


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_a_return_direct_tool_ends_the_run_with_its_result(version: str) -> None:
    @lc_tool(return_direct=True)
    def lookup(key: str) -> str:
        """Look a key up; the answer is final."""
        return f"value of {key}"

    look = {"name": "lookup", "args": {"key": "k"}, "id": "c1", "type": "tool_call"}

    def run(factory: Callable[..., Any]) -> dict[str, Any]:
        model = Echo(calls=[[ADD, look], []])
        out: dict[str, Any] = factory(model, [add, lookup], version=version).invoke(
            {"messages": "hi?"}
        )
        assert model.index == 1  # the model was not asked again
        return out

    theirs, ours = _both(run)
    assert _stored(ours["messages"]) == _stored(theirs["messages"])
    assert ours["messages"][-1].content == "value of k"
