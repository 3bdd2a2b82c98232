"""RLM vs the plain model on a generated long-context task (``hone.rlm.ledger``).

Each task is a ledger of at least a million characters (``--quick``: 20,000) with delivery
records spread through filler text; the question asks for the total crates of one good that
reached one city, an exact integer (see ``hone.rlm.ledger``). The context is far longer than
the built-in tiny model's window (2,048 tokens).

Every policy runs two ways, side by side on the same tasks:

* **rlm** — ``hone.rlm.arun_rlm``: the context is a variable in a sandbox session, the root
  model writes code, sub-calls read pieces;
* **plain** — the model is asked the question with the context in its prompt, cut to what
  fits its window (the tiny model's 2,048 tokens, counted with its tokenizer; for the
  scripted reader also a 128k-token window at 4 characters per token; a model named by
  ``HONE_RLM_BENCH_MODEL`` gets the whole context, halved until it fits).

Policies:

* **scripted/sub-calls** — ``ledger_teacher()`` writes correct RLM code (look, split into
  20,000-character pieces, ``llm_query_batched``, sum) and ``ledger_reader()`` reads each
  piece exactly: the ceiling, and the overhead of the machinery (sub-calls, tokens, time);
* **scripted/code** — the teacher matches the records with a regular expression: no
  sub-calls at all;
* **tiny/untrained** — the built-in tiny model as root and sub-model: the floor;
* **$HONE_RLM_BENCH_MODEL** — any model spec (an OpenAI-compatible server, a local
  checkpoint), when the variable is set.

Every run goes through ``hone.trajectory.rollout`` with one recording model per role, as a
training run would record it; ``max prompt chars`` is the longest prompt any recorded call
sent, per kind of call (root or plain; sub-call): the RLM's root prompts never hold the
context, each sub-call holds one piece. SFT and RL policies come from training
on the teacher's episodes: ``python -m bench rlm_training`` (see docs/rlm.md).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from bench._common import Options, bench_main, print_table
from hone.messages import UserMessage
from hone.models import ChatRequest, ModelBackend, SamplingOptions, load_model
from hone.rlm import RLMBudget, RLMConfig, arun_rlm, rlm_roles
from hone.rlm.ledger import (
    LedgerTask,
    ledger_reader,
    ledger_reward,
    ledger_teacher,
    make_ledger_task,
)
from hone.trajectory import Episode, rollout

NAME = "rlm_longcontext"
DESCRIPTION = "RLM vs the plain model on a 1M-character aggregation task (scripted, tiny)"

ENV_MODEL = "HONE_RLM_BENCH_MODEL"
_CHARS_PER_TOKEN = 4  # for the notional 128k-token window of the scripted reader
_PLAIN = "Context:\n{context}\n\nQuestion: {question}\nAnswer with one integer."


def plain_request(task: LedgerTask, chars: int, options: SamplingOptions) -> ChatRequest:
    """The plain model's request: the question with the first ``chars`` of the context."""
    prompt = _PLAIN.format(context=task.context[:chars], question=task.question)
    return ChatRequest(messages=(UserMessage(content=prompt),), options=options)


def window_chars(model: Any, task: LedgerTask, options: SamplingOptions) -> int:
    """The most context characters whose plain prompt fits ``model``'s window with room for
    ``options.max_tokens`` (binary search with the model's own tokenizer)."""
    room = int(model.max_context) - options.max_tokens
    low, high = 0, min(len(task.context), 16 * int(model.max_context))  # > 1 char a token
    while low < high:
        mid = (low + high + 1) // 2
        if len(model.encode_prompt(plain_request(task, mid, options))) <= room:
            low = mid
        else:
            high = mid - 1
    return low


async def plain_episodes(
    task: LedgerTask, model: ModelBackend, chars: int | None, options: SamplingOptions
) -> tuple[list[Episode], int, float]:
    """The plain model's episode on ``task`` (context cut to ``chars``; None: the whole
    context, halved while it overflows), the characters it saw, and the wall time."""
    shown = len(task.context) if chars is None else min(chars, len(task.context))
    started = time.perf_counter()
    while True:
        request = plain_request(task, shown, options)

        async def program(record: Any, policy: Any, request: ChatRequest = request) -> Any:
            completion = await policy["plain"].complete(request)
            return {"answer": ledger_answer_of(completion.message.text)}

        episodes = await rollout(program, task.record(), {"plain": model}, reward=ledger_reward())
        overflowed = episodes[0].status == "context_overflow"
        if not (overflowed and chars is None and shown > 1_000):
            return episodes, shown, time.perf_counter() - started
        shown //= 2


def ledger_answer_of(text: str) -> int | None:
    """The first integer of a plain reply (None: none)."""
    digits = "".join(c if c.isdigit() else " " for c in text).split()
    return int(digits[0]) if digits else None


async def rlm_episodes(
    task: LedgerTask, root: ModelBackend, sub: ModelBackend, config: RLMConfig
) -> tuple[list[Episode], float]:
    """One RLM run on ``task`` through ``rollout`` (root roles on ``root``, sub-call roles on
    ``sub``): its episodes, one per role, and the wall time."""

    async def program(record: Any, policy: Any) -> Any:
        return await arun_rlm(None, task.context, task.question, config=config)

    started = time.perf_counter()
    models = {role: root if role.startswith("rlm") else sub for role in rlm_roles(config.max_depth)}
    episodes = await rollout(program, task.record(), models, reward=ledger_reward())
    return episodes, time.perf_counter() - started


def table_row(
    policy: str, method: str, runs: Sequence[tuple[list[Episode], float]], window: int | None
) -> dict[str, Any]:
    """One table row: accuracy and what the runs spent (means per task)."""

    def mean(values: Sequence[float]) -> float:
        return round(statistics.fmean(values), 3) if values else 0.0

    def calls(episodes: list[Episode], sub: bool) -> list[Any]:
        return [c for e in episodes if e.role.startswith("llm_query") == sub for c in e.calls]

    def tokens(episodes: list[Episode], sub: bool) -> int:
        return sum(
            c.usage["prompt_tokens"] + c.usage["completion_tokens"] for c in calls(episodes, sub)
        )

    def longest(sub: bool) -> int:
        return max(
            (
                sum(len(str(m.get("content") or "")) for m in c.messages)
                for episodes, _ in runs
                for c in calls(episodes, sub)
            ),
            default=0,
        )

    first = [episodes[0] for episodes, _ in runs]  # the root's (or the plain model's) episode
    stops: Counter[str] = Counter()
    for episode in first:
        info = episode.metadata.get("rlm")
        stops[info["stop_reason"] if info else episode.status] += 1
    return {
        "policy": policy,
        "method": method,
        "window_chars": window,
        "accuracy": mean([e.reward or 0.0 for e in first]),
        "root_calls": mean([len(calls(eps, False)) for eps, _ in runs]),
        "sub_calls": mean([len(calls(eps, True)) for eps, _ in runs]),
        "root_tokens": mean([tokens(eps, False) for eps, _ in runs]),
        "sub_tokens": mean([tokens(eps, True) for eps, _ in runs]),
        "max_root_prompt_chars": longest(False),
        "max_sub_prompt_chars": longest(True),
        "seconds": mean([s for _, s in runs]),
        "stop_reasons": dict(stops),
        "tasks": len(runs),
    }


async def _policy(
    name: str,
    tasks: Sequence[LedgerTask],
    root: ModelBackend,
    sub: ModelBackend,
    plain: ModelBackend,
    config: RLMConfig,
    windows: Sequence[int | None],
    plain_options: SamplingOptions,
) -> list[dict[str, Any]]:
    rlm_runs = [await rlm_episodes(task, root, sub, config) for task in tasks]
    rows = [table_row(name, "rlm", rlm_runs, None)]
    for window in windows:
        runs = []
        seen = []
        for task in tasks:
            episodes, shown, seconds = await plain_episodes(task, plain, window, plain_options)
            runs.append((episodes, seconds))
            seen.append(shown)
        rows.append(table_row(name, "plain", runs, min(seen)))
    return rows


async def _measure(options: Options) -> dict[str, Any]:
    quick = options.quick
    seeds = [0] if quick else [0, 1, 2]
    chars = 20_000 if quick else 1_000_000
    tasks = [make_ledger_task(seed, chars=chars) for seed in seeds]
    rows: list[dict[str, Any]] = []

    tiny = load_model("tiny:")
    tiny_tokens = 8 if quick else 128
    tiny_options = SamplingOptions(max_tokens=tiny_tokens, temperature=1.0, seed=0)
    tiny_window = window_chars(tiny, tasks[0], tiny_options)

    scripted_plain = SamplingOptions(max_tokens=16)
    windows: list[int | None] = [tiny_window, 131_072 * _CHARS_PER_TOKEN]
    for strategy, label in (("sub_calls", "scripted/sub-calls"), ("code", "scripted/code")):
        teacher = ledger_teacher(strategy=strategy)  # type: ignore[arg-type]
        rows += await _policy(
            label,
            tasks,
            teacher,
            ledger_reader(),
            ledger_reader(),
            RLMConfig(),
            windows,
            scripted_plain,
        )

    tiny_config = RLMConfig(
        budget=RLMBudget(max_iterations=2 if quick else 4, max_seconds=600),
        options=tiny_options,
        sub_options=tiny_options,
    )
    rows += await _policy(
        "tiny/untrained", tasks, tiny, tiny, tiny, tiny_config, [tiny_window], tiny_options
    )

    spec = os.environ.get(ENV_MODEL)
    if spec:
        model = load_model(spec)
        rows += await _policy(
            spec, tasks, model, model, model, RLMConfig(), [None], SamplingOptions(max_tokens=64)
        )
    return {
        "tasks": [
            {"seed": t.seed, "chars": len(t.context), "answer": t.answer, "records": t.records}
            for t in tasks
        ],
        "tiny_window": {"tokens": tiny.max_context, "context_chars": tiny_window},
        "rows": rows,
    }


#: The table's columns: (heading, key of a row).
COLUMNS = (
    ("policy", "policy"),
    ("method", "method"),
    ("window chars", "window_chars"),
    ("accuracy", "accuracy"),
    ("root calls", "root_calls"),
    ("sub-calls", "sub_calls"),
    ("root tokens", "root_tokens"),
    ("sub tokens", "sub_tokens"),
    ("max root prompt", "max_root_prompt_chars"),
    ("max sub prompt", "max_sub_prompt_chars"),
    ("seconds", "seconds"),
)


def run(options: Options) -> dict[str, Any]:
    """Run every policy both ways and print the table."""
    results = asyncio.run(_measure(options))
    sizes = min(t["chars"] for t in results["tasks"])
    print_table(
        f"RLM vs plain, {len(results['tasks'])} tasks of {sizes:,}+ characters (means per task)",
        [heading for heading, _ in COLUMNS] + ["stops"],
        [
            [r[key] for _, key in COLUMNS]
            + [", ".join(f"{k} {v}" for k, v in r["stop_reasons"].items())]
            for r in results["rows"]
        ],
    )
    return results


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """``python -m bench rlm_longcontext [--quick]``."""
    return bench_main(NAME, DESCRIPTION, run, argv)


if __name__ == "__main__":
    main()
