"""What the training benchmarks share: the tiny models, the tasks, the reward and the hone side.

Both frameworks load the same saved tiny Qwen2 (``hone.models.tiny.build_tiny_model``). The
multi-turn benchmark needs a model that actually calls tools, so :func:`tool_model` teaches the
tiny model the task's transcript format with a short SFT run (hone's own
``Trainer.sft_step``) before anything is timed. It trains on the tool schema as hone renders it *and*
as transformers renders it for TRL, so neither side's prompts are out of distribution.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from hone.agent import AgentOptions, arun_agent
from hone.messages import UserMessage
from hone.models import BatchingModel, ChatRequest, SamplingOptions, TransformersModel
from hone.models.tiny import TinyConfig, build_tiny_model
from hone.tools import ToolRegistry, tool
from hone.train import Trainer, TrainerConfig, TrainingSample, episode_samples, group_advantages
from hone.trajectory import RecordingModel, rollout_batch

#: A smaller model for ``--quick`` (smoke tests): same code paths, meaningless figures.
QUICK_TINY = TinyConfig(
    hidden_size=32, layers=1, heads=2, kv_heads=1, intermediate=64, vocab_size=400
)


def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first number.
        b: The second number.
    """
    return a + b


ADD_TOOL = tool(add)


def load(path: Path) -> tuple[Any, Any]:
    """A fresh float32 copy of the model at ``path`` and its tokenizer."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    return model, AutoTokenizer.from_pretrained(path)


def base_model(workdir: Path, quick: bool) -> Path:
    """The untrained tiny model, built once under ``workdir``."""
    path = workdir / ("tiny-quick" if quick else "tiny")
    if not (path / "config.json").is_file():
        build_tiny_model(path, config=QUICK_TINY if quick else None)
    return path


# ------------------------------------------------------------------ tasks and reward


def single_turn_tasks(count: int, seed: int = 0) -> list[dict[str, Any]]:
    """``count`` one-question prompts, each with the integer answer as ``target``."""
    rng = random.Random(seed)
    tasks = []
    for i in range(count):
        a, b = rng.randrange(10), rng.randrange(10)
        tasks.append({"id": f"q{i}", "prompt": f"What is {a} plus {b}?", "target": a + b})
    return tasks


def tool_tasks(count: int, seed: int = 1) -> list[dict[str, Any]]:
    """``count`` three-addend sums to do with two ``add`` calls (three model turns)."""
    rng = random.Random(seed)
    tasks = []
    for i in range(count):
        a, b, c = (rng.randrange(10) for _ in range(3))
        prompt = f"Use the add tool to compute {a} + {b} + {c}."
        tasks.append({"id": f"t{i}", "prompt": prompt, "target": a + b + c, "terms": [a, b, c]})
    return tasks


def score(text: str, target: int) -> float:
    """1 for the right number in the answer, plus a small length term so groups rarely tie."""
    return (1.0 if str(target) in text else 0.0) + 0.1 * (len(text) % 5)


# ------------------------------------------------------------------ teaching the tool format


def _transcript(task: dict[str, Any]) -> list[dict[str, Any]]:
    a, b, c = task["terms"]

    def call(x: int, y: int) -> dict[str, Any]:
        arguments = {"a": x, "b": y}
        return {"type": "function", "function": {"name": "add", "arguments": arguments}}

    return [
        {"role": "user", "content": task["prompt"]},
        {"role": "assistant", "content": "", "tool_calls": [call(a, b)]},
        {"role": "tool", "name": "add", "content": str(a + b)},
        {"role": "assistant", "content": "", "tool_calls": [call(a + b, c)]},
        {"role": "tool", "name": "add", "content": str(a + b + c)},
        {"role": "assistant", "content": f"The answer is {a + b + c}."},
    ]


def _ids(
    tokenizer: Any, messages: list[dict[str, Any]], tools: list[Any], prompt: bool
) -> list[int]:
    text = tokenizer.apply_chat_template(
        messages, tools=tools, add_generation_prompt=prompt, tokenize=False
    )
    return [int(i) for i in tokenizer(text, add_special_tokens=False)["input_ids"]]


def sft_sample(tokenizer: Any, task: dict[str, Any], tools: list[Any]) -> TrainingSample:
    """One transcript as a sample whose loss mask covers the assistant turns only."""
    messages = _transcript(task)
    ids = _ids(tokenizer, messages, tools, prompt=False)
    mask = [False] * len(ids)
    for k, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        start = len(_ids(tokenizer, messages[:k], tools, prompt=True))
        end = len(_ids(tokenizer, messages[: k + 1], tools, prompt=False))
        mask[start:end] = [True] * (end - start)
    return TrainingSample(input_ids=ids, loss_mask=mask)


def tool_model(workdir: Path, quick: bool, steps: int) -> Path:
    """The tiny model after ``steps`` SFT steps on the tool transcripts (built once)."""
    from transformers.utils import get_json_schema  # type: ignore[attr-defined]

    path = workdir / ("tool-quick" if quick else "tool")
    if (path / "config.json").is_file():
        return path
    model, tokenizer = load(base_model(workdir, quick))
    trainer = Trainer(model, tokenizer, config=TrainerConfig(lr=3e-3, micro_batch_size=16))
    schemas = [ToolRegistry([ADD_TOOL]).specs(), [get_json_schema(add)]]
    tasks = tool_tasks(512, seed=99)
    pool = [sft_sample(tokenizer, t, schemas[i % 2]) for i, t in enumerate(tasks)]
    rng = random.Random(0)
    for _ in range(steps):
        trainer.sft_step(rng.sample(pool, 16))
    trainer.save_model(path)
    return path


# ------------------------------------------------------------------ the hone side


@dataclass(frozen=True, slots=True)
class StepFigures:
    """One measured RL step.

    ``sampled``: tokens the policy generated (tool results excluded). ``trained``: tokens of
    the sequences the loss was computed on, prompt and tool results included, padding excluded.
    """

    seconds: float
    sampled: int
    trained: int
    calls: int

    @property
    def tokens_per_s(self) -> float:
        """(sampled + trained) tokens per second of wall time."""
        return (self.sampled + self.trained) / self.seconds


class HoneRL:
    """hone's RL step: ``rollout_batch`` through RecordingModel(BatchingModel(TransformersModel))
    → group advantages → ``episode_samples`` → ``Trainer.train_step``.

    Args:
        path: the model directory.
        group_size: rollouts per task (G).
        max_tokens: tokens per model call.
        max_turns: model calls per rollout; 1 is single-turn (no tools).
    """

    def __init__(self, path: Path, *, group_size: int, max_tokens: int, max_turns: int) -> None:
        model, tokenizer = load(path)
        self.trainer = Trainer(
            model, tokenizer, config=TrainerConfig(loss_type="dapo", lr=1e-5, micro_batch_size=64)
        )
        #: The local backend (its ``prefix_cache_stats`` show how much KV state turns reused).
        self.local = TransformersModel(model, tokenizer)
        self.backend = RecordingModel(BatchingModel(self.local))
        self.group_size = group_size
        self.sampling = SamplingOptions(max_tokens=max_tokens, temperature=1.0)
        self.max_turns = max_turns
        self._step = 0

    async def _program(self, task: dict[str, Any], model: Any) -> Any:
        if self.max_turns == 1:
            request = ChatRequest(
                messages=(UserMessage(content=task["prompt"]),), options=self.sampling
            )
            return (await model.complete(request)).text
        options = AgentOptions(max_steps=self.max_turns, sampling=self.sampling, final_answer=None)
        return await arun_agent(model, [ADD_TOOL], task["prompt"], options=options)

    def step(self, tasks: list[dict[str, Any]]) -> StepFigures:
        """One RL step on ``tasks`` (× G rollouts each), timed end to end."""
        started = time.perf_counter()
        self._step += 1
        batch = asyncio.run(
            rollout_batch(
                self._program, tasks, self.backend, group_size=self.group_size, seed=self._step
            )
        )
        if batch.failures:
            raise RuntimeError(f"a hone rollout failed: {batch.failures[0].error}")
        rewards = [score(str(e.output or ""), e.task["target"]) for e in batch.episodes]
        advantages = group_advantages(torch.tensor(rewards), self.group_size)
        samples = [
            sample
            for episode, advantage in zip(batch.episodes, advantages.tolist(), strict=True)
            for sample in episode_samples(episode, advantage).samples
        ]
        self.trainer.train_step(samples)
        seconds = time.perf_counter() - started
        calls = [c for e in batch.episodes for c in e.calls]
        return StepFigures(
            seconds=seconds,
            sampled=sum(len(c.token_ids or ()) for c in calls),
            trained=sum(len(s.input_ids) for s in samples),
            calls=len(calls),
        )


def describe(figures: list[StepFigures]) -> dict[str, Any]:
    """Medians and per-step lists for the results JSON."""
    import statistics

    return {
        "median_s": round(statistics.median(f.seconds for f in figures), 4),
        "median_tokens_per_s": round(statistics.median(f.tokens_per_s for f in figures), 1),
        "steps": [
            {
                "seconds": round(f.seconds, 4),
                "sampled": f.sampled,
                "trained": f.trained,
                "calls": f.calls,
            }
            for f in figures
        ],
    }
