"""What the search benchmarks share: the countdown agent as a checkpointed graph, and the
demo's SFT model as the starting point (built once per size and seed, then cached).

The graph plays exactly the demo's agent (:class:`hone.demo.CountdownAgent`): the same system
prompt, user prompt, tools, ``calc`` feedback and request rendering (tool schemas left out of
the template, as the demo trains), one super-step per agent turn (model call + tool calls), so
each checkpoint is a point between two turns that search can fork. The tools' episode state
(what was checked, what was submitted) is rebuilt from the conversation, so it lives in the
checkpoint too. A critique (a user message) after a submission starts the turn budget again.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any, TypedDict

from bench._common import console
from hone.graph import add_messages

#: torch threads: one, because the machine these figures come from was shared and loaded (a
#: 2-thread op waits on its descheduled twin there, slower than one thread).
THREADS = 1
#: Where the SFT starting points are kept between benchmark runs.
CACHE = Path.home() / ".cache" / "hone-bench" / "search-sft"


@dataclass(frozen=True, slots=True)
class SFTSizes:
    """The SFT starting point: the demo's recipe at a size the loaded machine can afford."""

    n_sft: int = 6000
    n_test: int = 100
    sft_steps: int = 800
    sft_batch: int = 32
    sft_lr: float = 3e-3
    hidden_size: int = 128
    layers: int = 2
    intermediate: int = 512
    vocab_size: int = 1024
    max_tokens: int = 32

    def key(self, seed: int) -> str:
        """A cache key for these sizes and seed."""
        text = json.dumps({**asdict(self), "seed": seed}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


QUICK_SFT = SFTSizes(
    n_sft=48, n_test=6, sft_steps=2, hidden_size=32, layers=1, intermediate=64, vocab_size=400
)


class State(TypedDict):
    """The graph's state: the conversation and the task record."""

    messages: Annotated[list[Any], add_messages]
    task: dict[str, Any]


def countdown_graph(max_turns: int = 8, max_tokens: int = 32) -> Any:
    """The demo's countdown agent as a compiled graph with an in-memory checkpointer."""
    from hone.agent import AgentStep
    from hone.checkpoint import InMemorySaver
    from hone.demo import task_from_record
    from hone.demo.countdown import TOOLS, CountdownEpisode
    from hone.graph import END, START, StateGraph, get_model
    from hone.messages import AssistantMessage, ToolMessage, UserMessage
    from hone.models import SamplingOptions
    from hone.tools import ToolRegistry, aexecute_tool_calls
    from hone.train import ToolSchemas

    registry = ToolRegistry(list(TOOLS))
    step = AgentStep(
        tools=tuple(registry.specs()),
        sampling=SamplingOptions(max_tokens=max_tokens),
        final_answer=None,
    )

    async def turn(state: State) -> dict[str, Any]:
        messages = list(state["messages"])
        result = await step.arun(ToolSchemas(get_model(), "none"), messages)
        new: list[Any] = list(result.messages)
        reply = result.reply
        if reply.tool_calls:
            episode = CountdownEpisode(task_from_record(state["task"]), feedback="target")
            episode.checked = _checked(messages)
            new += await aexecute_tool_calls(reply.tool_calls, registry, deps=episode)
        return {"messages": new}

    def route(state: State) -> str:
        messages = state["messages"]
        last = messages[-1]
        if isinstance(last, ToolMessage) and last.content == "submitted":
            return END
        if isinstance(last, AssistantMessage) and not last.tool_calls:
            return END  # a plain answer ends the demo's agent too (and scores 0)
        since = 0
        for message in reversed(messages):
            if isinstance(message, UserMessage):
                break
            since += isinstance(message, AssistantMessage)
        return END if since >= max_turns else "turn"

    builder = StateGraph(State)
    builder.add_node("turn", turn)
    builder.add_edge(START, "turn")
    builder.add_conditional_edges("turn", route, ["turn", END])
    return builder.compile(checkpointer=InMemorySaver())


def _checked(messages: list[Any]) -> list[str]:
    """The expressions calc was asked about so far (the tools' episode state)."""
    out: list[str] = []
    for message in messages:
        for call in getattr(message, "tool_calls", ()) or ():
            if call.name == "calc":
                expression = call.arguments.get("expression")
                if isinstance(expression, str):
                    out.append(expression)
    return out


def countdown_input(task: Any) -> dict[str, Any]:
    """The graph input of a task record: the demo agent's first two messages."""
    from hone.demo import task_from_record
    from hone.demo.countdown import SYSTEM_PROMPT, user_prompt
    from hone.messages import SystemMessage, UserMessage

    return {
        "messages": [
            SystemMessage(content=SYSTEM_PROMPT),
            UserMessage(content=user_prompt(task_from_record(task))),
        ],
        "task": dict(task),
    }


def policy(model: Any, tokenizer: Any, width: int = 64, version: Any = None) -> Any:
    """The live weights, batched."""
    from hone.models import BatchingModel, TransformersModel

    return BatchingModel(
        TransformersModel(model, tokenizer, policy_version=version),
        max_batch=width,
        max_wait_ms=50.0,
    )


def held_out(backend: Any, tasks: list[Any], seed: int, max_tokens: int = 32) -> float:
    """Greedy held-out success of the demo's agent (the demo's own evaluation)."""
    return asyncio.run(aheld_out(backend, tasks, seed, max_tokens))


async def aheld_out(backend: Any, tasks: list[Any], seed: int, max_tokens: int = 32) -> float:
    """Greedy held-out success of the demo's agent (the demo's own evaluation)."""
    from hone.demo import CountdownAgent, countdown_reward
    from hone.train import evaluate
    from hone.trajectory import derive_seed

    result = await evaluate(
        CountdownAgent(max_tokens=max_tokens),
        tasks,
        backend,
        countdown_reward,
        temperature=0.0,
        seed=derive_seed(seed, "eval"),
    )
    return float(result.success_rate)


def sft_start(
    sizes: SFTSizes, seed: int, cache: Path = CACHE
) -> tuple[Any, Any, list[Any], list[Any], dict[str, Any]]:
    """The demo's SFT model at ``sizes`` (teacher demonstrations → tokenizer and tiny model →
    SFT), its training and held-out task records, and facts about it. Cached on disk."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from hone.demo import task_record
    from hone.demo.countdown import make_splits

    splits = make_splits(seed, n_train=sizes.n_sft * 2, n_test=sizes.n_test)
    train = [task_record(t) for t in splits.train]
    test = [task_record(t) for t in splits.test]
    folder = cache / sizes.key(seed)
    facts_file = folder / "facts.json"
    if not facts_file.exists():
        _build(sizes, seed, train[: sizes.n_sft], folder)
    else:
        console.print(f"  SFT model cached at {folder}")
    tokenizer = AutoTokenizer.from_pretrained(folder / "model")
    model = AutoModelForCausalLM.from_pretrained(folder / "model", dtype="float32")
    facts = json.loads(facts_file.read_text())
    return model, tokenizer, train[sizes.n_sft :], test, facts


def _build(sizes: SFTSizes, seed: int, tasks: list[Any], folder: Path) -> None:
    import time

    from hone.demo import CountdownAgent, CountdownTeacher, countdown_reward
    from hone.trajectory import rollout_batch

    started = time.perf_counter()
    agent = CountdownAgent(max_tokens=sizes.max_tokens)
    teacher = CountdownTeacher(seed=seed, order="sorted")
    demos = asyncio.run(rollout_batch(agent, tasks, teacher, group_size=1, reward=countdown_reward))
    taught = statistics.fmean(e.reward or 0.0 for e in demos.episodes)
    console.print(f"  {len(demos.episodes)} teacher demonstrations, success {taught:.3f}")
    trainer = sft_from_demos(demos.episodes, sizes, seed, folder / "init", prefix="  ")
    trainer.save_model(folder / "model")
    facts = {"teacher_success": taught, "sft_seconds": round(time.perf_counter() - started, 1)}
    (folder / "facts.json").write_text(json.dumps(facts))


def sft_from_demos(
    episodes: list[Any], sizes: Any, seed: int, init_folder: Path, *, prefix: str = ""
) -> Any:
    """The demo's SFT recipe on teacher ``episodes``: a fresh student built for them, then
    ``sizes.sft_steps`` steps (cosine schedule); returns the trainer. ``sizes`` names the
    student's shape and the SFT settings (``SFTSizes`` or solver_judge's ``Sizes``)."""

    from hone.demo import DemoConfig
    from hone.demo._model import build_student
    from hone.train import LRSchedule, Trainer, TrainerConfig, sft_samples

    config = DemoConfig(
        seed=seed,
        hidden_size=sizes.hidden_size,
        layers=sizes.layers,
        intermediate=sizes.intermediate,
        vocab_size=sizes.vocab_size,
        tokenizer_texts=min(2000, sizes.n_sft),
    )
    model, tokenizer = build_student(config, episodes, init_folder)
    samples = [
        s
        for e in episodes
        if (m := sft_samples(e, tokenizer).merged) is not None
        for s in m.samples
    ]
    schedule = LRSchedule(
        kind="cosine", warmup_steps=10, min_lr_ratio=0.1, total_steps=sizes.sft_steps
    )
    trainer = Trainer(
        model,
        tokenizer,
        config=TrainerConfig(
            lr=sizes.sft_lr,
            schedule=schedule,
            adam_betas=(0.9, 0.98),
            micro_batch_size=8,
            seed=seed,
        ),
    )
    rng = random.Random(seed)
    for step in range(sizes.sft_steps):
        loss = trainer.sft_step(rng.sample(samples, min(sizes.sft_batch, len(samples)))).loss
        if (step + 1) % 25 == 0 or step + 1 == sizes.sft_steps:
            console.print(f"{prefix}sft {step + 1}/{sizes.sft_steps} loss={loss:.3f}")
    return trainer


def last_submitted(messages: list[dict[str, Any]]) -> str | None:
    """The expression of the last ``submit`` call (a refined episode submits again)."""
    found: str | None = None
    for message in messages:
        for call in message.get("tool_calls") or ():
            function = call.get("function", {})
            if function.get("name") != "submit":
                continue
            try:
                arguments = json.loads(function.get("arguments") or "{}")
            except json.JSONDecodeError:
                continue
            value = arguments.get("expression") if isinstance(arguments, dict) else None
            found = value if isinstance(value, str) else found
    return found


def exact(episode: Any) -> float:
    """The oracle: 1.0 when the last submission reaches the target."""
    from hone.demo import task_from_record
    from hone.demo.countdown import reward

    return reward(task_from_record(episode.task), last_submitted(episode.messages))


def closeness(episode: Any) -> float:
    """The search's guide: 1 - |value - target| / target of the last submission, floored at 0
    (0 without a valid submission); 1.0 exactly when the oracle says solved."""
    from hone.demo import task_from_record
    from hone.demo.countdown import evaluate_expression

    task = task_from_record(episode.task)
    submitted = last_submitted(episode.messages)
    if submitted is None:
        return 0.0
    value = evaluate_expression(submitted, task.numbers)
    if isinstance(value, str):
        return 0.0
    return max(0.0, 1.0 - abs(value - task.target) / max(task.target, 1))
