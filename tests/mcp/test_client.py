"""``MCPClient`` against a foreign server built with the official SDK, in-process: schemas
passed through, results and errors as the model sees them, timeouts, prefixes, tool-list
changes in both protocol eras, malformed tools, and use from hone's agents."""

from __future__ import annotations

import asyncio
import json
import re
from types import ModuleType
from typing import Any

import mcp.types as mt
import pytest
from mcp.server import Server

from hone.agent import arun_agent, run_agent
from hone.errors import ConfigError, DuplicateToolError
from hone.graph.prebuilt import create_react_agent
from hone.mcp import (
    MCPClient,
    MCPConnectionError,
    MCPProtocolError,
    MCPToolSchemaError,
    ServerConfig,
    SkippedTool,
)
from hone.messages import AssistantMessage, ImagePart, ToolCall, ToolMessage
from hone.models import ScriptedModel
from hone.tools import ExecutionOptions, aexecute_tool_calls, execute_tool_calls


def call(name: str, **arguments: Any) -> ToolCall:
    return ToolCall(id=f"call_{name}", name=name, arguments=arguments)


async def run_one(tools: list[Any], name: str, **arguments: Any) -> ToolMessage:
    (message,) = await aexecute_tool_calls([call(name, **arguments)], tools)
    return message


async def test_tools_pass_the_server_schema_through(weather_server: Any) -> None:
    async with MCPClient({"weather": weather_server}) as client:
        tools = {t.name: t for t in await client.atools()}
        listed = {t.name: t for t in (await weather_server.list_tools())}
    assert list(tools) == [
        "weather__forecast",
        "weather__fail",
        "weather__slow",
        "weather__chart",
        "weather__stats_summary",
        "weather__grow",
        "weather__shrink",
        "weather__die",
    ]
    forecast = tools["weather__forecast"]
    assert dict(forecast.parameters) == listed["forecast"].input_schema
    assert forecast.description == "The weather forecast for a city."
    assert forecast.spec()["function"]["parameters"] == listed["forecast"].input_schema


async def test_results_errors_images_and_structured_content(weather_server: Any) -> None:
    async with MCPClient({"weather": weather_server}) as client:
        tools = await client.atools()
        ok = await run_one(tools, "weather__forecast", city="Oslo", days=2)
        failed = await run_one(tools, "weather__fail", reason="no data")
        chart = await run_one(tools, "weather__chart")
        stats = await run_one(tools, "weather__stats_summary", values=[1, 2, 6])
    assert (ok.is_error, ok.content) == (False, "Oslo: sunny for 2 day(s)")
    assert failed.is_error and "cannot comply: no data" in failed.text
    assert isinstance(chart.content, list) and isinstance(chart.content[0], ImagePart)
    assert chart.content[0].image_url.url.startswith("data:image/png;base64,")
    assert not stats.is_error and json.loads(stats.text) == {"mean": 3.0, "max": 6.0}


async def test_arguments_are_checked_against_the_server_schema_before_sending(
    weather_server: Any,
) -> None:
    async with MCPClient({"weather": weather_server}) as client:
        tools = await client.atools()
        bad = await run_one(tools, "weather__forecast", days="many")
    assert bad.is_error
    assert "city: required field is missing" in bad.text
    assert "days: expected integer" in bad.text


async def test_a_timeout_is_an_error_result_and_cancels_the_call_on_the_server(
    weather: ModuleType, weather_server: Any
) -> None:
    config = ServerConfig(weather_server, timeout=0.2)
    async with MCPClient({"weather": config}) as client:
        tools = await client.atools()
        late = await run_one(tools, "weather__slow", seconds=30)
        for _ in range(100):
            if weather.CANCELLED:
                break
            await asyncio.sleep(0.01)
        after = await run_one(tools, "weather__forecast", city="Rome")
    assert late.is_error and "timed out after 0.2s" in late.text
    assert weather.CANCELLED == ["slow"]
    assert after.content == "Rome: sunny for 1 day(s)"


async def test_the_executor_timeout_applies_too(weather_server: Any) -> None:
    async with MCPClient({"weather": weather_server}) as client:
        tools = await client.atools()
        (late,) = await aexecute_tool_calls(
            [call("weather__slow", seconds=30)], tools, execution=ExecutionOptions(timeout=0.1)
        )
    assert late.is_error and "timed out" in late.text


async def test_prefixes_per_server_and_duplicate_names(weather: ModuleType) -> None:
    servers = {
        "a": ServerConfig(weather.build("a"), prefix="north_"),
        "b": ServerConfig(weather.build("b"), prefix=""),
    }
    async with MCPClient(servers) as client:
        names = [t.name for t in await client.atools()]
        only_b = [t.name for t in await client.atools("b")]
        with pytest.raises(ConfigError, match="no MCP server named 'c'"):
            await client.atools("c")
    assert "north_forecast" in names and "forecast" in names
    assert "stats_summary" in only_b and all(not n.startswith("north_") for n in only_b)

    clash = {
        "a": ServerConfig(weather.build(), prefix=""),
        "b": ServerConfig(weather.build(), prefix=""),
    }
    async with MCPClient(clash) as client:
        with pytest.raises(DuplicateToolError, match="servers 'a' and 'b' both offer"):
            await client.atools()


@pytest.mark.parametrize("protocol", ["auto", "legacy"])
async def test_a_tool_list_change_is_picked_up(weather_server: Any, protocol: str) -> None:
    config = ServerConfig(weather_server, protocol=protocol)  # type: ignore[arg-type]
    async with MCPClient({"weather": config}) as client:
        before = [t.name for t in await client.atools()]
        assert await client.atools() == await client.atools()  # cached: the same objects
        grown = await run_one(await client.atools(), "weather__grow")
        assert grown.content == "added humidity"
        for _ in range(200):  # the notification arrives asynchronously
            after = [t.name for t in await client.atools()]
            if "weather__humidity" in after:
                break
            await asyncio.sleep(0.01)
        humid = await run_one(await client.atools(), "weather__humidity", city="Lima")
    assert "weather__humidity" not in before
    assert after == [*before, "weather__humidity"]
    assert humid.content == "Lima: 40%"


async def test_a_removed_tool_answers_with_an_error_the_model_reads(weather_server: Any) -> None:
    async with MCPClient({"weather": weather_server}) as client:
        tools = await client.atools()  # a snapshot that still has forecast
        await run_one(tools, "weather__shrink")
        for _ in range(200):
            if "weather__forecast" not in [t.name for t in await client.atools()]:
                break
            await asyncio.sleep(0.01)
        gone = await run_one(tools, "weather__forecast", city="Oslo")
    assert gone.is_error
    assert "MCP server 'weather' no longer offers tool 'forecast'" in gone.text


def _bad_server(schema: dict[str, Any]) -> Server[Any]:
    async def list_tools(ctx: Any, params: Any) -> mt.ListToolsResult:
        return mt.ListToolsResult(
            tools=[
                mt.Tool(name="good", description="Fine.", input_schema={"type": "object"}),
                mt.Tool(name="bad", description="Broken.", input_schema=schema),
            ]
        )

    return Server("bad", on_list_tools=list_tools)


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        (
            {"type": "object", "properties": {"x": {"type": "strin"}}},
            "not valid JSON Schema at properties/x/type",
        ),
        ({"type": "object", "properties": {}, "required": ["x"]}, "requires ['x']"),
    ],
)
async def test_a_malformed_schema_is_a_precise_error_or_skipped(
    schema: dict[str, Any], problem: str
) -> None:
    async with MCPClient({"srv": _bad_server(schema)}) as client:
        expected = f"MCP server 'srv': tool 'bad' .*{re.escape(problem)}"
        with pytest.raises(MCPToolSchemaError, match=expected) as info:
            await client.atools()
    assert (info.value.server, info.value.tool) == ("srv", "bad")

    async with MCPClient({"srv": _bad_server(schema)}, invalid_tools="skip") as client:
        names = [t.name for t in await client.atools()]
        skipped = client.skipped
    assert names == ["srv__good"]
    assert [(s.server, s.tool) for s in skipped] == [("srv", "bad")]
    assert isinstance(skipped[0], SkippedTool) and problem.split()[0] in skipped[0].problem


async def test_names_that_clash_after_cleaning_are_reported() -> None:
    async def list_tools(ctx: Any, params: Any) -> mt.ListToolsResult:
        schema = {"type": "object"}
        return mt.ListToolsResult(
            tools=[
                mt.Tool(name="a.b", description="One.", input_schema=schema),
                mt.Tool(name="a_b", description="Two.", input_schema=schema),
            ]
        )

    async with MCPClient({"s": Server("s", on_list_tools=list_tools)}) as client:
        with pytest.raises(MCPToolSchemaError, match="tool 'a_b' would be named 's__a_b'"):
            await client.atools()


async def test_refusals_are_protocol_errors_and_error_results(weather_server: Any) -> None:
    async with MCPClient({"weather": weather_server}) as client:
        direct = await client.acall_tool("weather", "fail", {"reason": "x"})
        assert direct.is_error
        with pytest.raises(ConfigError, match="no MCP server named 'nope'"):
            await client.acall_tool("nope", "fail")

    async def refuse(ctx: Any, params: mt.CallToolRequestParams) -> mt.CallToolResult:
        from mcp import MCPError

        raise MCPError(mt.INVALID_PARAMS, f"Unknown tool: {params.name}")

    async def list_tools(ctx: Any, params: Any) -> mt.ListToolsResult:
        tool = mt.Tool(name="t", description="Refused.", input_schema={"type": "object"})
        return mt.ListToolsResult(tools=[tool])

    server = Server("r", on_list_tools=list_tools, on_call_tool=refuse)
    async with MCPClient({"r": server}) as client:
        with pytest.raises(MCPProtocolError, match="refused the call to 't': Unknown tool: t"):
            await client.acall_tool("r", "t")
        refused = await run_one(await client.atools(), "r__t")
    assert (
        refused.is_error and "MCPProtocolError" in refused.text and "Unknown tool" in refused.text
    )


async def test_a_closed_client_refuses_calls_and_can_connect_again(weather_server: Any) -> None:
    client = MCPClient({"weather": weather_server})
    await client.aconnect()
    tools = await client.atools()
    await client.aclose()
    closed = await run_one(tools, "weather__forecast", city="Oslo")
    assert closed.is_error and "the MCP client is closed" in closed.text
    with pytest.raises(MCPConnectionError, match="closed"):
        await client.atools()
    async with client:
        again = await run_one(await client.atools(), "weather__forecast", city="Oslo")
    assert again.content == "Oslo: sunny for 1 day(s)"


def test_sync_shells_work_from_plain_code_and_other_loops(weather_server: Any) -> None:
    with MCPClient({"weather": weather_server}) as client:
        tools = client.tools()
        # execute_tool_calls runs the calls on a fresh loop: the session lives on its own.
        (message,) = execute_tool_calls([call("weather__forecast", city="Oslo")], tools)
        result = client.call_tool("weather", "forecast", {"city": "Bern"})
    assert message.content == "Oslo: sunny for 1 day(s)"
    assert isinstance(result.content[0], mt.TextContent)
    assert result.content[0].text == "Bern: sunny for 1 day(s)"


def test_run_agent_uses_mcp_tools(weather_server: Any) -> None:
    model = ScriptedModel(
        [
            '<tool_call>{"name": "weather__forecast", "arguments": {"city": "Oslo"}}</tool_call>',
            "Sunny in Oslo.",
        ]
    )
    with MCPClient({"weather": weather_server}) as client:
        history = run_agent(model, client.tools(), "Weather in Oslo?")
    tool_turn = next(m for m in history if isinstance(m, ToolMessage))
    assert tool_turn.content == "Oslo: sunny for 1 day(s)"
    assert history[-1].content == "Sunny in Oslo."
    sent = model.requests[0].tools
    assert sent[0]["function"]["name"] == "weather__forecast"


async def test_arun_agent_and_the_react_agent_use_mcp_tools(weather_server: Any) -> None:
    replies: list[str | AssistantMessage] = [
        AssistantMessage(tool_calls=(call("weather__stats_summary", values=[2, 4]),)),
        "Mean 3.",
    ]
    async with MCPClient({"weather": weather_server}) as client:
        tools = await client.atools()
        history = await arun_agent(ScriptedModel(replies), tools, "Summarize 2 and 4")
        graph = create_react_agent(ScriptedModel(replies), tools)
        state = await graph.ainvoke({"messages": [("user", "Summarize 2 and 4")]})
    for messages in (history, state["messages"]):
        tool_turn = next(m for m in messages if isinstance(m, ToolMessage))
        assert json.loads(tool_turn.text) == {"mean": 3.0, "max": 4.0}
        assert messages[-1].content == "Mean 3."


def test_bad_configuration_is_a_config_error(weather_server: Any) -> None:
    with pytest.raises(ConfigError, match="needs a dict of servers"):
        MCPClient({})
    with pytest.raises(ConfigError, match="server name 'a b' is not allowed"):
        MCPClient({"a b": weather_server})
    with pytest.raises(ConfigError, match="expected a StdioServer"):
        MCPClient({"x": 42})  # type: ignore[dict-item]
    with pytest.raises(ConfigError, match="invalid_tools must be"):
        MCPClient({"x": weather_server}, invalid_tools="ignore")  # type: ignore[arg-type]
