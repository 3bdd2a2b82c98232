"""PIIMiddleware and its detectors: the four strategies, custom detectors, and the hooks over
hone messages and LangChain messages inside create_agent."""

from __future__ import annotations

from typing import Any

import pytest

from hone.agents import create_agent
from hone.agents.middleware import (
    PIIDetectionError,
    PIIMatch,
    PIIMiddleware,
    detect_credit_card,
    detect_email,
    detect_ip,
    detect_mac_address,
    detect_url,
)
from hone.agents.middleware._redaction import apply_strategy
from hone.messages import AssistantMessage, TextPart, ToolCall, ToolMessage, UserMessage
from hone.models import ScriptedModel
from hone.tools import tool


@tool
def lookup(name: str) -> str:
    """Look a customer up."""
    return f"{name}: reach them at jane@corp.com"


def test_builtin_detectors() -> None:
    assert [m["value"] for m in detect_email("mail a@b.io or c.d@e.org")] == ["a@b.io", "c.d@e.org"]
    assert [m["value"] for m in detect_credit_card("card 4111 1111 1111 1111")] == [
        "4111 1111 1111 1111"
    ]
    assert detect_credit_card("card 4111 1111 1111 1112") == []  # fails Luhn
    assert [m["value"] for m in detect_ip("host 10.0.0.1, not 999.1.1.1")] == ["10.0.0.1"]
    assert [m["value"] for m in detect_mac_address("nic 00:1A:2b:3C:4d:5E")] == [
        "00:1A:2b:3C:4d:5E"
    ]
    assert [m["value"] for m in detect_url("see https://x.io/a and www.y.com, not z.com")] == [
        "https://x.io/a",
        "www.y.com",
    ]


def test_strategies() -> None:
    text = "mail a@b.io now"
    matches = detect_email(text)
    assert apply_strategy(text, matches, "redact") == "mail [REDACTED_EMAIL] now"
    assert apply_strategy(text, matches, "mask") == "mail a@****.io now"
    hashed = apply_strategy(text, matches, "hash")
    assert hashed.startswith("mail <email_hash:") and hashed == apply_strategy(
        text, matches, "hash"
    )
    card = "4111-1111-1111-1111"
    assert apply_strategy(card, detect_credit_card(card), "mask") == "****-****-****-1111"
    with pytest.raises(PIIDetectionError, match=r"Detected 1 instance\(s\) of email"):
        apply_strategy(text, matches, "block")


def test_custom_detectors_and_errors() -> None:
    regex = PIIMiddleware("api_key", detector=r"sk-[a-z]{4}")
    assert regex.name == "PIIMiddleware[api_key]"
    update = regex.before_model({"messages": [UserMessage(content="key sk-abcd")]}, None)
    assert update is not None and update["messages"][0].content == "key [REDACTED_API_KEY]"

    def finder(text: str) -> list[PIIMatch]:
        start = text.find("secret")
        return [] if start < 0 else [{"text": "secret", "start": start, "end": start + 6}]  # type: ignore[typeddict-item]

    custom = PIIMiddleware("word", detector=finder, strategy="mask")
    update = custom.before_model({"messages": [UserMessage(content="my secret")]}, None)
    assert update is not None and update["messages"][0].content == "my ****cret"
    with pytest.raises(ValueError, match="Unknown PII type: ssn"):
        PIIMiddleware("ssn")


def test_content_parts_keep_their_shape() -> None:
    message = UserMessage(
        content=[TextPart(text="write to a@b.io"), TextPart(text="thanks")], id="u1"
    )
    update = PIIMiddleware("email").before_model({"messages": [message]}, None)
    assert update is not None
    [new] = update["messages"]
    assert new.id == "u1"
    assert [p.text for p in new.content] == ["write to [REDACTED_EMAIL]", "thanks"]


def test_agent_redacts_input_output_and_tool_results_over_hone_messages() -> None:
    model = ScriptedModel(
        [
            AssistantMessage(
                tool_calls=(ToolCall(id="c1", name="lookup", arguments={"name": "Jane"}),)
            ),
            "Done: write to jane@corp.com",
        ]
    )
    agent = create_agent(
        model,
        [lookup],
        middleware=[
            PIIMiddleware("email", apply_to_output=True, apply_to_tool_results=True),
        ],
    )
    result = agent.invoke({"messages": [UserMessage(content="find bob@x.org's colleague")]})
    messages = result["messages"]
    assert messages[0].content == "find [REDACTED_EMAIL]'s colleague"
    tool_answer = next(m for m in messages if isinstance(m, ToolMessage))
    assert tool_answer.content == "Jane: reach them at [REDACTED_EMAIL]"
    assert messages[-1].content == "Done: write to [REDACTED_EMAIL]"
    # The model saw the redacted input, never the address.
    first_prompt = model.requests[0].messages
    assert all("bob@x.org" not in str(m.content) for m in first_prompt)


def test_block_strategy_raises_in_an_agent() -> None:
    agent = create_agent(ScriptedModel(["hi"]), middleware=[PIIMiddleware("ip", strategy="block")])
    with pytest.raises(PIIDetectionError) as caught:
        agent.invoke({"messages": [UserMessage(content="ping 10.1.2.3")]})
    assert caught.value.pii_type == "ip" and caught.value.matches[0]["value"] == "10.1.2.3"


def test_langchain_messages_are_redacted_in_their_family() -> None:
    messages_module = pytest.importorskip("langchain_core.messages")
    fake = pytest.importorskip("langchain_core.language_models.fake_chat_models")
    model = fake.GenericFakeChatModel(
        messages=iter([messages_module.AIMessage(content="card 4111111111111111")])
    )
    agent = create_agent(
        model,
        middleware=[PIIMiddleware("credit_card", strategy="mask", apply_to_output=True)],
    )
    result: dict[str, Any] = agent.invoke(
        {"messages": [messages_module.HumanMessage(content="mine is 4111 1111 1111 1111")]}
    )
    human, ai = result["messages"]
    assert isinstance(human, messages_module.HumanMessage)
    assert human.content == "mine is **** **** **** 1111"
    assert isinstance(ai, messages_module.AIMessage)
    assert ai.content == "card ************1111"
