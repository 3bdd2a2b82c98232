"""create_solver_judge: concurrent solvers, the judge's pick and its recovery, budgets,
checkpoints, streaming and one episode per role."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import ClassVar

import pytest

from hone.agents import create_solver_judge, roles_of, solver_role
from hone.checkpoint import InMemorySaver
from hone.errors import ConfigError, ModelConnectionError
from hone.graph import draw_mermaid
from hone.models import ChatRequest, Completion, ScriptedModel
from hone.tools import tool
from hone.trajectory import graph_program, rollout

DOCS = Path(__file__).resolve().parents[2] / "docs" / "patterns.md"


@tool
def double(x: int) -> int:
    """Double a number.

    Args:
        x: the number.
    """
    return 2 * x


DOUBLE = '<tool_call>{"name": "double", "arguments": {"x": 21}}</tool_call>'


def pick(index: int, reason: str = "r") -> str:
    return json.dumps({"index": index, "reason": reason})


class Slow(ScriptedModel):
    """A scripted model that counts the calls in flight on a shared counter; a first call
    waits (up to a few seconds) for the other solvers' first calls to arrive, so a loaded
    machine cannot make concurrent calls look sequential."""

    flight: ClassVar[dict[str, int]] = {"now": 0, "most": 0}

    async def complete(self, request: ChatRequest) -> Completion:
        self.flight["now"] += 1
        self.flight["most"] = max(self.flight["most"], self.flight["now"])
        for _ in range(500):
            if self.flight["most"] >= 3:
                break
            await asyncio.sleep(0.01)
        self.flight["now"] -= 1
        return await super().complete(request)


def test_solvers_answer_concurrently_and_the_judge_picks() -> None:
    solvers = [Slow(["41"]), Slow([DOUBLE, "42"]), Slow(["42"])]
    judge = ScriptedModel([pick(1, "it checked")])
    graph = create_solver_judge(solvers, judge, [double])
    out = graph.invoke({"input": "What is 2 * 21?"})
    assert Slow.flight["most"] == 3
    assert sorted((a["solver"], a["answer"], a["ok"]) for a in out["candidates"]) == [
        (0, "41", True),
        (1, "42", True),
        (2, "42", True),
    ]
    assert out["choice"] == 1 and out["response"] == "42" and out["reason"] == "it checked"
    shown = judge.requests[0].messages[-1].text
    assert "[0] 41" in shown and "[2] 42" in shown and "What is 2 * 21?" in shown
    assert solvers[1].requests[0].tools  # the solvers have the tools; the judge has none
    assert judge.requests[0].tools == ()


def test_an_index_out_of_range_is_told_and_retried() -> None:
    judge = ScriptedModel([pick(5), "the second", pick(0)])
    out = create_solver_judge([ScriptedModel(["a"]), ScriptedModel(["b"])], judge).invoke(
        {"input": "q"}
    )
    assert out["choice"] == 0 and out["response"] == "a"
    told = [r.messages[-1].text for r in judge.requests[1:]]
    assert "at $.index: 5 is greater than the maximum of 1" in told[0]
    schema = judge.requests[0].response_format["json_schema"]["schema"]  # type: ignore[index]
    assert schema["properties"]["index"] == {"type": "integer", "minimum": 0, "maximum": 1}
    assert "not valid JSON" in told[1]


def test_a_judge_without_a_usable_pick_falls_back_to_the_majority() -> None:
    solvers = [ScriptedModel([a]) for a in ("7", "8", " 8 ")]
    judge = ScriptedModel([pick(-1)], when_exhausted="cycle")
    out = create_solver_judge(solvers, judge, max_attempts=2).invoke({"input": "q"})
    assert out["choice"] == 1 and out["response"] == "8"
    assert "no usable pick in 2 attempts" in out["reason"] and judge.calls == 2


def test_a_solver_out_of_steps_answers_and_is_marked() -> None:
    looping = ScriptedModel([DOUBLE, DOUBLE, "gave up"])
    out = create_solver_judge([looping], ScriptedModel([pick(0)]), [double], solver_steps=2).invoke(
        {"input": "q"}
    )
    assert out["candidates"] == [{"solver": 0, "answer": "gave up", "ok": False}]
    assert looping.requests[-1].tools == ()  # the final-answer turn


async def test_one_episode_per_role_with_the_judges_retry() -> None:
    def reply(request: ChatRequest) -> str:
        if request.response_format is not None:
            return pick(9) if len(request.messages) == 2 else pick(2)
        return DOUBLE if request.messages[-1].role == "user" else request.messages[-1].text

    graph = create_solver_judge([None, None, None], None, [double])
    assert roles_of(graph) == ("solver_0", "solver_1", "solver_2", "judge")
    program = graph_program(graph, make_input=lambda task: {"input": task})
    policy = ScriptedModel([reply], when_exhausted="cycle")
    episodes = {e.role: e for e in await rollout(program, "q", policy, roles=roles_of(graph))}
    for i in range(3):
        calls = episodes[solver_role(i)].calls
        assert [c.role for c in calls] == [solver_role(i)] * 2
        assert episodes[solver_role(i)].stop_reason == "answered"
    judge = episodes["judge"].calls
    assert [c.role for c in judge] == ["judge", "judge"]
    assert judge[0].parse_errors and "maximum of 2" in judge[0].parse_errors[0]
    assert judge[1].messages[-1]["content"] == judge[0].parse_errors[0]
    assert episodes["judge"].output["choice"] == 2


def test_a_crashed_solver_is_the_only_one_run_again() -> None:
    state = {"crash": True}

    def flaky(request: ChatRequest) -> str:
        if state.pop("crash", False):
            raise ModelConnectionError("gone")
        return "b"

    solvers = [ScriptedModel(["a"]), ScriptedModel([flaky, flaky])]
    graph = create_solver_judge(solvers, ScriptedModel([pick(1)]), checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    with pytest.raises(ModelConnectionError):
        graph.invoke({"input": "q"}, config)
    out = graph.invoke(None, config)
    assert out["response"] == "b" and solvers[0].calls == 1


def test_the_judges_tokens_stream() -> None:
    graph = create_solver_judge([ScriptedModel(["a"])], ScriptedModel([pick(0)]))
    chunks = list(graph.stream({"input": "q"}, stream_mode="messages"))
    judged = "".join(c.content for c, m in chunks if m["langgraph_node"] == "judge")
    assert json.loads(judged) == {"index": 0, "reason": "r"}


def test_misconfiguration_fails_at_build_time() -> None:
    with pytest.raises(ConfigError, match="non-empty list of models"):
        create_solver_judge([], None)
    with pytest.raises(ConfigError, match="non-empty list of models"):
        create_solver_judge("tiny:", None)
    with pytest.raises(ConfigError, match="solver_steps must be at least 1"):
        create_solver_judge([None], None, solver_steps=0)
    with pytest.raises(ConfigError, match=r"invoked with \{'input'"):
        create_solver_judge([ScriptedModel(["a"])], None).invoke({"input": ""})


def test_the_docs_picture_is_the_compiled_graph() -> None:
    section = DOCS.read_text(encoding="utf-8").split("## Solver–judge")[1]
    drawn = re.search(r"```mermaid\n(.*?)```", section, re.DOTALL)
    assert drawn is not None
    assert drawn.group(1).strip() == draw_mermaid(create_solver_judge([None] * 3, None)).strip()
