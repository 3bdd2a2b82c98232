"""Train a graph agent: a ``create_react_agent`` built for serving, trained with RL as it is.

The agent is compiled once, with the model it is served with. During training every rollout
gives its model node the recording policy instead (``hone.graph.get_model``), so the same
graph runs in rollouts, evaluation and serving, with the same prompts, parse-error feedback
and final-answer turn as ``run_agent``. Episodes say why the agent stopped
(``Episode.stop_reason``). Offline, on a CPU, with the built-in (untrained) tiny model::

    python examples/training/graph_agent.py
"""

from __future__ import annotations

import asyncio
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from transformers import AutoModelForCausalLM, AutoTokenizer

from hone.agent import FinalAnswer
from hone.graph import use_model
from hone.graph.prebuilt import create_react_agent
from hone.models import SamplingOptions
from hone.models.tiny import ensure_tiny_model
from hone.rewards import reward_fn
from hone.tools import tool
from hone.train import EvalConfig, RLConfig, RunResult, Trainer, TrainerConfig, train_rl
from hone.trajectory import Episode, TrajectoryStore, graph_program

SYSTEM = "Add numbers with the add tool, then give the sum."


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first addend.
        b: The second addend.
    """
    return a + b


def tasks(count: int) -> list[dict[str, Any]]:
    """``count`` small additions."""
    return [{"id": f"add-{i}", "a": i, "b": 2 * i + 1} for i in range(count)]


def question(task: dict[str, Any]) -> dict[str, Any]:
    """The graph input for a task."""
    return {"messages": [("user", f"What is {task['a']} + {task['b']}?")]}


@reward_fn
def correct(episode: Episode) -> float:
    """1.0 when the answer names the sum."""
    return float(str(episode.task["a"] + episode.task["b"]) in episode.final_answer)


def build_agent(model: Any) -> Any:
    """The agent as it is served: two tool rounds at most (``recursion_limit=6``), then
    hone's final-answer turn."""
    return create_react_agent(
        model,
        [add],
        prompt=SYSTEM,
        options=SamplingOptions(max_tokens=32),
        final_answer=FinalAnswer(),
    )


async def train(agent: Any, *, steps: int = 2, output_dir: Path) -> RunResult:
    """A few RL steps on the tiny model; the compiled ``agent`` is not rebuilt."""
    program = graph_program(agent, make_input=question, config={"recursion_limit": 6})
    config = RLConfig(
        group_size=2,
        tasks_per_step=2,
        steps=steps,
        max_tokens=32,
        checkpoint_every=steps,
        trainer=TrainerConfig(lr=1e-5),
        eval=EvalConfig(every=0, at_start=False),
    )
    path = ensure_tiny_model()
    trainer = Trainer(
        AutoModelForCausalLM.from_pretrained(path),
        AutoTokenizer.from_pretrained(path),
        config=config.trainer,
    )
    return await train_rl(
        trainer, program, tasks(8), correct, config=config, output_dir=output_dir, seed=0
    )


def main(steps: int = 2) -> RunResult:
    """Train, show why the episodes stopped, then serve the trained model with the same
    compiled agent."""
    agent = build_agent("tiny:")  # what you serve before training: the untrained tiny model
    output_dir = Path(tempfile.mkdtemp(prefix="graph-agent-"))
    result = asyncio.run(train(agent, steps=steps, output_dir=output_dir))
    for metrics in result.metrics:
        row = metrics.to_row()
        print(f"step {metrics.step}: reward {row['reward']:.2f}, {row['calls']:.0f} model calls")
    with TrajectoryStore(output_dir / "trajectories.db") as store:
        stops = Counter(str(e.stop_reason) for e in store.query())
    print("why the episodes stopped:", dict(sorted(stops.items())))
    # Serving the trained weights: give the run the model; the graph is unchanged.
    with use_model(f"hf:{result.model_dir}"):
        state = agent.invoke(question({"a": 2, "b": 3}), {"recursion_limit": 6})
    # The tiny model starts untrained: a few RL steps teach it nothing yet (SFT on a teacher
    # first, as docs/training.md's walk-through does, then RL for many more steps).
    print("served answer:", repr(state["messages"][-1].text[:60]))
    return result


if __name__ == "__main__":
    main()
