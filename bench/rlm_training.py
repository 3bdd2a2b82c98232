"""RLM policies trained with SFT and RL beside the plain model trained the same way.

``bench rlm_longcontext`` measures the ceiling (scripted teacher and exact reader) and the
floor (the untrained tiny model); this benchmark trains the built-in tiny model as the RLM's
**root** policy and measures it on the same held-out 1,000,000-character ledgers
(``hone.rlm.ledger``, seeds 0-2), beside the plain model:

1. **Teacher episodes.** A scripted root (one compact block: split ``context`` into pieces
   of 300 lines, ``llm_query_batched`` the question over them, sum the integer replies, set
   the answer) and the exact reader ``ledger_reader()`` run on training ledgers (other
   seeds, 30,000 characters: the root never sees the text, only its size) through
   ``rollout`` with one recording model per role, so every call is recorded under its role
   (``rlm``, ``llm_query``) with token ids. The teacher is compact because every token of
   a block costs a forward and backward pass on a two-core machine; ``ledger_teacher()``'s
   three blocks under the default system prompt make episodes three times as long (about
   1,170 tiny-model tokens against 400).
2. **RLM-SFT.** ``train_sft`` on the ``rlm`` episodes (reward 1 only).
3. **RLM-RL.** ``train_rl`` from the SFT weights: groups of rollouts at temperature 1,
   reward = answer correctness minus 0.01 per sub-call. Sub-calls go to the frozen exact
   reader in training and evaluation (the tiny model cannot read a 20,000-character piece:
   its window is 2,048 tokens).
4. **Plain-SFT / plain-RL.** A fresh tiny model trained the same way on the plain task:
   the question after the ledger's first characters, as many as fit its window (the
   ``rlm_longcontext`` plain prompt), imitating an oracle that answers the true total, then
   RL with correctness as the reward. Its prompts fill the window (about eight times the
   root's tokens), so it takes fewer SFT steps (``plain_sft_steps``) at the same batch size
   and learning rate.

The RLM policies are also evaluated on twelve held-out ledgers of the training size
(``@30k`` rows): the task message states the context's size, so a million characters is a
shift the root never saw in training. Every evaluation is greedy, through ``rollout`` with
one model per role, and reports the ``rlm_longcontext`` columns (accuracy, calls, tokens, longest prompts, seconds). Torch runs
on one thread: on a shared two-core machine two threads spin against other jobs and
sampling from the tiny model was fifty times slower.
"""

from __future__ import annotations

import asyncio
import functools
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from bench._common import Options, bench_main, print_table
from bench._rl_common import base_model, load
from bench.rlm_longcontext import (
    COLUMNS,
    ledger_answer_of,
    plain_episodes,
    plain_request,
    rlm_episodes,
    table_row,
    window_chars,
)
from hone.graph import use_model
from hone.models import ChatRequest, ModelBackend, SamplingOptions, ScriptedModel, TransformersModel
from hone.rewards import Reward, WeightedSum, reward_fn
from hone.rlm import RLMBudget, RLMConfig, arun_rlm
from hone.rlm.ledger import LedgerTask, ledger_reader, ledger_reward, make_ledger_task
from hone.train import (
    EvalConfig,
    LRSchedule,
    RLConfig,
    SFTConfig,
    StepReport,
    Trainer,
    TrainerConfig,
    train_rl,
    train_sft,
)
from hone.trajectory import Episode, Program, current_rollout, rollout_batch

NAME = "rlm_training"
DESCRIPTION = "RLM-SFT and RLM-RL tiny policies vs the plain tiny model trained alike (1M chars)"

#: The trained root's system prompt: short, because a tiny model pays for every prompt token.
PROMPT = (
    "Answer the question about `context`, a long str in a Python session. Write one Python "
    "block per reply; you see only what it prints. llm_query_batched(prompts) asks a "
    "sub-model each prompt and returns its replies. Finish with answer['content'] = value "
    "and answer['ready'] = True."
)
_BLOCK = """\
```python
question = {question!r}
lines = context.splitlines(keepends=True)
pieces = ["".join(lines[i:i + 300]) for i in range(0, len(lines), 300)]
replies = llm_query_batched([question + "\\n" + piece for piece in pieces])
answer["content"] = sum(int(r) for r in replies if r.isdigit())
answer["ready"] = True
```"""
_QUESTION = re.compile(r"^Question: (.*)$", re.MULTILINE)
#: Subtracted from an RL episode's reward per sub-call.
SUB_CALL_PENALTY = 0.01


@dataclass(frozen=True, slots=True)
class Sizes:
    """How big a run is."""

    train_tasks: int
    train_chars: int
    eval_seeds: tuple[int, ...]
    eval_chars: int
    near_tasks: int
    sft_steps: int
    plain_sft_steps: int
    batch_size: int
    sft_lr: float
    rl_steps: int
    plain_rl_steps: int
    group_size: int
    tasks_per_step: int
    rl_lr: float
    root_tokens: int


FULL = Sizes(
    train_tasks=256,
    train_chars=30_000,
    eval_seeds=(0, 1, 2),
    eval_chars=1_000_000,
    near_tasks=12,
    sft_steps=400,
    plain_sft_steps=10,
    batch_size=8,
    sft_lr=2e-3,
    rl_steps=6,
    plain_rl_steps=3,
    group_size=4,
    tasks_per_step=2,
    rl_lr=1e-4,
    root_tokens=256,
)
QUICK = Sizes(
    train_tasks=4,
    train_chars=10_000,
    eval_seeds=(0,),
    eval_chars=20_000,
    near_tasks=1,
    sft_steps=2,
    plain_sft_steps=1,
    batch_size=2,
    sft_lr=2e-3,
    rl_steps=1,
    plain_rl_steps=1,
    group_size=2,
    tasks_per_step=1,
    rl_lr=1e-4,
    root_tokens=16,
)
_TRAIN_SEED = 1_000  # training ledgers are seeds 1000+, evaluation ledgers 0-2


@functools.lru_cache(maxsize=8)
def ledger(seed: int, chars: int) -> LedgerTask:
    """The ledger of a task record (cached: a million characters take a moment to build)."""
    return make_ledger_task(seed, chars=chars)


def _of(record: Mapping[str, Any]) -> LedgerTask:
    return ledger(int(record["seed"]), int(record["chars"]))


def compact_teacher() -> ScriptedModel:
    """A scripted root that answers in one block: pieces of 300 lines, one sub-call each,
    the integer replies summed."""

    def write(request: ChatRequest) -> str:
        asked = _QUESTION.search(next(m.text for m in request.messages if m.role == "user"))
        return _BLOCK.format(question=asked.group(1) if asked else "")

    return ScriptedModel([write], name="compact-teacher", when_exhausted="cycle")


def oracle() -> ScriptedModel:
    """The plain task's teacher: it answers the true total, which the window cannot show."""

    def answer(request: ChatRequest) -> str:
        task = current_rollout()
        return "" if task is None else str(task.task["answer"])

    return ScriptedModel([answer], name="oracle", when_exhausted="cycle")


def rlm_config(sizes: Sizes, *, greedy: bool) -> RLMConfig:
    """The trained root's RLM settings: the short prompt, two turns, no sub-RLMs."""
    options = SamplingOptions(max_tokens=sizes.root_tokens, temperature=0.0 if greedy else 1.0)
    return RLMConfig(
        max_depth=0,
        prompt=PROMPT,
        budget=RLMBudget(max_iterations=2, max_seconds=300),
        options=options,
    )


def rlm_program(config: RLMConfig) -> Program:
    """``program(record, model)``: the RLM on the record's ledger. Given one model (the
    policy in ``train_rl``) it becomes the root and the frozen exact reader the sub-model."""

    async def program(record: Any, model: Any) -> Any:
        task = _of(record)
        models = model if isinstance(model, Mapping) else {"rlm": model, "llm_query": _READER}
        with use_model(models):
            return await arun_rlm(None, task.context, task.question, config=config)

    return program


_READER = ledger_reader()


def plain_program(window: int, options: SamplingOptions) -> Program:
    """``program(record, model)``: the question after the ledger's first ``window``
    characters; the answer is the reply's first integer."""

    async def program(record: Any, model: Any) -> Any:
        completion = await model.complete(plain_request(_of(record), window, options))
        return {"answer": ledger_answer_of(completion.message.text)}

    return program


def rlm_reward() -> Reward:
    """RL's reward: 1 for the exact total, minus :data:`SUB_CALL_PENALTY` per sub-call."""

    def sub_calls(episode: Episode) -> float:
        info = episode.metadata.get("rlm") or {}
        return float(info.get("usage", {}).get("sub_calls", 0))

    return WeightedSum(
        {"correct": ledger_reward(), "sub_calls": reward_fn(sub_calls)},
        {"sub_calls": -SUB_CALL_PENALTY},
    )


def _say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


async def _sft(
    path: Path, episodes: Sequence[Episode], sizes: Sizes, steps: int, label: str
) -> Trainer:
    model, tokenizer = load(path)
    config = SFTConfig(
        max_steps=steps,
        batch_size=sizes.batch_size,
        trainer=TrainerConfig(
            lr=sizes.sft_lr,
            micro_batch_size=sizes.batch_size,
            schedule=LRSchedule(kind="cosine", warmup_steps=min(10, steps), min_lr_ratio=0.1),
        ),
    )
    trainer = Trainer(model, tokenizer, config=config.trainer)
    every = max(steps // 6, 1)

    def progress(metrics: Any, total: int) -> None:
        if metrics.step % every == 0 or metrics.step == total:
            _say(f"{label} SFT step {metrics.step}/{total}: loss {metrics.update.loss:.3f}")

    started = time.perf_counter()
    result = await train_sft(trainer, episodes, config=config, on_step=progress)
    _say(f"{label} SFT: {result.samples} samples, {time.perf_counter() - started:.0f} s")
    return trainer


async def _rl(
    trainer: Trainer,
    program: Program,
    tasks: Sequence[Any],
    reward: Reward,
    sizes: Sizes,
    steps: int,
) -> float:
    config = RLConfig(
        group_size=sizes.group_size,
        tasks_per_step=sizes.tasks_per_step,
        steps=steps,
        trainer=TrainerConfig(lr=sizes.rl_lr, loss_type="grpo", micro_batch_size=8),
        eval=EvalConfig(every=0),
        checkpoint_every=0,
        truncation_penalty=0.0,
    )
    rl_trainer = Trainer(trainer.model, trainer.tokenizer, config=config.trainer)

    def progress(report: StepReport) -> None:
        row = report.metrics.to_row()
        if report.step:
            _say(
                f"  RL step {report.step}/{report.total}: reward {row.get('reward', 0.0):.3f},"
                f" loss {row.get('loss', float('nan')):.4f}"
            )

    started = time.perf_counter()
    await train_rl(
        rl_trainer, program, tasks, reward, config=config, save_model=False, on_step=progress
    )
    return time.perf_counter() - started


def _backend(trainer: Trainer) -> ModelBackend:
    return TransformersModel(trainer.model, trainer.tokenizer)


async def _eval_rlm(
    name: str, tasks: Sequence[LedgerTask], root: ModelBackend, config: RLMConfig
) -> dict[str, Any]:
    runs = [await rlm_episodes(task, root, ledger_reader(), config) for task in tasks]
    row = table_row(name, "rlm", runs, None)
    first = runs[0][0][0].calls  # the first task's root calls
    row["first_block"] = str(first[0].output.get("content") or "") if first else ""
    _say(f"  {name} rlm: accuracy {row['accuracy']}, root tokens {row['root_tokens']}")
    _say(f"  its first block on seed {tasks[0].seed}:\n{row['first_block']}")
    return row


async def _eval_plain(
    name: str, tasks: Sequence[LedgerTask], model: ModelBackend, window: int
) -> dict[str, Any]:
    options = SamplingOptions(max_tokens=8, temperature=0.0)
    runs, seen = [], []
    for task in tasks:
        episodes, shown, seconds = await plain_episodes(task, model, window, options)
        runs.append((episodes, seconds))
        seen.append(shown)
    row = table_row(name, "plain", runs, min(seen))
    _say(f"  {name} plain: accuracy {row['accuracy']}, answers {_answers(runs)}")
    return row


def _answers(runs: Sequence[tuple[list[Episode], float]]) -> list[Any]:
    return [(episodes[0].output or {}).get("answer") for episodes, _ in runs]


async def _rlm_arm(
    path: Path, sizes: Sizes, train: Sequence[Any], held_out: Sequence[LedgerTask]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    sampled, greedy = rlm_config(sizes, greedy=False), rlm_config(sizes, greedy=True)
    _say(f"teacher: {len(train)} RLM rollouts (roles rlm, llm_query)")
    batch = await rollout_batch(
        rlm_program(sampled),
        list(train),
        {"rlm": compact_teacher(), "llm_query": ledger_reader()},
        group_size=1,
        seed=0,
        reward=ledger_reward(),
    )
    roots = [e for e in batch.episodes if e.role == "rlm" and e.reward == 1.0]
    subs = [e for e in batch.episodes if e.role == "llm_query"]
    _say(
        f"teacher: {len(roots)} rewarded root episodes, {sum(len(e.calls) for e in subs)} sub-calls"
    )
    # Held-out ledgers of the training size too: the task message states the context's size,
    # so 1M-character ledgers are a shift the root never saw in training.
    near = [ledger(seed, sizes.train_chars) for seed in range(sizes.near_tasks)]
    near_label = f"{sizes.train_chars // 1000}k"
    rows = [await _eval_rlm("scripted/compact teacher", held_out, compact_teacher(), greedy)]
    trainer = await _sft(path, roots, sizes, sizes.sft_steps, "RLM")
    rows.append(await _eval_rlm("tiny/SFT", held_out, _backend(trainer), greedy))
    rows.append(await _eval_rlm(f"tiny/SFT @{near_label}", near, _backend(trainer), greedy))
    _say("RLM RL")
    seconds = await _rl(trainer, rlm_program(sampled), train, rlm_reward(), sizes, sizes.rl_steps)
    rows.append(await _eval_rlm("tiny/SFT+RL", held_out, _backend(trainer), greedy))
    rows.append(await _eval_rlm(f"tiny/SFT+RL @{near_label}", near, _backend(trainer), greedy))
    info = {
        "teacher_episodes": len(roots),
        "sub_call_episodes": len(subs),
        "rl_seconds": round(seconds, 1),
    }
    return rows, info


async def _plain_arm(
    path: Path, sizes: Sizes, train: Sequence[Any], held_out: Sequence[LedgerTask]
) -> tuple[list[dict[str, Any]], int]:
    model, tokenizer = load(path)
    options = SamplingOptions(max_tokens=8, temperature=1.0)
    window = window_chars(TransformersModel(model, tokenizer), held_out[0], options)
    program = plain_program(window, options)
    _say(f"plain: window {window:,} characters; oracle episodes")
    batch = await rollout_batch(
        program, list(train), oracle(), group_size=1, seed=0, reward=ledger_reward()
    )
    rows = [
        await _eval_plain("tiny/untrained", held_out, TransformersModel(model, tokenizer), window)
    ]
    trainer = await _sft(path, batch.episodes, sizes, sizes.plain_sft_steps, "plain")
    rows.append(await _eval_plain("tiny/SFT", held_out, _backend(trainer), window))
    _say("plain RL")
    await _rl(trainer, program, train, ledger_reward(), sizes, sizes.plain_rl_steps)
    rows.append(await _eval_plain("tiny/SFT+RL", held_out, _backend(trainer), window))
    return rows, window


async def _measure(options: Options) -> dict[str, Any]:
    sizes = QUICK if options.quick else FULL
    torch.set_num_threads(1)
    path = base_model(options.workdir, options.quick)
    train = [ledger(_TRAIN_SEED + i, sizes.train_chars).record() for i in range(sizes.train_tasks)]
    held_out = [ledger(seed, sizes.eval_chars) for seed in sizes.eval_seeds]
    rlm_rows, info = await _rlm_arm(path, sizes, train, held_out)
    plain_rows, window = await _plain_arm(path, sizes, train, held_out)
    return {
        "sizes": {**asdict(sizes), "eval_seeds": list(sizes.eval_seeds)},  # as JSON has it
        "sub_call_penalty": SUB_CALL_PENALTY,
        "tasks": [
            {"seed": t.seed, "chars": len(t.context), "answer": t.answer, "records": t.records}
            for t in held_out
        ],
        "plain_window_chars": window,
        "training": info,
        "rows": rlm_rows + plain_rows,
    }


def run(options: Options) -> dict[str, Any]:
    """Train both arms, evaluate every policy on the held-out ledgers, print the table."""
    started = time.perf_counter()
    results = asyncio.run(_measure(options))
    results["seconds"] = round(time.perf_counter() - started, 1)
    sizes = min(t["chars"] for t in results["tasks"])
    print_table(
        f"Trained RLM vs plain, {len(results['tasks'])} held-out ledgers of {sizes:,}+ "
        f"characters (means per task; {results['seconds']:.0f} s in all)",
        [heading for heading, _ in COLUMNS] + ["stops"],
        [
            [r[key] for _, key in COLUMNS]
            + [", ".join(f"{k} {v}" for k, v in r["stop_reasons"].items())]
            for r in results["rows"]
        ],
    )
    return results


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """``python -m bench rlm_training [--quick]``."""
    return bench_main(NAME, DESCRIPTION, run, argv)


if __name__ == "__main__":
    main()
