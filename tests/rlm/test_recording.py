"""RLM runs are trainable: through a rollout, every call is recorded under its role (root,
sub-calls, and each recursion depth), with token ids, and the run's outcome is data."""

from __future__ import annotations

from typing import Any

from hone.models import ScriptedModel
from hone.rlm import RLMBudget, RLMConfig, arun_rlm, rlm_roles
from hone.rlm.ledger import ledger_reader, ledger_reward, ledger_teacher, make_ledger_task
from hone.trajectory import rollout

from ._helpers import Overflowing, code, finish


def test_roles_per_depth() -> None:
    assert rlm_roles(0) == ("rlm", "llm_query")
    assert rlm_roles(2) == ("rlm", "llm_query", "rlm@1", "llm_query@1", "rlm@2", "llm_query@2")


async def test_a_rollout_records_each_role_as_its_own_episode() -> None:
    marker = "UNIQUE-CONTEXT-MARKER"
    context = "line\n" * 20_000 + marker

    async def program(task: dict[str, Any], models: Any) -> Any:
        # the program never passes models on: each call asks the run for its role's model
        return await arun_rlm(None, context, task["question"], config=RLMConfig(max_depth=1))

    root = ScriptedModel(
        [
            code("print(llm_query_batched([context[:50], context[50:100]]))"),
            code("inner = rlm_query('Where is the marker?', context[-40:])"),
            finish("found"),
        ]
    )
    reader = ScriptedModel(["R1", "R2"], name="reader")
    child = ScriptedModel([code("where = llm_query('last line: ' + context[-21:])"), finish("end")])
    child_reader = ScriptedModel(["at the end"], name="child-reader")
    models = {"rlm": root, "llm_query": reader, "rlm@1": child, "llm_query@1": child_reader}
    episodes = await rollout(program, {"id": "t1", "question": "Find it"}, models, seed=3)

    by_role = {e.role: e for e in episodes}
    assert list(by_role) == ["rlm", "llm_query", "rlm@1", "llm_query@1"]
    assert [len(by_role[r].calls) for r in by_role] == [3, 2, 2, 1]
    assert all(call.role == role for role, e in by_role.items() for call in e.calls)
    # exact ids for training, and a seed per call derived from the rollout's
    assert all(c.token_ids and c.prompt_token_ids for e in episodes for c in e.calls)
    assert len({c.sampling["seed"] for c in by_role["rlm"].calls}) == 3
    # the root never saw the context; the sub-calls saw only their pieces
    root_texts = [m["content"] for c in by_role["rlm"].calls for m in c.messages]
    assert not any(marker in str(t) for t in root_texts)
    assert [c.messages[-1]["content"] for c in by_role["llm_query"].calls] == [
        context[:50],
        context[50:100],
    ]
    assert by_role["llm_query@1"].calls[0].messages[-1]["content"].endswith(marker)
    # the outcome is data on the episodes
    assert by_role["rlm"].stop_reason == "answered" and by_role["rlm"].status == "ok"
    assert by_role["rlm@1"].stop_reason == "answered"
    assert by_role["rlm"].output["answer"] == "found"
    info = by_role["rlm"].metadata["rlm"]
    assert info["stop_reason"] == "answered" and info["usage"]["sub_calls"] == 4
    assert info["usage"]["roles"]["llm_query@1"]["calls"] == 1


async def test_a_ledger_rollout_with_the_teacher_is_rewarded() -> None:
    task = make_ledger_task(5, chars=30_000)

    async def program(record: dict[str, Any], models: Any) -> Any:
        ledger = make_ledger_task(record["seed"], chars=record["chars"])
        return await arun_rlm(None, ledger.context, ledger.question, config=RLMConfig(max_depth=0))

    teacher, reader = ledger_teacher(chunk_chars=10_000), ledger_reader()
    models = {"rlm": teacher, "llm_query": reader}
    episodes = await rollout(program, task.record(), models, reward=ledger_reward())
    root, sub = episodes
    assert (root.role, sub.role) == ("rlm", "llm_query")
    assert len(root.calls) == 3 and len(sub.calls) >= 3
    assert root.reward == 1.0 and root.output["answer"] == task.answer
    assert "context" not in root.task  # the task record stays small


async def test_a_rollout_missing_a_role_fails_with_the_roles_named() -> None:
    async def program(task: Any, models: Any) -> Any:
        return await arun_rlm(None, "ctx", "q?", config=RLMConfig(max_depth=1))

    (episode, _) = await rollout(
        program, {"id": "t"}, {"rlm": ScriptedModel([finish()]), "llm_query": ScriptedModel(["x"])}
    )
    assert episode.status == "error"
    assert "no model for role 'rlm@1'" in str(episode.error)
    assert "roles=rlm_roles(1)" in str(episode.error)


async def test_a_shared_model_given_roles_records_a_budget_stop() -> None:
    async def program(task: Any, models: Any) -> Any:
        config = RLMConfig(max_depth=0, budget=RLMBudget(max_iterations=2))
        return await arun_rlm(None, "ctx", "q?", config=config)

    root = ScriptedModel([code("print(1)")], when_exhausted="cycle")
    episodes = await rollout(program, {"id": "t"}, root, roles=rlm_roles(0))
    first = episodes[0]
    assert first.role == "rlm" and len(first.calls) == 2
    assert first.status == "max_steps" and first.stop_reason == "step_budget"
    assert first.metadata["rlm"]["stop_reason"] == "iterations"


async def test_an_overflowed_root_prompt_is_the_episodes_status() -> None:
    async def program(task: Any, models: Any) -> Any:
        return await arun_rlm(None, "ctx", "q?", config=RLMConfig(max_depth=0))

    episodes = await rollout(program, {"id": "t"}, Overflowing(), roles=rlm_roles(0))
    assert episodes[0].status == "context_overflow"
    assert episodes[0].stop_reason == "context_overflow"
    assert episodes[0].metadata["rlm"]["stop_reason"] == "context_overflow"
