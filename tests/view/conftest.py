"""Real data for the viewer's tests, made with hone's own APIs: a short RL run of the tiny
model (metrics, a trajectory store, a saved tokenizer), a tool-using agent's episodes
recorded through the rollout API, and a checkpoint database with a fork and a paused thread."""

from __future__ import annotations

import asyncio
import dataclasses
import runpy
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hone.agent import arun_agent
from hone.checkpoint import SqliteSaver
from hone.messages import AnyMessage, text_of
from hone.models import (
    ChatRequest,
    Completion,
    ModelBackend,
    SamplingOptions,
    ScriptedModel,
    TransformersModel,
    Usage,
    make_request,
)
from hone.models.tiny import END_OF_TURN
from hone.rewards import reward_fn
from hone.tools import tool
from hone.trajectory import Episode, rollout_batch, write_jsonl

HERE = Path(__file__).resolve().parent
GRAPH_TARGET = f"{HERE / 'graph_app.py'}:graph"


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first addend.
        b: The second addend.
    """
    return a + b


def agent_reply(request: ChatRequest) -> str:
    """Call ``add`` once, then answer with its result (wrongly on odd seeds)."""
    last = request.messages[-1]
    if last.role == "tool":
        wrong = (request.options.seed or 0) % 2
        return f"The answer is {int(text_of(last.content)) + wrong}."
    a, b = text_of(last.content).split("+")
    return f'<tool_call>{{"name": "add", "arguments": {{"a": {a}, "b": {b}}}}}</tool_call>'


async def agent_program(task: Mapping[str, Any], model: ModelBackend) -> Any:
    return await arun_agent(model, [add], task["question"], system="Add the numbers.")


@reward_fn
def agent_reward(episode: Episode) -> float:
    return float(episode.final_text == f"The answer is {episode.task['answer']}.")


async def say_number(task: dict[str, Any], model: ModelBackend) -> list[AnyMessage]:
    """One call answering "Say the number N"."""
    request = make_request(f"Say the number {task['n']}.", options=SamplingOptions(max_tokens=6))
    completion = await model.complete(request)
    return [*request.messages, completion.message]


@reward_fn
def number_reward(episode: Episode) -> float | None:
    """None for task 'none' (excluded), 0.5 for 'flat' (no signal), else alternating."""
    if episode.task_id == "none":
        return None
    if episode.task_id == "flat":
        return 0.5
    return float(episode.metadata["rollout_index"] % 2 == 0)


class ForcedModel(ScriptedModel):
    """Scripted replies recorded as a real model would give them: the prompt and reply token
    ids of a real tokenizer and chat template, and each reply token's logprob under the real
    model (teacher forcing). The replies are scripted so the episode has a tool call."""

    def __init__(self, replies: Any, model: TransformersModel) -> None:
        super().__init__(replies, name=model.name, when_exhausted="cycle")
        self.real = model

    def _completion(self, request: ChatRequest, reply: Any) -> Completion:
        import torch

        scripted = super()._completion(request, reply)
        prompt = self.real.encode_prompt(request)
        tokenizer = self.real.tokenizer
        ids = tokenizer(scripted.text + END_OF_TURN, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            logits = self.real.model(torch.tensor([prompt + ids])).logits[0]  # (L, V)
        logprobs = logits.float().log_softmax(-1)
        picked = [float(logprobs[len(prompt) + i - 1, t]) for i, t in enumerate(ids)]
        return dataclasses.replace(
            scripted,
            prompt_token_ids=tuple(prompt),
            token_ids=tuple(ids),
            logprobs=tuple(picked),
            usage=Usage(prompt_tokens=len(prompt), completion_tokens=len(ids)),
        )


@dataclass(frozen=True)
class Fixtures:
    run_dir: Path
    agent_jsonl: Path
    checkpoints: Path


def _train(run_dir: Path, tiny_dir: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from hone.models._tiny_corpus import default_corpus
    from hone.models.tiny import TinyConfig, build_tiny_model
    from hone.train import EvalConfig, RLConfig, Trainer, TrainerConfig, train_rl

    small = TinyConfig(
        hidden_size=32, layers=1, heads=2, kv_heads=1, intermediate=64, max_position=256,
        vocab_size=512,
    )  # fmt: skip
    build_tiny_model(tiny_dir, corpus=default_corpus(200), config=small)
    trainer_config = TrainerConfig(lr=1e-3, micro_batch_size=4)
    trainer = Trainer(
        AutoModelForCausalLM.from_pretrained(tiny_dir),
        AutoTokenizer.from_pretrained(tiny_dir),
        config=trainer_config,
    )
    tasks = [{"id": "none", "n": 0}, {"id": "flat", "n": 1}, {"id": "a", "n": 2}]
    config = RLConfig(
        group_size=2, tasks_per_step=3, steps=2, max_tokens=6, trainer=trainer_config,
        eval=EvalConfig(every=1),
    )  # fmt: skip
    asyncio.run(
        train_rl(trainer, say_number, tasks, number_reward, config=config, output_dir=run_dir)
    )


def _agent_episodes(path: Path, tiny_dir: Path) -> None:
    tasks = [{"id": "sum-3-4", "question": "3+4", "answer": 7}]
    model = ForcedModel([agent_reply], TransformersModel.from_pretrained(tiny_dir))
    batch = asyncio.run(
        rollout_batch(agent_program, tasks, model, group_size=3, seed=1, reward=agent_reward)
    )
    write_jsonl(batch.episodes, path)


def _threads(path: Path) -> None:
    builder = runpy.run_path(str(HERE / "graph_app.py"))["builder"]
    with SqliteSaver.from_conn_string(str(path)) as saver:
        graph = builder.compile(checkpointer=saver)
        graph.invoke({"count": 0, "log": []}, {"configurable": {"thread_id": "t1"}})
        history = list(graph.get_state_history({"configurable": {"thread_id": "t1"}}))
        graph.update_state(history[3].config, {"count": 5})  # a fork from step 1
        paused = builder.compile(checkpointer=saver, interrupt_before=["act"])
        paused.invoke({"count": 0, "log": []}, {"configurable": {"thread_id": "t2"}})


@pytest.fixture(scope="session")
def data(tmp_path_factory: pytest.TempPathFactory) -> Fixtures:
    """The three sources, made once for the session."""
    pytest.importorskip("torch")
    root = tmp_path_factory.mktemp("view")
    _train(root / "run", root / "tiny")
    _agent_episodes(root / "agent.jsonl", root / "tiny")
    _threads(root / "checkpoints.db")
    return Fixtures(root / "run", root / "agent.jsonl", root / "checkpoints.db")
