"""``create_agent`` (LangChain's agent with middleware) on hone models and LangChain models."""

from __future__ import annotations

import asyncio
from typing import Any, NotRequired

import pytest
from pydantic import BaseModel

from hone.agents import create_agent
from hone.agents.middleware import (
    AgentMiddleware,
    AgentState,
    ExtendedModelResponse,
    ModelRequest,
    ModelResponse,
    after_agent,
    after_model,
    before_agent,
    before_model,
    dynamic_prompt,
    hook_config,
    wrap_model_call,
    wrap_tool_call,
)
from hone.agents.structured_output import (
    ProviderStrategy,
    StructuredOutputValidationError,
    ToolStrategy,
)
from hone.checkpoint import InMemorySaver
from hone.errors import ConfigError
from hone.graph import Command, use_model
from hone.messages import (
    AssistantMessage,
    SystemMessage,
    ToolCall,
    ToolMessage,
    UserMessage,
    text_of,
)
from hone.models import ScriptedModel
from hone.tools import tool


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def calls(*pairs: tuple[str, dict[str, Any]]) -> AssistantMessage:
    return AssistantMessage(
        tool_calls=tuple(
            ToolCall(id=f"c{i}", name=n, arguments=a) for i, (n, a) in enumerate(pairs)
        )
    )


def texts(messages: list[Any]) -> list[str]:
    return [f"{m.role}:{m.content}" for m in messages]


def test_tool_loop_with_a_hone_model() -> None:
    model = ScriptedModel([calls(("add", {"a": 2, "b": 3})), "It is 5."])
    agent = create_agent(model, [add], system_prompt="Be brief.")
    out = agent.invoke({"messages": [("user", "2+3?")]})
    assert texts(out["messages"]) == ["user:2+3?", "assistant:", "tool:5", "assistant:It is 5."]
    first = model.requests[0]
    assert first.messages[0] == SystemMessage(content="Be brief.")
    assert [t["function"]["name"] for t in first.tools] == ["add"]
    assert len(model.requests[1].messages) == 4


def test_hooks_run_in_langchain_order() -> None:
    seen: list[str] = []

    class Outer(AgentMiddleware):
        def before_agent(self, state: Any, runtime: Any) -> None:
            seen.append("outer.before_agent")

        def before_model(self, state: Any, runtime: Any) -> None:
            seen.append("outer.before_model")

        def after_model(self, state: Any, runtime: Any) -> None:
            seen.append("outer.after_model")

        def after_agent(self, state: Any, runtime: Any) -> None:
            seen.append("outer.after_agent")

        def wrap_model_call(self, request: ModelRequest, handler: Any) -> Any:
            seen.append("outer.wrap")
            return handler(request)

    class Inner(Outer):
        @property
        def name(self) -> str:
            return "Inner"

        def before_agent(self, state: Any, runtime: Any) -> None:
            seen.append("inner.before_agent")

        def before_model(self, state: Any, runtime: Any) -> None:
            seen.append("inner.before_model")

        def after_model(self, state: Any, runtime: Any) -> None:
            seen.append("inner.after_model")

        def after_agent(self, state: Any, runtime: Any) -> None:
            seen.append("inner.after_agent")

        def wrap_model_call(self, request: ModelRequest, handler: Any) -> Any:
            seen.append("inner.wrap")
            return handler(request)

    agent = create_agent(ScriptedModel(["done"]), middleware=[Outer(), Inner()])
    agent.invoke({"messages": [UserMessage(content="hi")]})
    assert seen == [
        "outer.before_agent",
        "inner.before_agent",
        "outer.before_model",
        "inner.before_model",
        "outer.wrap",
        "inner.wrap",
        "inner.after_model",
        "outer.after_model",
        "inner.after_agent",
        "outer.after_agent",
    ]


def test_jump_to_end_skips_the_model() -> None:
    model = ScriptedModel(["never"])

    @before_model(can_jump_to=["end"])
    def stop(state: Any, runtime: Any) -> dict[str, Any]:
        return {"messages": [AssistantMessage(content="blocked")], "jump_to": "end"}

    out = create_agent(model, [add], middleware=[stop]).invoke({"messages": [("user", "x")]})
    assert texts(out["messages"]) == ["user:x", "assistant:blocked"]
    assert model.calls == 0
    assert "jump_to" not in out


def test_wrap_model_call_can_retry_and_change_the_request() -> None:
    model = ScriptedModel(["first", "second"])
    attempts: list[str | None] = []

    @wrap_model_call
    def retry(request: ModelRequest, handler: Any) -> ModelResponse:
        response = handler(request)
        attempts.append(request.system_prompt)
        if response.result[0].content == "first":
            response = handler(request.override(system_prompt="Try harder."))
            attempts.append("retried")
        return response

    out = create_agent(model, middleware=[retry]).invoke({"messages": [("user", "q")]})
    assert texts(out["messages"]) == ["user:q", "assistant:second"]
    assert model.requests[1].messages[0] == SystemMessage(content="Try harder.")
    assert attempts == [None, "retried"]


def test_dynamic_prompt_reads_the_state() -> None:
    model = ScriptedModel(["ok"])

    @dynamic_prompt
    def prompt(request: ModelRequest) -> str:
        return f"{len(request.messages)} messages so far"

    create_agent(model, middleware=[prompt]).invoke({"messages": [("user", "q")]})
    assert model.requests[0].messages[0] == SystemMessage(content="1 messages so far")


def test_middleware_state_and_extended_response_command() -> None:
    class Counted(AgentState):
        model_calls: NotRequired[int]

    class Counter(AgentMiddleware):
        state_schema = Counted

        def wrap_model_call(self, request: ModelRequest, handler: Any) -> Any:
            count = request.state.get("model_calls", 0) + 1
            return ExtendedModelResponse(handler(request), Command(update={"model_calls": count}))

    model = ScriptedModel([calls(("add", {"a": 1, "b": 1})), "2"])
    out = create_agent(model, [add], middleware=[Counter()]).invoke({"messages": [("user", "q")]})
    assert out["model_calls"] == 2


def test_wrap_tool_call_sees_each_call() -> None:
    seen: list[str] = []

    @wrap_tool_call
    def log(request: Any, handler: Any) -> Any:
        seen.append(request.tool_call["name"])
        result = handler(request)
        return result.model_copy(update={"content": f"[{result.content}]"})

    model = ScriptedModel([calls(("add", {"a": 1, "b": 2})), "3"])
    out = create_agent(model, [add], middleware=[log]).invoke({"messages": [("user", "q")]})
    assert seen == ["add"]
    tool_message = out["messages"][2]
    assert isinstance(tool_message, ToolMessage) and tool_message.content == "[3]"


def test_async_only_wrapper_needs_an_async_run() -> None:
    @wrap_model_call
    async def passthrough(request: ModelRequest, handler: Any) -> Any:
        return await handler(request)

    agent = create_agent(ScriptedModel(["a", "b"]), middleware=[passthrough])
    with pytest.raises(NotImplementedError, match="awrap_model_call"):
        agent.invoke({"messages": [("user", "q")]})
    out = asyncio.run(agent.ainvoke({"messages": [("user", "q")]}))
    assert out["messages"][-1].content == "a"


def test_async_hooks_in_an_async_run() -> None:
    seen: list[str] = []

    @before_agent
    async def start(state: Any, runtime: Any) -> None:
        seen.append("start")

    @after_agent
    async def finish(state: Any, runtime: Any) -> None:
        seen.append("finish")

    @after_model
    def check(state: Any, runtime: Any) -> None:
        seen.append("check")

    agent = create_agent(ScriptedModel(["x"]), middleware=[start, finish, check])
    asyncio.run(agent.ainvoke({"messages": [("user", "q")]}))
    assert seen == ["start", "check", "finish"]
    with pytest.raises(TypeError, match="No synchronous function"):
        agent.invoke({"messages": [("user", "q")]})


class Weather(BaseModel):
    city: str
    degrees: int


def test_tool_strategy_retries_a_bad_answer() -> None:
    model = ScriptedModel(
        [
            calls(("Weather", {"city": "Oslo"})),
            calls(("Weather", {"city": "Oslo", "degrees": 3})),
        ]
    )
    agent = create_agent(model, [add], response_format=ToolStrategy(Weather))
    out = agent.invoke({"messages": [("user", "weather?")]})
    assert out["structured_response"] == Weather(city="Oslo", degrees=3)
    error, done = out["messages"][2], out["messages"][4]
    assert "Failed to parse structured output for tool 'Weather'" in error.content
    assert done.content == "Returning structured response: city='Oslo' degrees=3"
    assert model.requests[0].tool_choice == "required"


def test_tool_strategy_without_retries_raises() -> None:
    model = ScriptedModel([calls(("Weather", {"city": "Oslo"}))])
    agent = create_agent(model, response_format=ToolStrategy(Weather, handle_errors=False))
    with pytest.raises(StructuredOutputValidationError, match="Weather"):
        agent.invoke({"messages": [("user", "weather?")]})


def test_provider_strategy_on_a_hone_model() -> None:
    model = ScriptedModel(['{"city": "Rome", "degrees": 21}'])
    agent = create_agent(model, response_format=Weather)
    out = agent.invoke({"messages": [("user", "weather?")]})
    assert out["structured_response"] == Weather(city="Rome", degrees=21)
    response_format = model.requests[0].response_format
    assert response_format is not None and response_format["type"] == "json_schema"
    assert isinstance(ProviderStrategy(Weather).to_model_kwargs()["response_format"], dict)


def test_the_runs_model_wins() -> None:
    built, given = ScriptedModel(["built"]), ScriptedModel(["given"])
    agent = create_agent(built)
    with use_model(given):
        out = agent.invoke({"messages": [("user", "q")]})
    assert out["messages"][-1].content == "given"
    assert built.calls == 0


def test_interrupt_and_resume_through_a_hook() -> None:
    from hone.graph import interrupt

    @after_model
    def approve(state: Any, runtime: Any) -> None:
        interrupt("approve?")

    saver = InMemorySaver()
    agent = create_agent(ScriptedModel(["answer"]), middleware=[approve], checkpointer=saver)
    config = {"configurable": {"thread_id": "t"}}
    first = agent.invoke({"messages": [("user", "q")]}, config)
    assert first["__interrupt__"][0].value == "approve?"
    out = agent.invoke(Command(resume=True), config)
    assert out["messages"][-1].content == "answer"


def test_bad_configuration_is_refused() -> None:
    @before_model
    def twin(state: Any, runtime: Any) -> None:
        return None

    with pytest.raises(ConfigError, match="duplicate middleware"):
        create_agent(ScriptedModel(["x"]), middleware=[twin, twin])

    @wrap_model_call
    def bad(request: ModelRequest, handler: Any) -> Any:
        return "not a response"

    with pytest.raises(TypeError, match=r"bad\.wrap_model_call returned str"):
        create_agent(ScriptedModel(["x"]), middleware=[bad]).invoke({"messages": [("user", "q")]})


def test_unknown_tools_from_middleware_are_refused() -> None:
    @tool
    def ghost() -> str:
        """Not registered."""
        return "boo"

    @wrap_model_call
    def adds_tool(request: ModelRequest, handler: Any) -> Any:
        return handler(request.override(tools=[*request.tools, ghost]))

    agent = create_agent(ScriptedModel(["x"]), [add], middleware=[adds_tool])
    with pytest.raises(ValueError, match="Unknown tools: \\['ghost'\\]"):
        agent.invoke({"messages": [("user", "q")]})


def test_hook_config_marks_a_class_hook() -> None:
    class Guard(AgentMiddleware):
        @hook_config(can_jump_to=["end"])
        def after_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
            return {"jump_to": "end"}

    model = ScriptedModel([calls(("add", {"a": 1, "b": 1}))])
    out = create_agent(model, [add], middleware=[Guard()]).invoke({"messages": [("user", "q")]})
    assert [m.role for m in out["messages"]] == ["user", "assistant"]


def test_langchain_chat_model_keeps_langchain_messages() -> None:
    pytest.importorskip("langchain_core")
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage, HumanMessage

    model = GenericFakeChatModel(messages=iter([AIMessage(content="hello", id="a1")]))
    out = create_agent(model, name="greeter").invoke({"messages": [("user", "hi")]})
    assert isinstance(out["messages"][0], HumanMessage)
    assert out["messages"][1] == AIMessage(content="hello", id="a1", name="greeter")


def test_a_failed_resume_keeps_the_other_calls_answers() -> None:
    """Two tool calls wait for approval; a bad answer for one fails that resume, then each
    is answered: both calls' results reach the conversation (the first call's records of the
    failed attempt are replaced, not kept beside its later writes)."""
    from pydantic import BaseModel, ValidationError

    from hone.graph import interrupt

    class Ok(BaseModel):
        ok: bool

    @wrap_tool_call
    def gate(request: Any, handler: Any) -> Any:
        interrupt(request.tool_call["args"]["a"], response_schema=Ok)
        return handler(request)

    model = ScriptedModel([calls(("add", {"a": 1, "b": 1}), ("add", {"a": 2, "b": 2})), "done"])
    agent = create_agent(model, [add], middleware=[gate], checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    paused = agent.invoke({"messages": [("user", "q")]}, config)["__interrupt__"]
    ids = {i.value: i.id for i in paused}
    with pytest.raises(ValidationError):
        agent.invoke(Command(resume={ids[2]: {"ok": "perhaps"}}), config)
    agent.invoke(Command(resume={ids[1]: {"ok": True}}), config)
    out = agent.invoke(Command(resume={ids[2]: {"ok": True}}), config)
    answers = {m.tool_call_id: m.content for m in out["messages"] if isinstance(m, ToolMessage)}
    assert answers == {"c0": "2", "c1": "4"}


@pytest.mark.parametrize("kind", ["tool_error", "tool_retry"])
def test_a_rejected_answer_passes_tool_error_and_retry_middleware(kind: str) -> None:
    """A tool's interrupt answered with what its response_schema rejects is the person's
    error: error-answering and retrying middleware let it through, the run fails, and the
    interrupt is answered again."""
    from pydantic import BaseModel, ValidationError

    from hone.agents.middleware import ToolErrorMiddleware, ToolRetryMiddleware
    from hone.graph import interrupt

    class Ok(BaseModel):
        ok: bool

    def approve(a: int) -> str:
        """Ask a person to approve."""
        return f"ok={interrupt(a, response_schema=Ok).ok}"

    around: AgentMiddleware[Any, Any, Any] = (
        ToolErrorMiddleware(on_error=lambda *_: "answered as the model's error")
        if kind == "tool_error"
        else ToolRetryMiddleware(max_retries=2, initial_delay=0, retry_on=(ValidationError,))
    )
    model = ScriptedModel([calls(("approve", {"a": 1})), "done"])
    agent = create_agent(model, [approve], middleware=[around], checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    agent.invoke({"messages": [("user", "q")]}, config)
    with pytest.raises(ValidationError):
        agent.invoke(Command(resume={"ok": "perhaps"}), config)
    out = agent.invoke(Command(resume={"ok": True}), config)
    answers = [m.content for m in out["messages"] if isinstance(m, ToolMessage)]
    assert answers == ["ok=True"]


def test_a_rollout_records_the_agent_with_its_middleware() -> None:
    """The agent built for serving is the training environment: a rollout's policy answers
    every model call (the serving model is never called), the middleware shape the recorded
    requests, and the episode says why the agent stopped."""
    from hone.trajectory import graph_program, rollout

    @dynamic_prompt
    def prompt(request: ModelRequest) -> str:
        return "Add the numbers."

    serving = ScriptedModel(["(served)"])
    agent = create_agent(serving, [add], middleware=[prompt])
    policy = ScriptedModel(
        ['<tool_call>{"name": "add", "arguments": {"a": 2, "b": 3}}</tool_call>', "5"]
    )
    [episode] = asyncio.run(rollout(graph_program(agent), "What is 2 + 3?", policy))
    assert serving.calls == 0
    assert len(episode.calls) == 2
    assert episode.stop_reason == "answered"
    assert policy.requests[0].messages[0] == SystemMessage(content="Add the numbers.")
    assert text_of(policy.requests[1].messages[-1].content) == "5"
