"""Running tool calls: errors as values, timeouts, retries, concurrency, truncation."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import pytest
from pydantic import BaseModel

from hone.errors import ConfigError
from hone.messages import AssistantMessage, TextPart, ToolCall, ToolMessage, from_openai
from hone.tools import (
    ExecutionOptions,
    RetryPolicy,
    ToolContext,
    ToolRegistry,
    aexecute_tool_call,
    aexecute_tool_calls,
    execute_tool_calls,
    tool,
)


class Point(BaseModel):
    x: int
    y: int


@tool
def add(a: int, b: int = 2) -> int:
    """Add two integers."""
    return a + b


@tool
async def point(x: int) -> Point:
    """Make a point on the diagonal."""
    return Point(x=x, y=x)


@tool
def fail(reason: str) -> str:
    """Always fails."""
    raise ValueError(reason)


@tool
async def nap(seconds: float) -> str:
    """Sleep asynchronously."""
    await asyncio.sleep(seconds)
    return "rested"


@tool
def sync_nap(seconds: float) -> str:
    """Sleep in a thread."""
    time.sleep(seconds)
    return "rested"


REGISTRY = ToolRegistry([add, point, fail, nap, sync_nap])


def call(name: str, call_id: str = "", **arguments: Any) -> ToolCall:
    return ToolCall(id=call_id or f"call_{name}", name=name, arguments=arguments)


async def test_results_keep_call_order_and_ids() -> None:
    calls = [call("nap", "c1", seconds=0.05), call("add", "c2", a=1), call("point", "c3", x=2)]
    messages = await aexecute_tool_calls(calls, REGISTRY)
    assert [m.tool_call_id for m in messages] == ["c1", "c2", "c3"]
    assert [m.content for m in messages] == ["rested", "3", '{"x":2,"y":2}']
    assert not any(m.is_error for m in messages)


async def test_non_string_results_are_json() -> None:
    @tool
    def data() -> dict[str, Any]:
        """Some data."""
        return {"a": [1, 2], "ü": None, "when": {1, 2}}

    @tool
    def nothing() -> None:
        """No result."""

    messages = await aexecute_tool_calls([call("data"), call("nothing")], [data, nothing])
    assert messages[0].content == '{"a":[1,2],"ü":null,"when":[1,2]}'
    assert messages[1].content == "null"


async def test_content_parts_pass_through() -> None:
    @tool
    def parts() -> list[TextPart]:
        """Parts."""
        return [TextPart(text="hi")]

    [message] = await aexecute_tool_calls([call("parts")], [parts])
    assert message.content == [TextPart(text="hi")]


async def test_unknown_tool_lists_available_names() -> None:
    [message] = await aexecute_tool_calls([call("nope")], REGISTRY)
    assert message == ToolMessage(
        content="Error: unknown tool 'nope'. Available tools: add, point, fail, nap, sync_nap.",
        tool_call_id="call_nope",
        is_error=True,
    )


async def test_invalid_json_from_the_model() -> None:
    reply = from_openai(
        {
            "role": "assistant",
            "tool_calls": [
                {"id": "j1", "type": "function", "function": {"name": "add", "arguments": "{a: 1"}}
            ],
        }
    )
    assert isinstance(reply, AssistantMessage)
    result = await aexecute_tool_call(reply.tool_calls[0], REGISTRY)
    assert result.error == "invalid_json"
    assert result.attempts == 0
    assert result.to_message().is_error
    assert "could not be decoded (invalid JSON" in str(result.content)


async def test_schema_violations_say_which_field_and_why() -> None:
    [message] = await aexecute_tool_calls([call("add", a="one", c=3)], REGISTRY)
    assert message.is_error
    assert message.content == (
        "Error: invalid arguments for 'add':\n"
        "- a: Input should be a valid integer, unable to parse string as an integer (got 'one')\n"
        "- c: unknown field (allowed fields: a, b)\n"
        "Fix them and call the tool again."
    )


async def test_exceptions_become_error_messages() -> None:
    result = await aexecute_tool_call(call("fail", reason="disk full"), REGISTRY)
    assert (result.error, result.attempts) == ("exception", 1)
    assert result.content == "Error: tool 'fail' raised ValueError: disk full"


@pytest.mark.parametrize("name", ["nap", "sync_nap"])
async def test_timeouts(name: str) -> None:
    started = time.perf_counter()
    execution = ExecutionOptions(timeout=0.05)
    result = await aexecute_tool_call(call(name, seconds=0.3), REGISTRY, execution=execution)
    assert time.perf_counter() - started < 0.25
    assert result.error == "timeout"
    assert result.content == f"Error: tool {name!r} timed out after 0.05s"


async def test_a_tools_own_timeout_wins_and_its_own_timeout_error_is_an_exception() -> None:
    @tool(timeout=5)
    async def raises_timeout() -> str:
        """Raise a TimeoutError of its own."""
        raise TimeoutError("upstream slow")

    result = await aexecute_tool_call(
        call("raises_timeout"), [raises_timeout], execution=ExecutionOptions(timeout=0.01)
    )
    assert result.error == "exception"
    assert result.content == "Error: tool 'raises_timeout' raised TimeoutError: upstream slow"


async def test_retries_with_backoff_and_a_stable_call_id() -> None:
    seen: list[tuple[str, int, float]] = []

    @tool(
        retry=RetryPolicy(
            max_attempts=4,
            initial_interval=0.02,
            backoff_factor=2.0,
            jitter=False,
            retry_on=(ConnectionError,),
        )
    )
    def flaky(ctx: ToolContext) -> str:
        """Fail twice, then work."""
        seen.append((ctx.call_id, ctx.attempt, time.perf_counter()))
        if ctx.attempt < 3:
            raise ConnectionError("reset")
        return "ok"

    result = await aexecute_tool_call(call("flaky", "k1"), [flaky])
    assert (result.content, result.attempts, result.error) == ("ok", 3, None)
    assert [(cid, n) for cid, n, _ in seen] == [("k1", 1), ("k1", 2), ("k1", 3)]
    gaps = [b[2] - a[2] for a, b in itertools.pairwise(seen)]
    assert gaps[0] >= 0.02 and gaps[1] >= 0.04


async def test_retry_gives_up_and_skips_other_exception_types() -> None:
    execution = ExecutionOptions(
        retry=RetryPolicy(max_attempts=3, initial_interval=0.001, jitter=False, retry_on=Exception)
    )
    result = await aexecute_tool_call(call("fail", reason="x"), REGISTRY, execution=execution)
    assert result.attempts == 3
    assert result.content == "Error: tool 'fail' raised ValueError: x (after 3 attempts)"
    only_os = ExecutionOptions(retry=RetryPolicy(max_attempts=3, jitter=False, retry_on=OSError))
    assert (
        await aexecute_tool_call(call("fail", reason="x"), REGISTRY, execution=only_os)
    ).attempts == 1


async def test_timeouts_are_retried_when_the_policy_says_so() -> None:
    execution = ExecutionOptions(
        timeout=0.02,
        retry=RetryPolicy(
            max_attempts=2, initial_interval=0.001, jitter=False, retry_on=(TimeoutError,)
        ),
    )
    result = await aexecute_tool_call(call("nap", seconds=1.0), REGISTRY, execution=execution)
    assert (result.error, result.attempts) == ("timeout", 2)
    assert result.content == "Error: tool 'nap' timed out after 0.02s (2 attempts)"


async def test_calls_of_one_turn_run_concurrently() -> None:
    started = time.perf_counter()
    calls = [call("nap", "a", seconds=0.3), call("sync_nap", "b", seconds=0.3)]
    messages = await aexecute_tool_calls(calls, REGISTRY)
    elapsed = time.perf_counter() - started
    assert [m.content for m in messages] == ["rested", "rested"]
    assert elapsed < 0.5


async def test_max_concurrency_serialises() -> None:
    started = time.perf_counter()
    calls = [call("nap", "a", seconds=0.1), call("nap", "b", seconds=0.1)]
    await aexecute_tool_calls(calls, REGISTRY, execution=ExecutionOptions(max_concurrency=1))
    assert time.perf_counter() - started >= 0.2


async def test_long_output_is_truncated_with_a_marker() -> None:
    @tool(max_output_chars=10)
    def big() -> str:
        """Lots of text."""
        return "x" * 25

    result = await aexecute_tool_call(
        call("big"), [big], execution=ExecutionOptions(max_output_chars=5)
    )
    assert result.content == "x" * 10 + "\n... [truncated 15 chars]"
    assert result.truncated
    assert result.value == "x" * 25
    [message] = await aexecute_tool_calls(
        [call("add", a=10**30)], REGISTRY, execution=ExecutionOptions(max_output_chars=4)
    )
    assert message.content == "1000\n... [truncated 27 chars]"


async def test_context_carries_state_deps_and_read_only_metadata() -> None:
    seen: list[ToolContext] = []

    @tool
    async def inspect_ctx(ctx: ToolContext) -> str:
        """Look at the context."""
        seen.append(ctx)
        return "ok"

    await aexecute_tool_calls(
        [call("inspect_ctx", "c9")],
        [inspect_ctx],
        state={"step": 1},
        deps="db",
        metadata={"run": "r1"},
    )
    [ctx] = seen
    assert (ctx.call_id, ctx.tool_name, ctx.state, ctx.deps, ctx.attempt) == (
        "c9",
        "inspect_ctx",
        {"step": 1},
        "db",
        1,
    )
    assert dict(ctx.metadata) == {"run": "r1"}
    with pytest.raises(TypeError):
        ctx.metadata["run"] = "other"  # type: ignore[index]


class Interrupted(Exception):
    pass


async def test_propagated_exceptions_escape_and_cancel_the_other_calls() -> None:
    finished: list[str] = []

    @tool
    async def stop() -> str:
        """Ask a human."""
        raise Interrupted

    @tool
    async def slow() -> str:
        """Take a while."""
        await asyncio.sleep(0.2)
        finished.append("slow")
        return "done"

    with pytest.raises(Interrupted):
        await aexecute_tool_calls(
            [call("slow"), call("stop")],
            [stop, slow],
            execution=ExecutionOptions(propagate=(Interrupted,)),
        )
    await asyncio.sleep(0.3)
    assert finished == []


def test_bad_options_raise() -> None:
    with pytest.raises(ConfigError, match="timeout"):
        ExecutionOptions(timeout=0)
    with pytest.raises(ConfigError, match="max_output_chars"):
        ExecutionOptions(max_output_chars=0)
    with pytest.raises(ConfigError, match="max_concurrency"):
        ExecutionOptions(max_concurrency=0)


def test_sync_shell_outside_and_inside_an_event_loop() -> None:
    calls = [call("add", a=1, b=1)]
    assert execute_tool_calls(calls, REGISTRY)[0].content == "2"

    async def inside() -> list[ToolMessage]:
        return execute_tool_calls(calls, REGISTRY)

    assert asyncio.run(inside())[0].content == "2"


async def test_no_calls_gives_no_messages() -> None:
    assert await aexecute_tool_calls([], REGISTRY) == []
