"""response_format and tool_choice: reading them, checking replies, and the scripted and
OpenAI-compatible backends honouring them (the local model's grammar is in test_grammar)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from hone.errors import ConfigError
from hone.messages import AssistantMessage, ToolCall
from hone.models._openai import OpenAICompatibleModel
from hone.models._protocol import ChatRequest, SamplingOptions, make_request
from hone.models._scripted import ScriptedModel
from hone.models._structured import (
    JsonObjectFormat,
    JsonSchemaFormat,
    ToolRequirement,
    output_format,
    reply_problems,
    tool_requirement,
)
from hone.serve import create_app, running_server

PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
    "additionalProperties": False,
}
FORMAT = {
    "type": "json_schema",
    "json_schema": {"name": "person", "schema": PERSON, "strict": True},
}
TOOLS = (
    {"type": "function", "function": {"name": "add", "parameters": {"type": "object"}}},
    {"type": "function", "function": {"name": "mul", "parameters": {"type": "object"}}},
)
CALL = '<tool_call>\n{"name": "add", "arguments": {"a": 1}}\n</tool_call>'
TWO_CALLS = CALL + "\n" + CALL.replace("add", "mul")


def _request(**fields: Any) -> ChatRequest:
    return ChatRequest(messages=make_request("hi").messages, **fields)


def test_output_format_reads_every_openai_shape() -> None:
    assert output_format(None) is None
    assert output_format({"type": "text"}) is None
    assert output_format({"type": "json_object"}) == JsonObjectFormat()
    fmt = output_format(FORMAT)
    assert fmt == JsonSchemaFormat(name="person", schema=PERSON, strict=True)


@pytest.mark.parametrize(
    ("value", "names"),
    [
        ({"type": "xml"}, "response_format.type"),
        ({"type": "json_schema"}, "response_format.json_schema"),
        ({"type": "json_schema", "json_schema": {"schema": {}}}, "json_schema.name"),
        (
            {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "nope"}}},
            "json_schema.schema is not a valid JSON schema",
        ),
        ("json", "response_format must be an object"),
    ],
)
def test_malformed_response_format_names_the_field(value: Any, names: str) -> None:
    with pytest.raises(ConfigError, match=names.replace(".", r"\.")):
        output_format(value)


def test_tool_choice_is_read_against_the_tools() -> None:
    assert tool_requirement("auto", TOOLS) == ToolRequirement("auto")
    assert tool_requirement("required", TOOLS, parallel=False) == ToolRequirement(
        "required", parallel=False
    )
    named = {"type": "function", "function": {"name": "mul"}}
    assert tool_requirement(named, TOOLS) == ToolRequirement("named", name="mul")
    # The Responses API's flat spelling is read too.
    assert tool_requirement({"type": "function", "name": "add"}, TOOLS).name == "add"
    with pytest.raises(ConfigError, match="'div', which is not among the tools \\(add, mul\\)"):
        tool_requirement({"type": "function", "function": {"name": "div"}}, TOOLS)
    with pytest.raises(ConfigError, match="'required' but the request has no tools"):
        tool_requirement("required", ())
    with pytest.raises(ConfigError, match="tool_choice must be"):
        tool_requirement("sometimes", TOOLS)


def _message(text: str = "", *calls: str) -> AssistantMessage:
    return AssistantMessage(content=text, tool_calls=tuple(ToolCall(name=c) for c in calls))


def test_reply_problems_are_phrased_for_the_model() -> None:
    fmt = output_format(FORMAT)
    auto = ToolRequirement()
    assert reply_problems(_message('{"name": "Ada", "age": 36}'), fmt=fmt, tools=auto) == ()
    (problem,) = reply_problems(_message('{"name": "Ada"}'), fmt=fmt, tools=auto)
    assert "does not match the JSON schema 'person'" in problem and "'age'" in problem
    (problem,) = reply_problems(_message('{"name": "Ada", "age": "x"}'), fmt=fmt, tools=auto)
    assert "at $.age" in problem
    (problem,) = reply_problems(_message('{"name": "Ad'), fmt=fmt, tools=auto, truncated=True)
    assert "not valid JSON" in problem and "cut off by the token limit" in problem
    (problem,) = reply_problems(_message("[1]"), fmt=JsonObjectFormat(), tools=auto)
    assert "must be a JSON object" in problem
    # Tool calls answer instead of the format, when tools are allowed.
    assert reply_problems(_message("", "add"), fmt=fmt, tools=auto) == ()

    assert (
        "must call a tool"
        in reply_problems(_message("hi"), fmt=None, tools=ToolRequirement("required"))[0]
    )
    named = ToolRequirement("named", name="mul")
    assert "'mul', not add" in reply_problems(_message("", "add"), fmt=None, tools=named)[0]
    assert (
        "disabled"
        in reply_problems(_message("", "add"), fmt=None, tools=ToolRequirement("none"))[0]
    )
    single = ToolRequirement(parallel=False)
    assert (
        "at most one tool" in reply_problems(_message("", "add", "mul"), fmt=None, tools=single)[0]
    )


async def test_scripted_reply_is_checked_against_the_schema() -> None:
    model = ScriptedModel(['{"name": "Ada", "age": 36}', '{"name": "Ada", "age": "old"}'])
    good = await model.complete(_request(response_format=FORMAT))
    assert good.parse_errors == () and json.loads(good.message.text)["age"] == 36
    bad = await model.complete(_request(response_format=FORMAT))
    (error,) = bad.parse_errors  # a value the agent loop shows, not an exception
    assert "'old' is not of type 'integer'" in error


async def test_scripted_reply_is_checked_against_tool_choice() -> None:
    model = ScriptedModel(["No tools needed.", TWO_CALLS, CALL], when_exhausted="cycle")
    required = await model.complete(_request(tools=TOOLS, tool_choice="required"))
    assert "must call a tool" in required.parse_errors[0]
    single = await model.complete(_request(tools=TOOLS, parallel_tool_calls=False))
    assert "at most one tool per turn; you called 2" in single.parse_errors[0]
    named = await model.complete(
        _request(tools=TOOLS, tool_choice={"type": "function", "function": {"name": "add"}})
    )
    assert named.parse_errors == () and named.message.tool_calls[0].name == "add"


async def test_scripted_model_rejects_a_malformed_format_at_the_boundary() -> None:
    with pytest.raises(ConfigError, match=r"response_format\.type"):
        await ScriptedModel(["{}"]).complete(_request(response_format={"type": "yaml"}))


async def test_scripted_top_logprobs() -> None:
    model = ScriptedModel(["ab"])
    out = await model.complete(_request(options=SamplingOptions(logprobs=True, top_logprobs=1)))
    assert [t.token for t in out.token_logprobs or ()] == ["a", "b"]
    assert [len(t.top) for t in out.token_logprobs or ()] == [1, 1]


def test_openai_request_body_carries_the_structured_fields() -> None:
    model = OpenAICompatibleModel("m", base_url="http://localhost:1/v1")
    named = {"type": "function", "function": {"name": "add"}}
    body = model.request_body(
        _request(
            tools=TOOLS,
            tool_choice=named,
            parallel_tool_calls=False,
            response_format=FORMAT,
            options=SamplingOptions(logprobs=True, top_logprobs=3),
        )
    )
    assert body["tool_choice"] == named and body["parallel_tool_calls"] is False
    assert body["response_format"] == FORMAT
    assert body["top_logprobs"] == 3
    # OpenAI rejects tool_choice / parallel_tool_calls without tools, and "auto" is the default.
    plain = model.request_body(_request(tool_choice="none", parallel_tool_calls=False))
    assert "tool_choice" not in plain and "parallel_tool_calls" not in plain
    assert "tool_choice" not in model.request_body(_request(tools=TOOLS))


@pytest.fixture
def served_json() -> Iterator[tuple[ScriptedModel, OpenAICompatibleModel]]:
    scripted = ScriptedModel(['{"name": "Ada", "age": 36}', '{"name": 1}'])
    with running_server(create_app(scripted, model_name="s")) as url:
        yield scripted, OpenAICompatibleModel("s", base_url=url, max_retries=0)


async def test_openai_backend_passes_and_checks_the_format(
    served_json: tuple[ScriptedModel, OpenAICompatibleModel],
) -> None:
    scripted, client = served_json
    options = SamplingOptions(logprobs=True, top_logprobs=2)
    good = await client.complete(_request(response_format=FORMAT, options=options))
    assert scripted.requests[-1].response_format == FORMAT  # it reached the server's backend
    assert scripted.requests[-1].options.top_logprobs == 2
    assert good.parse_errors == () and good.message.text.startswith("{")
    assert good.token_logprobs and good.token_logprobs[0].token == "{"
    assert len(good.token_logprobs[0].top) == 1  # the scripted model knows one alternative
    bad = await client.complete(_request(response_format=FORMAT))
    assert any("does not match the JSON schema 'person'" in e for e in bad.parse_errors)
