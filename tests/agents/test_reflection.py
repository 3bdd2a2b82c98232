"""create_reflection_agent: the draft → critique → revise loop, its budget, bad verdicts,
Reflexion's tool feedback, checkpoints, streaming and per-role rollouts."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from hone.agents import create_reflection_agent, roles_of
from hone.checkpoint import InMemorySaver
from hone.errors import ConfigError, ModelConnectionError
from hone.graph import draw_mermaid
from hone.models import ChatRequest, ScriptedModel
from hone.tools import tool
from hone.trajectory import graph_program, rollout

DOCS = Path(__file__).resolve().parents[2] / "docs" / "patterns.md"


def verdict(accept: bool, feedback: str = "fine") -> str:
    return json.dumps({"accept": accept, "feedback": feedback})


def pair(author: list[Any], critic: list[Any]) -> dict[str, ScriptedModel]:
    return {"author": ScriptedModel(author), "critic": ScriptedModel(critic)}


@tool
def check(text: str) -> str:
    """Check a draft: it passes when it says "good".

    Args:
        text: the draft.
    """
    if "good" not in text:
        raise ValueError(f"{text!r} does not say good")
    return "passed"


def test_revises_until_the_critic_accepts() -> None:
    m = pair(
        ["v1", "v2", "v3"], [verdict(False, "too short"), verdict(False, "add x"), verdict(True)]
    )
    agent = create_reflection_agent(m)
    chunks = list(agent.stream({"input": "write"}, stream_mode=["updates", "values"]))
    updates = [next(iter(data)) for mode, data in chunks if mode == "updates"]
    assert updates == ["draft", "critique", "revise", "critique", "revise", "critique"]
    out = chunks[-1][1]
    assert out["response"] == "v3" and out["accepted"] and out["revisions"] == 2
    assert [c["feedback"] for c in out["critiques"]] == ["too short", "add x", "fine"]
    # A revision sees the task, its draft, the latest critique and the earlier ones.
    last = [msg.text for msg in m["author"].requests[2].messages]
    assert last[1:3] == ["write", "v2"]
    assert (
        "Critique: add x" in last[3] and "Earlier critiques" in last[3] and "too short" in last[3]
    )
    assert "Answer:\nv2" in m["critic"].requests[1].messages[1].text


def test_the_revision_budget_ends_the_run() -> None:
    m = pair(["v1", "v2"], [verdict(False), verdict(False)])
    out = create_reflection_agent(m, max_revisions=1).invoke({"input": "write"})
    assert out["response"] == "v2" and not out["accepted"] and out["revisions"] == 1
    out = create_reflection_agent(pair(["v1"], [verdict(False)]), max_revisions=0).invoke(
        {"input": "w"}
    )
    assert out["response"] == "v1" and not out["accepted"]


def test_a_critic_that_never_fits_keeps_the_draft(caplog: pytest.LogCaptureFixture) -> None:
    m = pair(["v1"], ["looks good to me", '{"accept": "yes"}'])
    out = create_reflection_agent(m, max_attempts=2).invoke({"input": "write"})
    assert out["response"] == "v1" and out["accepted"] is False and "critiques" in out
    assert out["critiques"] == []
    assert "not valid JSON" in m["critic"].requests[1].messages[-1].text
    assert "no usable verdict in 2 attempts" in caplog.text


def test_reflexion_the_critic_and_author_see_the_tool_feedback() -> None:
    m = pair(["bad draft", "good draft"], [verdict(True, "ship it"), verdict(True)])
    agent = create_reflection_agent(m, feedback_tool=check)
    out = agent.invoke({"input": "write"})
    assert out["response"] == "good draft" and out["accepted"] and out["revisions"] == 1
    assert [f["ok"] for f in out["tool_feedback"]] == [False, True]
    # The critic accepted the first draft, but the tool failed it: never accepted.
    assert "Feedback from check (FAILED)" in m["critic"].requests[0].messages[1].text
    assert "does not say good" in m["author"].requests[1].messages[-1].text
    picture = draw_mermaid(agent)
    assert "draft --> evaluate" in picture and "evaluate --> critique" in picture


def test_a_feedback_tool_must_take_the_draft() -> None:
    @tool
    def two(a: str, b: str) -> str:
        """Two parameters.

        Args:
            a: one.
            b: two.
        """
        return a + b

    with pytest.raises(ConfigError, match="one required parameter"):
        create_reflection_agent(None, feedback_tool=two)
    with pytest.raises(ConfigError, match="max_revisions"):
        create_reflection_agent(None, max_revisions=-1)
    with pytest.raises(ConfigError, match="missing: critic"):
        create_reflection_agent({"author": None})


def test_a_thread_starts_each_run_afresh_and_resumes_after_a_crash() -> None:
    state = {"crash": True}

    def critic(request: ChatRequest) -> str:
        if state.pop("crash", False):
            raise ModelConnectionError("gone")
        return verdict(True)

    m = pair(["v1", "w1"], [critic, critic, verdict(True)])
    agent = create_reflection_agent(m, checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    with pytest.raises(ModelConnectionError):
        agent.invoke({"input": "write"}, config)
    out = agent.invoke(None, config)
    assert out["accepted"] and m["author"].calls == 1  # the draft was not written again
    out = agent.invoke({"input": "write again"}, config)
    assert out["response"] == "w1" and len(out["critiques"]) == 1 and out["revisions"] == 0


async def test_rollout_records_author_and_critic() -> None:
    def reply(request: ChatRequest) -> str:
        if request.response_format is not None:
            accept = "Answer:\nsecond" in request.messages[-1].text
            return verdict(accept, "more")
        return "second" if len(request.messages) > 2 else "first"

    agent = create_reflection_agent(None)
    assert roles_of(agent) == ("author", "critic")
    program = graph_program(agent, make_input=lambda task: {"input": task})
    policy = ScriptedModel([reply], when_exhausted="cycle")
    episodes = {e.role: e for e in await rollout(program, "w", policy, roles=roles_of(agent))}
    assert [c.role for c in episodes["author"].calls] == ["author", "author"]
    assert [c.role for c in episodes["critic"].calls] == ["critic", "critic"]
    assert episodes["author"].stop_reason == "answered"
    assert episodes["author"].output["response"] == "second"


def test_the_docs_picture_is_the_compiled_graph() -> None:
    section = DOCS.read_text(encoding="utf-8").split("## Reflection")[1]
    drawn = re.search(r"```mermaid\n(.*?)```", section, re.DOTALL)
    assert drawn is not None
    agent = create_reflection_agent(None, feedback_tool=check)
    assert drawn.group(1).strip() == draw_mermaid(agent).strip()
