"""The Responses API (``POST /v1/responses``) through the official client and LangChain:
input items, instructions, function tools, text.format, the streamed event sequence,
previous_response_id, and 400s that name the field."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from typing import Any

import httpx
import openai
import pytest
from pydantic import BaseModel

from hone.messages import AssistantMessage, SystemMessage, ToolMessage, UserMessage
from hone.models._scripted import Reply, ScriptedModel
from hone.serve import create_app, running_server

CALL = '<tool_call>\n{"name": "add", "arguments": {"a": 1, "b": 2}}\n</tool_call>'
ADD = {
    "type": "function",
    "name": "add",
    "description": "Add two integers.",
    "parameters": {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
    },
}


class Person(BaseModel):
    name: str
    age: int


class Served:
    def __init__(self, model: ScriptedModel, url: str) -> None:
        self.model, self.url = model, url
        self.client = openai.OpenAI(base_url=url, api_key="key", max_retries=0)

    def post(self, body: dict[str, Any]) -> httpx.Response:
        return httpx.post(
            f"{self.url}/responses", json=body, headers={"authorization": "Bearer key"}
        )


Start = Callable[..., Served]


@pytest.fixture
def serve_script() -> Iterator[Start]:
    with ExitStack() as stack:

        def start(replies: Sequence[Reply], **kwargs: Any) -> Served:
            model = ScriptedModel(replies, **kwargs)
            app = create_app(model, model_name="scripted", api_key="key")
            return Served(model, stack.enter_context(running_server(app)))

        yield start


def test_string_input_with_instructions(serve_script: Start) -> None:
    served = serve_script(["<think>hmm</think>Hello there"])
    response = served.client.responses.create(
        model="scripted", input="hi", instructions="Be kind.", max_output_tokens=50
    )
    assert response.output_text == "Hello there"
    assert response.status == "completed" and response.object == "response"
    assert [item.type for item in response.output] == ["reasoning", "message"]
    assert response.output[0].content[0].text == "hmm"  # type: ignore[union-attr, index]
    assert response.usage is not None and response.usage.output_tokens > 0
    seen = served.model.requests[-1]
    assert [type(m) for m in seen.messages] == [SystemMessage, UserMessage]
    assert seen.options.max_tokens == 50


def test_function_tools_and_a_tool_round_trip(serve_script: Start) -> None:
    served = serve_script([CALL, "It is 3."])
    first = served.client.responses.create(model="scripted", input="add 1 and 2", tools=[ADD])
    (call,) = first.output
    assert call.type == "function_call" and call.name == "add"
    assert json.loads(call.arguments) == {"a": 1, "b": 2}
    assert served.model.requests[-1].tools[0]["function"]["name"] == "add"

    second = served.client.responses.create(
        model="scripted",
        tools=[ADD],
        input=[
            {"role": "user", "content": "add 1 and 2"},
            {
                "type": "function_call",
                "call_id": call.call_id,
                "name": call.name,
                "arguments": call.arguments,
            },
            {"type": "function_call_output", "call_id": call.call_id, "output": "3"},
        ],
    )
    assert second.output_text == "It is 3."
    seen = served.model.requests[-1].messages
    assert [type(m) for m in seen] == [UserMessage, AssistantMessage, ToolMessage]
    assert seen[1].tool_calls[0].id == call.call_id  # type: ignore[union-attr]
    assert seen[2].tool_call_id == call.call_id  # type: ignore[union-attr]


def test_tool_choice_in_the_responses_shape(serve_script: Start) -> None:
    served = serve_script([CALL], when_exhausted="cycle")
    served.client.responses.create(
        model="scripted",
        input="add",
        tools=[ADD],
        tool_choice={"type": "function", "name": "add"},
        parallel_tool_calls=False,
    )
    seen = served.model.requests[-1]
    assert seen.tool_choice == {"type": "function", "function": {"name": "add"}}
    assert seen.parallel_tool_calls is False
    served.client.responses.create(
        model="scripted", input="add", tools=[ADD], tool_choice="required"
    )
    assert served.model.requests[-1].tool_choice == "required"


def test_parse_with_text_format(serve_script: Start) -> None:
    served = serve_script(['{"name": "Ada", "age": 36}'])
    response = served.client.responses.parse(model="scripted", input="who?", text_format=Person)
    assert response.output_parsed == Person(name="Ada", age=36)
    sent = served.model.requests[-1].response_format
    assert sent is not None and sent["json_schema"]["name"] == "Person"


def _events(stream: Any) -> list[Any]:
    return list(stream)


def test_streamed_text_follows_the_documented_sequence(serve_script: Start) -> None:
    served = serve_script(["<think>hm</think>Hello there"], chunk_size=4)
    events = _events(
        served.client.responses.create(
            model="scripted", input="hi", stream=True, include=["message.output_text.logprobs"]
        )
    )
    kinds = [e.type for e in events]
    deltas = [e for e in events if e.type == "response.output_text.delta"]
    assert kinds == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.reasoning_text.delta",
        "response.reasoning_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * len(deltas),
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert "".join(d.delta for d in deltas) == "Hello there"
    assert all("".join(lp.token for lp in d.logprobs) == d.delta for d in deltas)
    final = events[-1].response
    assert final.output_text == "Hello there" and final.status == "completed"
    # The streamed item ids are the final object's.
    assert events[-2].item.id == final.output[1].id == deltas[0].item_id


def test_streamed_function_call(serve_script: Start) -> None:
    served = serve_script(["Let me add.\n" + CALL])
    events = _events(
        served.client.responses.create(model="scripted", input="add", tools=[ADD], stream=True)
    )
    kinds = [e.type for e in events]
    calls_from = kinds.index("response.function_call_arguments.delta") - 1
    assert kinds[calls_from:] == [
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    done = events[-2].item
    assert done.type == "function_call" and json.loads(done.arguments) == {"a": 1, "b": 2}
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text.strip() == "Let me add."  # the markup never shows as text
    assert [i.type for i in events[-1].response.output] == ["message", "function_call"]


def test_the_official_stream_helper_accumulates(serve_script: Start) -> None:
    served = serve_script(["Hello there"])
    with served.client.responses.stream(model="scripted", input="hi") as stream:
        for _ in stream:
            pass
        final = stream.get_final_response()
    assert final.output_text == "Hello there"


def test_previous_response_id_continues_the_conversation(serve_script: Start) -> None:
    served = serve_script(["Hi, Ada.", "Your name is Ada."])
    first = served.client.responses.create(
        model="scripted", input="I am Ada.", instructions="Be brief."
    )
    served.client.responses.create(
        model="scripted", input="What is my name?", previous_response_id=first.id
    )
    seen = served.model.requests[-1].messages
    assert [m.role for m in seen] == ["user", "assistant", "user"]  # instructions not carried
    assert seen[1].text == "Hi, Ada."  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("body", "param", "says"),
    [
        ({"previous_response_id": "resp_nope"}, "previous_response_id", "is unknown"),
        ({"tools": [{"type": "web_search"}]}, "tools[0].type", "only function tools"),
        ({"input": [{"type": "item_reference", "id": "x"}]}, "input[0].type", "not supported"),
        ({"input": [{"type": "function_call", "name": "f"}]}, "input[0]", "no 'call_id'"),
        ({"text": {"format": {"type": "yaml"}}}, "text.format", "response_format.type"),
        (
            {"tools": [ADD], "tool_choice": {"type": "function", "name": "mul"}},
            "tool_choice",
            "'mul'",
        ),
        ({"max_output_tokens": 0}, "max_output_tokens", "greater than or equal to 1"),
    ],
)
def test_bad_requests_get_a_400_naming_the_field(
    serve_script: Start, body: dict[str, Any], param: str, says: str
) -> None:
    served = serve_script(["x"])
    answer = served.post({"model": "scripted", "input": "hi", **body})
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["param"] == param and says in error["message"], error


def test_langchain_chat_openai_on_the_responses_api(serve_script: Start) -> None:
    langchain_openai = pytest.importorskip("langchain_openai")
    served = serve_script(["Hello there", CALL, '{"name": "Ada", "age": 36}'])
    llm = langchain_openai.ChatOpenAI(
        model="scripted", base_url=served.url, api_key="key", max_retries=0, use_responses_api=True
    )
    assert llm.invoke("hi").text == "Hello there"
    message = llm.bind_tools([ADD], tool_choice="required").invoke("add")
    assert message.tool_calls[0]["name"] == "add" and message.tool_calls[0]["args"] == {
        "a": 1,
        "b": 2,
    }
    assert llm.with_structured_output(Person).invoke("who?") == Person(name="Ada", age=36)
