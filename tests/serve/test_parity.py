"""OpenAI API parity of chat completions: response_format (and the SDK's ``parse``),
tool_choice, parallel_tool_calls, top_logprobs and per-chunk logprobs, through the official
``openai`` client and LangChain's ``ChatOpenAI``; bad fields get 400s that name them."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from typing import Any

import httpx
import openai
import pytest
from pydantic import BaseModel

from hone.models._scripted import Reply, ScriptedModel
from hone.serve import create_app, running_server

USER = [{"role": "user", "content": "hi"}]
ADD = {
    "type": "function",
    "function": {
        "name": "add",
        "description": "Add two integers.",
        "parameters": {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            "required": ["a", "b"],
        },
    },
}
CALL = '<tool_call>\n{"name": "add", "arguments": {"a": 1, "b": 2}}\n</tool_call>'


class Person(BaseModel):
    name: str
    age: int


class Served:
    """A scripted model served on loopback, with an official client for it."""

    def __init__(self, model: ScriptedModel, url: str) -> None:
        self.model, self.url = model, url
        self.client = openai.OpenAI(base_url=url, api_key="key", max_retries=0)

    def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        """A raw POST (for error shapes the SDK hides)."""
        return httpx.post(f"{self.url}{path}", json=body, headers={"authorization": "Bearer key"})


Start = Callable[..., Served]


@pytest.fixture
def serve_script() -> Iterator[Start]:
    """Start a server for ``ScriptedModel(replies, **kwargs)``; stopped after the test."""
    with ExitStack() as stack:

        def start(replies: Sequence[Reply], **kwargs: Any) -> Served:
            model = ScriptedModel(replies, **kwargs)
            app = create_app(model, model_name="scripted", api_key="key")
            return Served(model, stack.enter_context(running_server(app)))

        yield start


def test_parse_with_a_pydantic_model(serve_script: Start) -> None:
    served = serve_script(['{"name": "Ada", "age": 36}'])
    reply = served.client.chat.completions.parse(
        model="scripted", messages=USER, response_format=Person
    )
    assert reply.choices[0].message.parsed == Person(name="Ada", age=36)
    sent = served.model.requests[-1].response_format
    assert sent is not None and sent["type"] == "json_schema"
    assert sent["json_schema"]["name"] == "Person" and sent["json_schema"]["strict"] is True
    assert sent["json_schema"]["schema"]["required"] == ["name", "age"]


def test_json_object_mode_reaches_the_backend(serve_script: Start) -> None:
    served = serve_script(['{"ok": true}'])
    reply = served.client.chat.completions.create(
        model="scripted", messages=USER, response_format={"type": "json_object"}
    )
    assert json.loads(reply.choices[0].message.content or "") == {"ok": True}
    assert served.model.requests[-1].response_format == {"type": "json_object"}


@pytest.mark.parametrize(
    ("field", "value", "param", "says"),
    [
        ("response_format", {"type": "yaml"}, "response_format", "response_format.type"),
        (
            "response_format",
            {"type": "json_schema", "json_schema": {"name": "p", "schema": {"type": 7}}},
            "response_format",
            "not a valid JSON schema",
        ),
        (
            "tool_choice",
            {"type": "function", "function": {"name": "div"}},
            "tool_choice",
            "'div', which is not among the tools",
        ),
        ("top_logprobs", 3, "top_logprobs", "requires logprobs"),
        ("top_logprobs", 99, "top_logprobs", "less than or equal to 20"),
        ("parallel_tool_calls", "maybe", "parallel_tool_calls", "valid boolean"),
    ],
)
def test_bad_fields_get_a_400_naming_them(
    serve_script: Start, field: str, value: Any, param: str, says: str
) -> None:
    served = serve_script(["x"])
    answer = served.post(
        "/chat/completions",
        {"model": "scripted", "messages": USER, "tools": [ADD], field: value},
    )
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param
    assert says in error["message"]
    with pytest.raises(openai.BadRequestError):  # and the SDK raises its usual error
        served.client.chat.completions.create(
            model="scripted", messages=USER, tools=[ADD], **{field: value}
        )


def test_tool_choice_and_parallel_calls_reach_the_backend(serve_script: Start) -> None:
    served = serve_script([CALL], when_exhausted="cycle")
    named = {"type": "function", "function": {"name": "add"}}
    reply = served.client.chat.completions.create(
        model="scripted", messages=USER, tools=[ADD], tool_choice=named, parallel_tool_calls=False
    )
    (call,) = reply.choices[0].message.tool_calls or []
    assert call.function.name == "add"  # type: ignore[union-attr]
    seen = served.model.requests[-1]
    assert seen.tool_choice == named and seen.parallel_tool_calls is False
    served.client.chat.completions.create(
        model="scripted", messages=USER, tools=[ADD], tool_choice="required"
    )
    assert served.model.requests[-1].tool_choice == "required"
    assert served.model.requests[-1].parallel_tool_calls is True


def test_top_logprobs(serve_script: Start) -> None:
    served = serve_script(["ok"])
    reply = served.client.chat.completions.create(
        model="scripted", messages=USER, logprobs=True, top_logprobs=2
    )
    content = reply.choices[0].logprobs.content  # type: ignore[union-attr]
    assert content is not None and [t.token for t in content] == ["o", "k"]
    assert all(t.top_logprobs and t.top_logprobs[0].token == t.token for t in content)
    assert content[0].bytes == [ord("o")]
    assert served.model.requests[-1].options.top_logprobs == 2


def test_every_streamed_content_chunk_carries_logprobs(serve_script: Start) -> None:
    served = serve_script(["Hello, world!"], chunk_size=3)
    stream = served.client.chat.completions.create(
        model="scripted", messages=USER, logprobs=True, top_logprobs=1, stream=True
    )
    chunks = [c for c in stream if c.choices]
    texts = [c for c in chunks if c.choices[0].delta.content]
    assert len(texts) == 5
    for chunk in texts:
        entries = chunk.choices[0].logprobs.content  # type: ignore[union-attr]
        assert entries is not None
        assert "".join(e.token for e in entries) == chunk.choices[0].delta.content
        assert all(len(e.top_logprobs) == 1 for e in entries)


def test_developer_messages_are_system_messages(serve_script: Start) -> None:
    served = serve_script(["ok"])
    served.client.chat.completions.create(
        model="scripted",
        messages=[{"role": "developer", "content": "be brief"}, *USER],
    )
    assert served.model.requests[-1].messages[0].role == "system"


# --- LangChain's ChatOpenAI pointed at hone serve -------------------------------------------


def _chat_openai(served: Served, **kwargs: Any) -> Any:
    langchain_openai = pytest.importorskip("langchain_openai")
    return langchain_openai.ChatOpenAI(
        model="scripted", base_url=served.url, api_key="key", max_retries=0, **kwargs
    )


def test_langchain_invoke_stream_and_logprobs(serve_script: Start) -> None:
    served = serve_script(["Hello there"], when_exhausted="cycle")
    llm = _chat_openai(served)
    assert llm.invoke("hi").content == "Hello there"
    assert "".join(str(c.content) for c in llm.stream("hi")) == "Hello there"
    with_logprobs = llm.bind(logprobs=True, top_logprobs=2).invoke("hi")
    entries = with_logprobs.response_metadata["logprobs"]["content"]
    assert "".join(e["token"] for e in entries) == "Hello there"
    assert len(entries[0]["top_logprobs"]) == 1


def test_langchain_structured_output(serve_script: Start) -> None:
    served = serve_script(['{"name": "Ada", "age": 36}'], when_exhausted="cycle")
    llm = _chat_openai(served)
    assert llm.with_structured_output(Person).invoke("who?") == Person(name="Ada", age=36)
    assert served.model.requests[-1].response_format is not None
    raw = llm.with_structured_output(Person, method="json_mode").invoke("who? answer in json")
    assert raw == Person(name="Ada", age=36)
    assert served.model.requests[-1].response_format == {"type": "json_object"}


def test_langchain_bind_tools_with_tool_choice(serve_script: Start) -> None:
    served = serve_script([CALL], when_exhausted="cycle")
    llm = _chat_openai(served)
    message = llm.bind_tools([ADD], tool_choice="required").invoke("add 1 and 2")
    assert message.tool_calls[0]["name"] == "add"
    assert message.tool_calls[0]["args"] == {"a": 1, "b": 2}
    assert served.model.requests[-1].tool_choice == "required"
    llm.bind_tools([ADD], tool_choice="add", parallel_tool_calls=False).invoke("add")
    seen = served.model.requests[-1]
    assert seen.tool_choice == {"type": "function", "function": {"name": "add"}}
    assert seen.parallel_tool_calls is False
    streamed = None
    for chunk in llm.bind_tools([ADD]).stream("add"):
        streamed = chunk if streamed is None else streamed + chunk
    assert streamed is not None and streamed.tool_calls[0]["args"] == {"a": 1, "b": 2}
