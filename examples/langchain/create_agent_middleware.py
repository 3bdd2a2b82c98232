"""A LangChain v1 agent program on hone: only the imports changed.

``create_agent`` with middleware: a prompt written per call (``@dynamic_prompt``), e-mail
addresses redacted before the model sees them (``PIIMiddleware``), a person approving the
e-mail the agent wants to send (``HumanInTheLoopMiddleware``: the run pauses, then resumes
with the decision), and a cap on model calls (``ModelCallLimitMiddleware``). The model is a
fake LangChain chat model, so the example runs offline; any chat model works the same.

    python examples/langchain/create_agent_middleware.py
"""

from __future__ import annotations

from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.tools import tool

# On LangChain these lines read:
#   from langchain.agents import create_agent
#   from langchain.agents.middleware import HumanInTheLoopMiddleware, ...
#   from langgraph.checkpoint.memory import InMemorySaver
#   from langgraph.types import Command
from hone.agents import create_agent
from hone.agents.middleware import (
    HumanInTheLoopMiddleware,
    ModelCallLimitMiddleware,
    ModelRequest,
    PIIMiddleware,
    dynamic_prompt,
)
from hone.checkpoint import InMemorySaver
from hone.graph import Command

outbox: list[str] = []


@tool
def send_email(to: str, body: str) -> str:
    """Send an e-mail."""
    outbox.append(f"to {to}: {body}")
    return "sent"


@dynamic_prompt
def prompt(request: ModelRequest) -> str:
    """The system prompt of each model call: it counts the conversation so far."""
    return f"You are a mail assistant. {len(request.messages)} message(s) so far."


class FakeChatModel(GenericFakeChatModel):
    """A scripted chat model that accepts tools, as a real one does."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> FakeChatModel:
        return self


model = FakeChatModel(
    messages=iter(
        [
            AIMessage(
                content="",
                tool_calls=[
                    {
                        "name": "send_email",
                        "args": {"to": "[REDACTED_EMAIL]", "body": "Lunch at noon?"},
                        "id": "call_1",
                    }
                ],
            ),
            AIMessage(content="Done: I asked about lunch."),
        ]
    )
)

agent = create_agent(
    model,
    [send_email],
    middleware=[
        prompt,
        PIIMiddleware("email", strategy="redact", apply_to_input=True),
        HumanInTheLoopMiddleware(interrupt_on={"send_email": True}),
        ModelCallLimitMiddleware(run_limit=5),
    ],
    checkpointer=InMemorySaver(),
)
config = {"configurable": {"thread_id": "mail-1"}}

paused = agent.invoke(
    {"messages": [("user", "Ask ana@example.com whether lunch at noon works.")]}, config
)
print("stored and sent:", paused["messages"][0].content)
request = paused["__interrupt__"][0].value
for action in request["action_requests"]:
    print("waiting for a person:", action["name"], action["args"])

done = agent.invoke(Command(resume={"decisions": [{"type": "approve"}]}), config)
print("outbox:", outbox)
print("agent:", done["messages"][-1].content)
