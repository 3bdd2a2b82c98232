"""Rollouts in Ray actors, on a real local Ray (2 CPUs, no dashboard) started once for the
module: the same episodes as in-process against a served model, a worker killed under a
rollout is a failed rollout while the batch goes on, and jobs Ray cannot take are refused
with the reason."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
import threading
import time
import types
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from hone.agent import arun_agent
from hone.errors import ConfigError, TrainingError
from hone.messages import text_of
from hone.models import OpenAICompatibleModel
from hone.models._protocol import ChatRequest, ModelBackend
from hone.models._scripted import ScriptedModel
from hone.rewards import reward_fn
from hone.serve import create_app, running_server
from hone.tools import tool
from hone.trajectory import Episode, LocalExecutor, RayExecutor, rollout_batch

ray = pytest.importorskip("ray")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first addend.
        b: The second addend.
    """
    return a + b


def reply(request: ChatRequest) -> str:
    """Call ``add`` once, then answer with the tool's result."""
    last = request.messages[-1]
    if last.role == "tool":
        return f"The answer is {text_of(last.content)}."
    a, b = text_of(last.content).split("+")
    return f'<tool_call>{{"name": "add", "arguments": {{"a": {a}, "b": {b}}}}}</tool_call>'


async def agent(task: Mapping[str, Any], model: ModelBackend) -> Any:
    if task.get("exit"):  # the worker process dies under this rollout
        os._exit(3)
    if task.get("hang"):  # the test kills this worker from outside
        Path(task["hang"]).write_text(str(os.getpid()))
        await asyncio.sleep(60)
    return await arun_agent(model, [add], task["question"], system="Add.")


def tasks(n: int) -> list[dict[str, Any]]:
    return [{"id": f"t{i}", "question": f"{i}+{i}", "answer": 2 * i} for i in range(n)]


correct = reward_fn(lambda ep: ep.final_text == f"The answer is {ep.task['answer']}.")


def comparable(episode: Episode) -> Any:
    """An episode without its ids, clocks, group id and made-up tool-call ids."""
    data = episode.to_dict()
    for key in ("id", "created_at", "group_id"):
        data.pop(key)
    for call in data["calls"]:
        call.pop("latency_s")
    seen: dict[str, str] = {}
    text = re.sub(
        r"call_[0-9a-f]{8,}", lambda m: seen.setdefault(m[0], f"call-{len(seen)}"), json.dumps(data)
    )
    return json.loads(text)


@pytest.fixture(scope="module")
def executor() -> Iterator[RayExecutor]:
    """Two actors, one rollout each at a time (so a dying worker takes only its own)."""
    with RayExecutor(actors=2, actor_concurrency=1, actor_cpus=0.5, num_cpus=2) as started:
        yield started


@pytest.fixture(scope="module")
def model() -> Iterator[OpenAICompatibleModel]:
    """A scripted model behind `hone serve`, and a client for it (what the actors get)."""
    scripted = ScriptedModel([reply], when_exhausted="cycle")
    with running_server(create_app(scripted, model_name="scripted")) as url:
        yield OpenAICompatibleModel("scripted", base_url=url, max_retries=0)


async def test_ray_rollouts_give_the_in_process_episodes(
    executor: RayExecutor, model: OpenAICompatibleModel
) -> None:
    runs = [
        await rollout_batch(
            agent, tasks(3), model, group_size=2, seed=11, reward=correct, executor=chosen
        )
        for chosen in (LocalExecutor(), executor)
    ]
    local, remote = runs
    assert [comparable(e) for e in remote.episodes] == [comparable(e) for e in local.episodes]
    assert len(remote.episodes) == 6 and not remote.failures
    assert all(e.reward == 1.0 and len(e.calls) == 2 for e in remote.episodes)
    assert all(c.token_ids and c.logprobs is not None for e in remote.episodes for c in e.calls)


async def test_a_worker_that_exits_mid_rollout_is_a_failed_rollout(
    executor: RayExecutor, model: OpenAICompatibleModel
) -> None:
    work = [*tasks(2), {"id": "dies", "question": "1+1", "exit": True}]
    batch = await rollout_batch(
        agent, work, model, group_size=2, seed=0, reward=correct, executor=executor
    )
    failed = [e for e in batch.episodes if e.status == "error"]
    assert {e.task_id for e in failed} == {"dies"} and len(batch.failures) == 2
    assert all("the Ray worker running this rollout died" in (e.error or "") for e in failed)
    assert all(e.reward is None for e in failed)
    assert [e.reward for e in batch.episodes if e.task_id != "dies"] == [1.0] * 4
    # The dead actors were replaced: the next step runs on the new ones.
    again = await rollout_batch(agent, tasks(2), model, group_size=2, seed=1, executor=executor)
    assert [e.status for e in again.episodes] == ["ok"] * 4
    with pytest.raises(TrainingError, match="more than max_failures=1"):
        await rollout_batch(
            agent, work, model, group_size=2, seed=0, max_failures=1, executor=executor
        )


async def test_a_worker_killed_from_outside_is_a_failed_rollout(
    executor: RayExecutor, model: OpenAICompatibleModel, tmp_path: Path
) -> None:
    pid_file = tmp_path / "pid"
    work = [*tasks(2), {"id": "killed", "question": "1+1", "hang": str(pid_file)}]

    def kill_when_it_hangs() -> None:
        deadline = time.monotonic() + 60
        while not pid_file.exists() or not pid_file.read_text():
            if time.monotonic() > deadline:
                return
            time.sleep(0.05)
        os.kill(int(pid_file.read_text()), signal.SIGKILL)

    killer = threading.Thread(target=kill_when_it_hangs, daemon=True)
    killer.start()
    batch = await rollout_batch(agent, work, model, group_size=1, seed=0, executor=executor)
    killer.join(timeout=5)
    assert [(e.task_id, e.status) for e in batch.episodes] == [
        ("t0", "ok"),
        ("t1", "ok"),
        ("killed", "error"),
    ]
    assert "died" in (batch.failures[0].error or "")


async def test_an_unpicklable_program_is_refused_with_its_name(
    executor: RayExecutor, model: OpenAICompatibleModel
) -> None:
    lock = threading.Lock()

    async def locked(task: Mapping[str, Any], model: ModelBackend) -> Any:
        with lock:
            return await agent(task, model)

    with pytest.raises(ConfigError) as caught:
        await rollout_batch(locked, tasks(1), model, group_size=2, executor=executor)
    message = str(caught.value)
    assert "the rollout program" in message and "locked" in message
    assert "does not pickle" in message and "lock" in message


async def test_a_model_with_weights_is_refused(executor: RayExecutor) -> None:
    torch = pytest.importorskip("torch")

    class Local(ScriptedModel):
        def __init__(self) -> None:
            super().__init__([reply])
            self.weights = torch.nn.Linear(2, 2)

    with pytest.raises(ConfigError, match="holds a torch Linear: model weights never travel"):
        await rollout_batch(agent, tasks(1), Local(), group_size=2, executor=executor)


async def test_a_job_the_workers_cannot_load_is_a_config_error(
    executor: RayExecutor, model: OpenAICompatibleModel, tmp_path: Path
) -> None:
    # A module the workers cannot import (its file is not on their path), sent by reference.
    ghost = types.ModuleType("hone_ghost_program")
    ghost.__file__ = str(tmp_path / "hone_ghost_program.py")
    exec("async def program(task, model):\n    return None\n", ghost.__dict__)
    sys.modules[ghost.__name__] = ghost
    executor.by_value = []  # nothing by value
    try:
        with pytest.raises(ConfigError, match=r"cannot be loaded in a Ray worker.*hone_ghost"):
            await rollout_batch(ghost.program, tasks(1), model, group_size=2, executor=executor)
        executor.by_value = None  # by default, modules outside the installation go by value
        batch = await rollout_batch(ghost.program, tasks(1), model, group_size=2, executor=executor)
        assert [e.status for e in batch.episodes] == ["ok", "ok"]
    finally:
        executor.by_value = None
        del sys.modules[ghost.__name__]


async def test_misuse_inside_a_worker_is_raised_here(
    executor: RayExecutor, model: OpenAICompatibleModel
) -> None:
    with pytest.raises(ConfigError, match="roles"):
        await rollout_batch(
            agent, tasks(1), {"a": model}, group_size=2, roles=["a", "b"], executor=executor
        )
