"""Teach the built-in tiny model to say a number: SFT on a teacher's answers, then GRPO.

Everything a run needs is named in ``say_number.yaml``: the task source, the agent program, the
reward and the teacher. Run it with the CLI or as a script (offline, on a CPU)::

    hone train examples/training/say_number.yaml
    python examples/training/say_number.py
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hone.messages import AnyMessage, text_of
from hone.models import ChatRequest, ModelBackend, SamplingOptions, ScriptedModel, make_request
from hone.rewards import reward_fn
from hone.trajectory import Episode


def tasks(split: str, seed: int = 0) -> list[dict[str, Any]]:
    """The task source: numbers 0-39 to train on, 40-49 held out for evaluation."""
    numbers = range(40) if split == "train" else range(40, 50)
    return [{"id": f"n{n}", "n": n} for n in numbers]


async def program(task: dict[str, Any], model: ModelBackend) -> list[AnyMessage]:
    """The agent: one model call. Any ``program(task, model)`` works, e.g. ``arun_agent``."""
    request = make_request(f"Say the number {task['n']}.", options=SamplingOptions(max_tokens=8))
    completion = await model.complete(request)
    return [*request.messages, completion.message]


@reward_fn
def reward(episode: Episode) -> float:
    """1.0 when the answer is exactly the number, else 0.0."""
    return float(episode.final_answer.strip() == str(episode.task["n"]))


def _answer(request: ChatRequest) -> str:
    return text_of(request.messages[-1].content).split()[-1].rstrip(".")


def teacher() -> ScriptedModel:
    """A perfect teacher for SFT (in real runs: a large model, e.g. ``openai:gpt-4.1``)."""
    return ScriptedModel([_answer], name="teacher", when_exhausted="cycle")


if __name__ == "__main__":
    import tempfile

    from hone.train import load_config, run_training

    # A fresh folder per run (the config's own output_dir refuses to be reused without --resume).
    out = tempfile.mkdtemp(prefix="say-number-")
    config = load_config(Path(__file__).with_name("say_number.yaml"), overrides={"output_dir": out})
    result = run_training(config)
    last = result.metrics[-1].to_row()
    print(f"trained {result.steps} RL steps; model saved to {result.model_dir}")
    print(f"last step: reward={last['reward']:.2f} eval_success={last.get('eval_success', 0):.2f}")
