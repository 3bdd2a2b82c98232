"""The CodeAct agent: code as actions in a sandbox session, tools in the code, observations."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import pytest

from hone.agents import CODEACT_PROMPT, create_codeact_agent, roles_of
from hone.agents._codeact import extract_code
from hone.checkpoint import InMemorySaver
from hone.errors import ConfigError
from hone.models import ChatRequest, ScriptedModel
from hone.sandbox import HostFunction, Limits, ProcessSandbox, ProcessSession, SandboxConfig
from hone.tools import tool
from hone.trajectory import graph_program, rollout

if not sys.platform.startswith("linux"):
    pytest.skip("the process sandbox runs on Linux", allow_module_level=True)


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first addend.
        b: The second addend.
    """
    return a + b


class Recording(ProcessSandbox):
    """A process sandbox that keeps the sessions it started."""

    def __init__(self) -> None:
        super().__init__(SandboxConfig(limits=Limits(timeout=2.0, interrupt_grace=0.3)))
        self.sessions: list[ProcessSession] = []

    async def astart(self, functions: Sequence[HostFunction] = ()) -> ProcessSession:  # type: ignore[override]
        session = await super().astart(functions)
        self.sessions.append(session)
        return session


def code(text: str) -> str:
    return f"```python\n{text}\n```"


def observations(messages: Sequence[object]) -> list[str]:
    return [m.text for m in messages if getattr(m, "name", None) == "sandbox"]  # type: ignore[attr-defined]


def test_extract_code() -> None:
    assert (
        extract_code("Let me see.\n```python\nx = 1\n```\nand\n```py\ny = 2\n```") == "x = 1\ny = 2"
    )
    assert extract_code("```\nprint(1)\n```") == "print(1)"
    assert extract_code("```python\nprint('cut off") == "print('cut off"
    assert extract_code("The answer is 4.") is None
    assert extract_code("```json\n{}\n```") is None


def test_tools_run_from_code_and_final_answer_ends_the_run() -> None:
    model = ScriptedModel(
        [
            "I will add.\n" + code("total = add(2, 3)\nprint('total:', total)"),
            code("add('x', 1)"),
            code("final_answer(total * 10)"),
        ]
    )
    sandbox = Recording()
    agent = create_codeact_agent(model, [add], sandbox=sandbox)
    out = agent.invoke({"messages": [("user", "What is (2 + 3) * 10?")]})
    assert out["answer"] == "50"
    seen = observations(out["messages"])
    assert seen[0] == "total: 5"
    assert "HostError: ToolError: invalid arguments for 'add'" in seen[1]
    system = model.requests[0].messages[0].text
    assert "def add(a: int, b: int):" in system and "def final_answer(answer: Any)" in system
    # A run without a thread closes its session when it ends.
    assert len(sandbox.sessions) == 1 and not sandbox.sessions[0].alive


def test_a_reply_without_code_is_the_answer() -> None:
    model = ScriptedModel([code("x = 6 * 7\nx"), "The answer is 42."])
    out = create_codeact_agent(model).invoke({"messages": [("user", "6 * 7?")]})
    assert observations(out["messages"]) == ["42"]
    assert out["answer"] == "The answer is 42."


def test_errors_timeouts_and_crashes_are_observations() -> None:
    model = ScriptedModel(
        [
            code("kept = 1\n1 / 0"),
            code("while True:\n    pass"),
            code("import os\nos._exit(1)"),
            code("print('kept' in globals())"),
            "done",
        ]
    )
    out = create_codeact_agent(model, sandbox=Recording()).invoke({"messages": [("user", "go")]})
    seen = observations(out["messages"])
    assert "ZeroDivisionError: division by zero" in seen[0]
    assert "Timeout" in seen[1]
    assert (
        "SandboxCrash" in seen[2]
        and "variables and imports from earlier blocks are gone" in seen[2]
    )
    assert seen[3] == "False"
    assert out["answer"] == "done"


def test_the_session_persists_across_runs_on_a_thread() -> None:
    model = ScriptedModel([code("notes = ['first']"), "ok", code("print(notes)"), "ok again"])
    sandbox = Recording()
    agent = create_codeact_agent(model, sandbox=sandbox, checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t1"}}
    agent.invoke({"messages": [("user", "remember")]}, config)
    out = agent.invoke({"messages": [("user", "recall")]}, config)
    assert observations(out["messages"])[-1] == "['first']"
    assert len(sandbox.sessions) == 1 and sandbox.sessions[0].alive
    sandbox.sessions[0].close()


def test_a_session_lost_with_its_process_is_replaced_and_the_model_told() -> None:
    saver = InMemorySaver()
    config = {"configurable": {"thread_id": "t2"}}
    first = create_codeact_agent(ScriptedModel([code("x = 1"), "ok"]), checkpointer=saver)
    first.invoke({"messages": [("user", "set x")]}, config)
    # Another agent (another process, after a restart) resumes the thread.
    second = create_codeact_agent(
        ScriptedModel([code("print('x' in globals())"), code("print(2)"), "ok"]),
        checkpointer=saver,
    )
    out = second.invoke({"messages": [("user", "use x")]}, config)
    seen = observations(out["messages"])
    assert (
        seen[-2]
        == "[a fresh sandbox session was started: variables from earlier blocks are gone]\nFalse"
    )
    assert seen[-1] == "2"


def test_the_step_budget_asks_for_an_answer_without_code() -> None:
    model = ScriptedModel([code("print(1)"), code("print(2)"), "Answer: 2 " + code("print(3)")])
    out = create_codeact_agent(model, max_steps=2).invoke({"messages": [("user", "count")]})
    assert observations(out["messages"]) == ["1", "2"]
    assert out["answer"] == "Answer: 2"
    assert "no code steps left" in model.requests[-1].messages[-1].text


async def test_rollout_records_the_coder() -> None:
    def reply(request: ChatRequest) -> str:
        done = any(getattr(m, "name", None) == "sandbox" for m in request.messages)
        return code("final_answer(add(1, 1))") if not done else "unused"

    agent = create_codeact_agent(None, [add])
    assert roles_of(agent) == ("coder",)
    program = graph_program(agent, make_input=lambda task: {"messages": [("user", task)]})
    policy = ScriptedModel([reply], when_exhausted="cycle")
    (episode,) = await rollout(program, "1 + 1", policy, roles=roles_of(agent))
    assert [c.role for c in episode.calls] == ["coder"]
    assert episode.output["answer"] == "2"
    assert episode.stop_reason == "answered"


def test_bad_configuration() -> None:
    with pytest.raises(ConfigError, match="max_steps"):
        create_codeact_agent(ScriptedModel(["x"]), max_steps=0)

    def final_answer(x: int) -> int:
        return x

    with pytest.raises(ConfigError, match="share the name"):
        create_codeact_agent(ScriptedModel(["x"]), functions=[final_answer])
    with pytest.raises(ConfigError, match="messages"):
        create_codeact_agent(ScriptedModel(["x"])).invoke({"messages": []})
    assert "{functions}" in CODEACT_PROMPT
