"""Follow a chain of keys with a ``lookup`` tool, then ``answer``: the task docs/training.md
walks through, from a scripted teacher to SFT and RL on the built-in tiny model.

Each task is a small table. The agent starts from a key, looks it up, follows values that are
keys themselves (``k`` and two digits) and answers with the first value that is not a key
(``v`` and two digits).
Chains have 2 to 4 hops; the table also holds distractor keys. The teacher is scripted and
impatient: in 80% of its episodes it answers after at most two lookups, whatever it holds.

Run it with the CLI (full size, about ten minutes on two CPU cores), or as a script (a small
run of a minute or two)::

    hone train examples/training/key_chain.yaml
    python examples/training/key_chain.py
"""

from __future__ import annotations

import json
import random
import re
from typing import Any

from hone.agent import AgentOptions, arun_agent
from hone.messages import AnyMessage, SystemMessage, ToolMessage, UserMessage
from hone.models import ChatRequest, ModelBackend, SamplingOptions, ScriptedModel
from hone.rewards import reward_fn
from hone.tools import ToolContext, tool
from hone.trajectory import Episode, current_rollout

SYSTEM = "Follow the k keys with lookup until you reach a v value, then answer it."
KEY = re.compile(r"k\d\d")


def make_task(rng: random.Random, hops: int, name: str, distractors: int = 3) -> dict[str, Any]:
    """One table whose chain from ``start`` takes ``hops`` lookups to reach a value."""
    keys = [f"k{n}" for n in rng.sample(range(10, 100), hops + distractors)]
    chain, others = keys[:hops], keys[hops:]
    answer = f"v{rng.randrange(10, 100)}"
    table = {chain[i]: chain[i + 1] for i in range(hops - 1)}
    table[chain[-1]] = answer
    for key in others:
        table[key] = rng.choice([f"v{rng.randrange(10, 100)}", rng.choice(keys)])
    return {"id": name, "start": chain[0], "table": table, "answer": answer, "hops": hops}


def tasks(
    split: str,
    seed: int = 0,
    *,
    train_size: int = 4000,
    eval_size: int = 200,
    min_hops: int = 2,
    max_hops: int = 4,
) -> list[dict[str, Any]]:
    """The task source: ``train_size`` or ``eval_size`` tables, from separate seeded streams."""
    size = train_size if split == "train" else eval_size
    rng = random.Random(f"key-chain:{seed}:{split}")
    return [make_task(rng, rng.randint(min_hops, max_hops), f"{split}-{i}") for i in range(size)]


@tool
def lookup(key: str, ctx: ToolContext) -> str:
    """Read the value stored under a key."""
    table: dict[str, str] = ctx.deps
    if key not in table:
        raise KeyError(f"no key {key!r}")  # the model sees an error result, and it is counted
    return table[key]


@tool
def answer(value: str) -> str:
    """Give the final answer."""
    return "ok"


async def program(task: dict[str, Any], model: ModelBackend) -> list[AnyMessage]:
    """The agent: hone's agent loop with ``lookup`` and ``answer`` (a stop tool)."""
    options = AgentOptions(
        max_steps=6,
        stop_tools={"answer"},
        final_answer=None,  # no extra turn: an episode that never answers scores 0
        sampling=SamplingOptions(max_tokens=32),
    )
    messages = [SystemMessage(content=SYSTEM), UserMessage(content=f"Start: {task['start']}")]
    return await arun_agent(model, [lookup, answer], messages, options=options, deps=task["table"])


@reward_fn
def reward(episode: Episode) -> float:
    """1.0 when the agent answered the chain's end. ``final_answer`` is the answer tool's
    argument (``final_text`` is empty for an agent that ends with a stop tool)."""
    return float(episode.final_answer == episode.task["answer"])


def _call(name: str, argument: str) -> str:
    key = "key" if name == "lookup" else "value"
    return f"<tool_call>\n{json.dumps({'name': name, 'arguments': {key: argument}})}\n</tool_call>"


def teacher_reply(request: ChatRequest) -> str:
    """The scripted teacher's next turn. It is impatient: in 80% of its episodes it answers
    after at most two lookups, whatever it holds.

    Its randomness comes from the rollout's seed, which the student never sees. Drawing it
    from the prompt instead (say, a hash of the conversation) would make the teacher's
    mistakes a function of what the student sees: the student would learn *when* to give up.
    """
    rollout = current_rollout()
    rng = random.Random(rollout.seed if rollout is not None else 0)
    patience = 2 if rng.random() < 0.8 else 6
    results = [m for m in request.messages if isinstance(m, ToolMessage)]
    start = next(m.text for m in request.messages if isinstance(m, UserMessage)).split()[-1]
    value = results[-1].text if results else start
    if not KEY.fullmatch(value) or len(results) >= patience:
        return _call("answer", value)
    return _call("lookup", value)


def teacher() -> ScriptedModel:
    """The teacher as a model backend (in real runs: a large model, e.g. ``openai:gpt-4.1``)."""
    return ScriptedModel([teacher_reply], name="teacher", when_exhausted="cycle")


#: A small run for a quick check (CI runs this file): the same config at toy sizes.
SMALL = {
    "tasks": {"args": {"train_size": 64, "eval_size": 16}},
    "sft": {"max_steps": 30, "eval": {"every": 15}},
    "rl": {"steps": 2, "tasks_per_step": 2, "group_size": 4, "eval": {"every": 2}},
}


if __name__ == "__main__":
    import tempfile
    from pathlib import Path

    from hone.train import load_config, run_training

    out = tempfile.mkdtemp(prefix="key-chain-")
    overrides = {**SMALL, "output_dir": out}
    config = load_config(Path(__file__).with_name("key_chain.yaml"), overrides=overrides)
    result = run_training(config)
    print(f"SFT: {result.sft.steps if result.sft else 0} steps; RL: {result.steps} steps")
    print(f"best held-out success {result.best_value} at RL step {result.best_step}")
    print(f"model: {result.model_dir}; warnings: {[w.kind for w in result.warnings]}")
