"""The Tool class and the @tool decorator (hone.tools._tool)."""

from __future__ import annotations

import functools
from typing import Any

import pytest

from hone.errors import ToolArgumentsError, ToolDefinitionError
from hone.tools import RetryPolicy, Tool, ToolContext, tool


@tool
def add(a: int, b: int = 2) -> int:
    """Add two integers."""
    return a + b


def test_bare_decorator_builds_a_tool_that_stays_callable() -> None:
    assert isinstance(add, Tool)
    assert add.name == "add"
    assert add(1, 5) == 6


def test_decorator_with_options() -> None:
    policy = RetryPolicy(max_attempts=2)

    @tool(name="plus", description="Sum.", timeout=3, retry=policy, max_output_chars=10)
    def anything(a: int) -> int:
        return a

    assert (anything.name, anything.description) == ("plus", "Sum.")
    assert (anything.timeout, anything.retry, anything.max_output_chars) == (3, policy, 10)


def test_decorator_with_positional_name() -> None:
    @tool("lookup")
    def find(key: str) -> str:
        """Look a key up."""
        return key

    assert find.name == "lookup"


def test_spec_is_openai_function_format() -> None:
    assert add.spec() == {
        "type": "function",
        "function": {
            "name": "add",
            "description": "Add two integers.",
            "parameters": {
                "type": "object",
                "properties": {"a": {"type": "integer"}, "b": {"type": "integer", "default": 2}},
                "required": ["a"],
                "additionalProperties": False,
            },
        },
    }


def test_missing_type_hint_names_function_parameter_and_fix() -> None:
    def untyped(a: int, b) -> int:  # type: ignore[no-untyped-def]
        """Doc."""
        return a

    with pytest.raises(
        ToolDefinitionError,
        match=r"parameter 'b' of tool function 'untyped' has no type hint.*`b: str`",
    ):
        tool(untyped)


def test_missing_docstring_asks_for_one() -> None:
    def bare(a: int) -> int:
        return a

    with pytest.raises(ToolDefinitionError, match=r"'bare' has no docstring.*description="):
        tool(bare)
    assert tool(description="Echo.")(bare).description == "Echo."


@pytest.mark.parametrize("star", ["args", "kwargs"])
def test_star_parameters_are_rejected(star: str) -> None:
    def var_args(*args: int) -> None:
        """Doc."""

    def var_kwargs(**kwargs: int) -> None:
        """Doc."""

    fn = var_args if star == "args" else var_kwargs
    with pytest.raises(
        ToolDefinitionError, match=rf"{fn.__name__!r} takes \*+{star}.*explicit typed"
    ):
        tool(fn)


def test_unresolvable_annotation() -> None:
    def fn(a: NoSuchType) -> None:  # type: ignore[name-defined]  # noqa: F821
        """Doc."""

    with pytest.raises(ToolDefinitionError, match="cannot read the type hints of 'fn'"):
        tool(fn)


class Opaque:
    """Not something pydantic can describe."""


def test_unsupported_type_and_bad_name() -> None:
    def fn(a: Opaque) -> None:
        """Doc."""

    with pytest.raises(ToolDefinitionError, match="cannot build a JSON schema"):
        tool(fn)
    with pytest.raises(ToolDefinitionError, match="not allowed"):
        tool(description="Nothing.")(lambda: None)  # named "<lambda>"
    with pytest.raises(ToolDefinitionError, match="not allowed"):
        add.with_(name="has space")


def test_two_context_parameters_are_rejected() -> None:
    def fn(a: ToolContext, b: ToolContext) -> None:
        """Doc."""

    with pytest.raises(ToolDefinitionError, match="several ToolContext"):
        tool(fn)


def test_bad_option_values() -> None:
    with pytest.raises(ToolDefinitionError, match="timeout"):
        add.with_(timeout=0)
    with pytest.raises(ToolDefinitionError, match="max_output_chars"):
        add.with_(max_output_chars=0)
    with pytest.raises(ToolDefinitionError, match="already a tool"):
        tool(add)


async def test_ainvoke_sync_and_async() -> None:
    @tool
    async def mul(a: int, b: int) -> int:
        """Multiply."""
        return a * b

    assert await add.ainvoke({"a": 1}) == 3
    assert await mul.ainvoke({"a": 3, "b": 4}) == 12
    with pytest.raises(ToolArgumentsError, match="a: required field is missing"):
        await mul.ainvoke({"b": 4})


async def test_context_is_injected_and_positional_only_parameters_work() -> None:
    @tool
    def who(ctx: ToolContext, /, greeting: str) -> str:
        """Greet."""
        return f"{greeting} {ctx.tool_name} {ctx.deps}"

    context = ToolContext(call_id="c1", tool_name="who", deps="d")
    assert await who.ainvoke({"greeting": "hi"}, context=context) == "hi who d"


async def test_partials_and_callable_objects() -> None:
    def scale(x: float, factor: float) -> float:
        """Scale a number."""
        return x * factor

    double = tool(name="double")(functools.partial(scale, factor=2.0))
    assert double.description == "Scale a number."
    assert await double.ainvoke({"x": 1.5}) == 3.0

    class Counter:
        """Count things."""

        async def __call__(self, n: int) -> int:
            return n + 1

    counter = tool(name="counter")(Counter())
    assert await counter.ainvoke({"n": 1}) == 2


def test_from_schema_validates_with_the_schema() -> None:
    seen: dict[str, Any] = {}

    def impl(city: str, ctx: ToolContext, unit: str = "C") -> str:
        seen["ctx"] = ctx
        return f"{city}:{unit}"

    weather = Tool.from_schema(
        "weather",
        "Current weather.",
        {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"enum": ["C", "F"]}},
            "required": ["city"],
            "additionalProperties": False,
        },
        impl,
    )
    assert weather.spec()["function"]["parameters"]["required"] == ["city"]
    assert weather.context_param == "ctx"
    with pytest.raises(ToolArgumentsError) as info:
        weather.validate({"unit": "K", "x": 1})
    assert info.value.problems == (
        "city: required field is missing",
        "unit: must be one of 'C', 'F' (got 'K')",
        "x: unknown field (allowed fields: city, unit)",
    )
    assert weather.validate({"city": "Oslo"}) == {"city": "Oslo"}


async def test_from_schema_runs_with_context() -> None:
    async def impl(city: str, ctx: ToolContext) -> str:
        return f"{city}/{ctx.call_id}"

    weather = Tool.from_schema(
        "weather", "Weather.", {"type": "object", "properties": {"city": {"type": "string"}}}, impl
    )
    context = ToolContext(call_id="id7", tool_name="weather")
    assert await weather.ainvoke({"city": "Rome"}, context=context) == "Rome/id7"


def test_from_schema_rejects_non_object_schemas() -> None:
    with pytest.raises(ToolDefinitionError, match="object schema"):
        Tool.from_schema("t", "T.", {"type": "string"}, print)
    with pytest.raises(ToolDefinitionError, match="requires 'b'"):
        Tool.from_schema("t", "T.", {"type": "object", "properties": {}, "required": ["b"]}, print)
    with pytest.raises(ToolDefinitionError, match="JSON-schema dict"):
        Tool.from_schema("t", "T.", [], print)  # type: ignore[arg-type]


def test_argument_errors_pickle() -> None:
    import pickle

    error = ToolArgumentsError("add", ["a: required field is missing"])
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.tool_name, copy.problems, str(copy)) == (
        error.tool_name,
        error.problems,
        str(error),
    )
