"""Injected tool parameters (hone.tools._injected): hidden from the model's schema, the
model's values dropped, filled from the ToolContext at call time."""

from typing import Annotated, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hone.errors import ToolDefinitionError
from hone.messages import ToolCall
from hone.tools import Tool, ToolContext, aexecute_tool_call, tool
from hone.tools._injected import OMIT, Injected, InjectedParam


class FromDeps(Injected):
    """Test marker: the value of ``deps[key]`` (OMIT when absent)."""

    def __init__(self, key: str = "secret") -> None:
        self.key = key

    def inject(self, context: ToolContext, param: InjectedParam) -> Any:
        return context.deps.get(self.key, OMIT)


class Direct(Injected):
    """Test marker used as the annotation itself."""

    direct = True

    def inject(self, context: ToolContext, param: InjectedParam) -> Any:
        return f"direct:{context.call_id}"


def call(name: str, **arguments: Any) -> ToolCall:
    return ToolCall(id="c1", name=name, arguments=arguments)


@tool
def reveal(query: str, secret: Annotated[str, FromDeps()] = "none") -> str:
    """Reveal the secret."""
    return f"{query}:{secret}"


def test_injected_parameters_are_hidden_from_the_schema() -> None:
    assert reveal.parameters == {
        "type": "object",
        "properties": {"query": {"type": "string"}},
        "required": ["query"],
        "additionalProperties": False,
    }
    assert [p.name for p in reveal.injected] == ["secret"]
    assert reveal.injected[0].optional


async def test_the_marker_fills_the_value() -> None:
    result = await aexecute_tool_call(call("reveal", query="q"), [reveal], deps={"secret": "s"})
    assert result.content == "q:s"


async def test_omit_leaves_the_default() -> None:
    result = await aexecute_tool_call(call("reveal", query="q"), [reveal], deps={})
    assert result.content == "q:none"


@given(sent=st.one_of(st.text(), st.integers(), st.none(), st.dictionaries(st.text(), st.text())))
def test_the_models_value_is_never_used(sent: Any) -> None:
    import asyncio

    result = asyncio.run(
        aexecute_tool_call(
            call("reveal", query="q", secret=sent), [reveal], deps={"secret": "trusted"}
        )
    )
    assert not result.is_error
    assert result.content == "q:trusted"


async def test_direct_markers_need_no_annotated() -> None:
    @tool
    def who(x: int, source: Direct) -> str:
        """Say where the value came from."""
        return source  # type: ignore[return-value]

    assert list(who.parameters["properties"]) == ["x"]
    result = await aexecute_tool_call(call("who", x=1), [who])
    assert result.content == "direct:c1"


async def test_optional_annotated_marker_is_found() -> None:
    @tool
    def maybe(x: int, secret: Annotated[str, FromDeps()] | None = None) -> str:
        """Optional injected value."""
        return str(secret)

    assert list(maybe.parameters["properties"]) == ["x"]
    assert (
        await aexecute_tool_call(call("maybe", x=1), [maybe], deps={"secret": "s"})
    ).content == "s"


def test_two_markers_on_one_parameter_are_a_definition_error() -> None:
    def twice(x: int, v: Annotated[str, FromDeps(), FromDeps("other")]) -> str:
        """Marked twice."""
        return v

    with pytest.raises(ToolDefinitionError, match="more than once"):
        Tool.from_function(twice)


def test_a_marked_context_parameter_is_a_definition_error() -> None:
    def both(x: int, ctx: Annotated[ToolContext, FromDeps()]) -> str:
        """Context and marker."""
        return ""

    with pytest.raises(ToolDefinitionError, match="one or the other"):
        Tool.from_function(both)


async def test_from_schema_tools_read_markers_from_the_function() -> None:
    def run(query: str, secret: Annotated[str, FromDeps()]) -> str:
        return f"{query}:{secret}"

    schema = {"type": "object", "properties": {"query": {"type": "string"}}}
    t = Tool.from_schema("run", "Run.", schema, run)
    result = await aexecute_tool_call(
        call("run", query="q", secret="forged"), [t], deps={"secret": "s"}
    )
    assert result.content == "q:s"


async def test_direct_invocation_may_pass_injected_values() -> None:
    """As with LangChain tools, a developer calling the tool directly may give them."""
    assert await reveal.ainvoke({"query": "q", "secret": "given"}) == "q:given"


async def test_langchain_injected_tool_call_id_on_a_hone_tool() -> None:
    pytest.importorskip("langchain_core")
    from langchain_core.tools import InjectedToolCallId

    @tool
    def echo_id(x: int, tool_call_id: Annotated[str, InjectedToolCallId]) -> str:
        """Echo the call id."""
        return tool_call_id

    assert list(echo_id.parameters["properties"]) == ["x"]
    result = await aexecute_tool_call(call("echo_id", x=1, tool_call_id="forged"), [echo_id])
    assert result.content == "c1"


async def test_langchain_tool_strips_hidden_arguments_it_fills_itself() -> None:
    pytest.importorskip("langchain_core")
    from langchain_core.tools import InjectedToolArg
    from langchain_core.tools import tool as lc_tool

    @lc_tool
    def read_secret(query: str, auth: Annotated[dict[str, str], InjectedToolArg()]) -> str:
        """Read a secret."""
        return "ADMIN" if auth.get("role") == "admin" else "PUBLIC"

    result = await aexecute_tool_call(
        call("read_secret", query="q", auth={"role": "admin"}), [read_secret]
    )
    assert "ADMIN" not in str(result.content)  # the model's auth never reaches the tool


async def test_langchain_tool_gets_hone_markers_filled() -> None:
    pytest.importorskip("langchain_core")
    from langchain_core.tools import InjectedToolArg
    from langchain_core.tools import tool as lc_tool

    class FromDepsLC(FromDeps, InjectedToolArg):
        """A hone marker LangChain hides too."""

    @lc_tool
    def lc_reveal(query: str, secret: Annotated[str, FromDepsLC()]) -> str:
        """Reveal the secret."""
        return f"{query}:{secret}"

    result = await aexecute_tool_call(
        call("lc_reveal", query="q", secret="forged"), [lc_reveal], deps={"secret": "s"}
    )
    assert result.content == "q:s"


async def test_langchain_validation_errors_leave_injected_arguments_out() -> None:
    pytest.importorskip("langchain_core")
    from langchain_core.tools import InjectedToolArg
    from langchain_core.tools import tool as lc_tool
    from pydantic import Field

    class FromDepsLC(FromDeps, InjectedToolArg):
        """A hone marker LangChain hides too."""

    @lc_tool
    def bounded(
        n: Annotated[int, Field(description="n")], secret: Annotated[int, FromDepsLC()]
    ) -> str:
        """A tool whose injected value fails LangChain's own validation."""
        return "ok"

    result = await aexecute_tool_call(call("bounded", n=1), [bounded], deps={"secret": "zz"})
    assert result.is_error
    assert "secret" not in str(result.content) and "zz" not in str(result.content)
