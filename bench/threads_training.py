"""Task trees vs a flat agent, *trained*: SFT on a scripted teacher, then RL, over 3 seeds.

The task is ``hone.threads.LookupSuite``'s (add up the values stored under N keys; here 8-12
keys, looked up in groups of 4: N + N/4 + 1 tool calls, so 11-16), with word keys (one token
each, quoted the same in prose and in calls) and values 1-9. Two agents get the same
treatment on the built-in tiny model (a fresh random Qwen2 per seed, the demo's 2-layer shape,
its tokenizer trained on both teachers' episodes of other tasks, as the demo does, then a
short copying warm-up on random token strings, the same for both arms):

* ``tree`` — a thread decoded as one request (``run_threads``, the thread grammar), pruned with
  ``PruneRule(stack)``; SFT samples are the tree teacher's threads, each ONE sample with its
  4-D visibility mask and gap positions (``hone.threads.result_samples``);
* ``flat`` — a flat ReAct agent (``run_flat``, Hermes tool calls, no grammar); SFT samples are
  the flat teacher's conversations (``LookupSuite.flat_teacher``), one sample each.

Equal training budget: the same SFT steps × episodes per step (the teacher's episodes of the
same training tasks), the same RL steps × tasks × samples per task, the same optimizer and
learning-rate schedules (SFT: the demo's warm-up and cosine decay; RL: a constant rate, the
SFT schedule's last). The reward of an RL episode is 1 for the right total plus up to 0.5 for
the intended tool calls it made in order, plus up to 0.1 for calling the intended tools in
order whatever the arguments (partial credit, so a group is rarely all zeros). After SFT and
again after RL each agent answers held-out tasks greedily.

Measured per seed and arm: the SFT loss, and every ``probe_every`` steps the held-out teacher
episodes' loss split into digits (values, sums, counts: copied from tool results) and the
rest (the format and the keys); RL reward per step; held-out success, how many intended calls
it made in order, and the context per model-written token and KV entries at the end — of the
intended solution (teacher-forced, the same for every weight) and of the agent's own
held-out episodes. The arms run in ``Size.workers`` processes of one torch thread each.
Tokens processed as tool calls grow and throughput are ``bench threads``.
"""

from __future__ import annotations

import json
import random
import statistics
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from functools import partial
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from bench._common import Options, bench_main, console, machine
from bench._threads_report import aggregate, episode_text, print_summary, summary

NAME = "threads_training"
DESCRIPTION = (
    "task trees + pruning vs flat after SFT and RL on the tiny model: success, context, KV"
)


@dataclass(frozen=True, slots=True)
class Shape:
    """The tiny model's shape and its tokenizer's size (by default the demo's: 2 layers of
    width 128)."""

    hidden_size: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int
    vocab_size: int


def _demo_shape() -> Shape:
    """The demo's model shape, read from its config (imported here: it brings in torch)."""
    from hone.demo._config import DemoConfig

    demo = DemoConfig()
    return Shape(
        hidden_size=demo.hidden_size, layers=demo.layers, heads=demo.heads,
        kv_heads=demo.kv_heads, intermediate=demo.intermediate, vocab_size=demo.vocab_size,
    )  # fmt: skip


#: Word keys: each one letter-only word, so quoted (``"amber"``) it is one pre-token that the
#: tokenizer's training makes one token, written alike in the question, a call and a record.
KEY_WORDS = (
    "amber", "basil", "cedar", "delta", "ember", "fable", "gamma", "harbor", "igloo",
    "jasper", "kelp", "lemon", "mango", "nectar", "olive", "pepper", "quartz", "raven",
    "sable", "tango", "umber", "velvet", "walnut", "xenon", "yarrow", "zephyr", "acorn",
    "birch", "cobalt", "dune", "elm", "fern", "garnet", "hazel", "iris", "juniper", "kiwi",
    "lotus", "maple", "nutmeg", "onyx", "pearl", "quill", "ruby", "sage", "thistle",
    "violet", "willow", "aspen", "bramble", "coral", "daisy", "ebony", "flint", "ginger",
    "heron", "indigo", "jade", "lark", "marble", "nova", "opal", "plum", "quince", "reed",
    "slate", "topaz", "ultra", "vine", "wren", "yew", "zinc", "azure", "bronze", "clover",
    "dahlia", "eagle", "falcon", "grove", "heather", "ivory", "jet", "laurel", "mint",
    "north", "orchid", "pine", "ridge", "spruce", "tulip",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Size:
    """How big the comparison is."""

    seeds: tuple[int, ...] = (0, 1, 2)
    lookups: tuple[int, int] = (8, 12)
    group: int = 4
    #: The task's form: ``word_keys`` > 0 names the ledger's keys with that many of
    #: :data:`KEY_WORDS` (0: ``k0000``, ``k0001``, ...); ``max_value`` and ``quoted`` are
    #: ``LookupSuite``'s.
    word_keys: int = 90
    max_value: int = 9
    quoted: bool = True
    #: Steps of copying warm-up for the fresh model, before any task data: random tokens
    #: repeated at a random offset, the loss on the repeat (content-based copying, the
    #: induction a pretrained checkpoint brings; without it the tiny model learned no copying
    #: from the task at these budgets). 0: none.
    copy_steps: int = 800
    stack: int = 0
    #: Training tasks (one teacher episode each per arm), held-out tasks, and the tasks of a
    #: third ledger whose teacher episodes (both arms') train the tokenizer.
    train_tasks: int = 256
    eval_tasks: int = 16
    tokenizer_tasks: int = 32
    sft_steps: int = 700
    sft_batch: int = 4
    #: SFT: linear warm-up, then cosine decay to 10 % (the demo's schedule); the held-out
    #: teacher episodes' loss is measured every ``probe_every`` steps.
    sft_lr: float = 1e-3
    sft_warmup: int = 20
    probe_every: int = 100
    rl_steps: int = 4
    rl_tasks: int = 2
    rl_group: int = 4
    rl_lr: float = 1e-4
    shape: Shape = field(default_factory=_demo_shape)
    #: Arm runs at once (processes of one torch thread each).
    workers: int = 2
    quick: bool = False


QUICK = Size(
    seeds=(0,), lookups=(2, 2), train_tasks=2, eval_tasks=1, tokenizer_tasks=2, sft_steps=2,
    sft_batch=2, sft_warmup=1, probe_every=1, rl_steps=1, rl_tasks=1, rl_group=2, workers=1,
    shape=Shape(hidden_size=32, layers=1, heads=2, kv_heads=1, intermediate=64, vocab_size=512),
    copy_steps=2, quick=True,
)  # fmt: skip


def _model_dir(workdir: Path, seed: int, size: Size) -> Path:
    """The seed's fresh tiny model, its tokenizer trained on the teachers' episodes of
    ``size.tokenizer_tasks`` tasks of another ledger (both arms', as each arm's model reads
    them), as the demo trains its tokenizer on its teacher's episodes."""
    from hone.models.tiny import TinyConfig, build_tiny_model

    path = workdir / f"tiny-{seed}"
    if not (path / "config.json").is_file():
        shape = size.shape
        config = TinyConfig(
            hidden_size=shape.hidden_size, layers=shape.layers, heads=shape.heads,
            kv_heads=shape.kv_heads, intermediate=shape.intermediate,
            vocab_size=shape.vocab_size, max_position=4096, seed=seed,
        )  # fmt: skip
        build_tiny_model(path, corpus=_teacher_texts(workdir, seed, size), config=config)
        if size.copy_steps:
            _copying_warm_up(path, size.copy_steps, seed)
    return path


def _copying_warm_up(path: Path, steps: int, seed: int) -> None:
    """Train the model at ``path`` to continue a repeat of what it has read: batches of 16
    random token strings (8-159 tokens, a fresh length each step) written twice, the loss on
    the second copy. Saved in place."""
    import torch

    model, _ = _load(path)
    vocab = model.config.vocab_size
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.98))
    for step in range(1, steps + 1):
        length = int(torch.randint(8, 160, (1,), generator=generator))
        tokens = torch.randint(3, vocab, (16, length), generator=generator)  # 0-2: specials
        repeated = torch.cat([tokens, tokens], dim=1)
        logits = model(input_ids=repeated).logits[:, length:-1]
        loss = torch.nn.functional.cross_entropy(
            logits.reshape(-1, vocab), repeated[:, length + 1 :].reshape(-1)
        )
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if step % 200 == 0 or step == steps:
            console.print(f"    seed {seed} copying warm-up {step}/{steps}: loss {loss.item():.3f}")
    model.save_pretrained(path)


def _teacher_texts(workdir: Path, seed: int, size: Size) -> list[str]:
    """Both teachers' episodes of ``size.tokenizer_tasks`` tasks, as the text a model reads
    (rendered through a throwaway model with the default tokenizer)."""
    from hone.models import TransformersModel
    from hone.models._tiny_corpus import default_corpus
    from hone.models.tiny import TinyConfig, build_tiny_model
    from hone.threads import result_samples

    path = workdir / "renderer"
    if not (path / "config.json").is_file():
        config = TinyConfig(
            hidden_size=32, layers=1, heads=2, kv_heads=1, intermediate=64, max_position=8192
        )
        build_tiny_model(path, corpus=default_corpus(300), config=config)
    model, tokenizer = _load(path)
    suite = _suite(size, size.tokenizer_tasks, seed=300 + seed)
    # Every word key, as calls and records write it, often enough for BPE to make it one token.
    quoted_keys = ", ".join(f'"{key}"' for key in KEY_WORDS[: size.word_keys])
    texts = [quoted_keys] * 8 if size.word_keys else []
    for arm in _arms(suite, size):
        base = TransformersModel(model, tokenizer, prefix_cache_tokens=_prefix_cache(arm))
        for result in arm.teacher(base, suite):
            texts += [tokenizer.decode(s.input_ids) for s in result_samples(result)]
    return texts


def _suite(size: Size, count: int, seed: int) -> Any:
    """``count`` tasks of the size's form."""
    from hone.threads import LookupSuite

    keys = KEY_WORDS[: size.word_keys] if size.word_keys else None
    return LookupSuite(
        count, lookups=size.lookups, group_size=size.group, seed=seed, keys=keys,
        max_value=size.max_value, quoted=size.quoted,
    )  # fmt: skip


def _prefix_cache(arm: Any) -> int:
    """KV reuse across calls: the flat agent's conversations reuse earlier turns' states; a
    thread is one request."""
    return 0 if arm.name == "tree" else 1 << 16


def _load(path: Path) -> tuple[Any, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return (
        AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32),
        AutoTokenizer.from_pretrained(path),
    )


def _arms(suite: Any, size: Size) -> list[Any]:
    from bench._threads_arms import FlatArm, TreeArm

    return [
        TreeArm(suite, stack=size.stack, max_tokens=1),
        FlatArm(suite, max_call_tokens=1, extra_steps=2),
    ]


def _budgets(arm: Any, samples: Sequence[Any]) -> None:
    """Give the sampler room: 1.5× the teacher's longest episode after the prompt (tree: one
    request; flat: per call, 1.5× the longest reply)."""
    if arm.name == "tree":
        arm.max_tokens = int(1.5 * max(len(s.input_ids) - s.loss_mask.index(True) for s in samples))
    else:
        arm.max_call_tokens = int(1.5 * max(_longest_reply(s.loss_mask) for s in samples))


def _longest_reply(mask: Sequence[bool]) -> int:
    """The longest run of learned tokens (one reply) in a flat sample."""
    longest = run = 0
    for learned in mask:
        run = run + 1 if learned else 0
        longest = max(longest, run)
    return longest


def _train_arm(
    arm: Any, path: Path, train: Any, held_out: Any, size: Size, seed: int
) -> dict[str, Any]:
    """SFT, RL and the held-out evaluations (after SFT, after RL) of one arm from the seed's
    fresh model."""
    from bench._threads_arms import digit_nll
    from hone.models import TransformersModel
    from hone.threads import result_samples
    from hone.train import LRSchedule, Trainer, TrainerConfig

    started = time.perf_counter()
    model, tokenizer = _load(path)
    # Teacher forcing only needs the token ids (SFT ignores the recorded logprobs).
    base = TransformersModel(model, tokenizer, prefix_cache_tokens=_prefix_cache(arm))
    teacher = arm.teacher(base, train)
    samples = [s for r in teacher for s in result_samples(r)]
    held_samples = [s for r in arm.teacher(base, held_out) for s in result_samples(r)]
    _budgets(arm, samples)
    intended = [arm.outcome(t, r) for t, r in zip(train.tasks, teacher, strict=True)]
    label = f"    seed {seed} {arm.name:4}"
    schedule = LRSchedule(
        kind="cosine", warmup_steps=size.sft_warmup, min_lr_ratio=0.1, total_steps=size.sft_steps
    )
    sft_config = TrainerConfig(
        lr=size.sft_lr, schedule=schedule, adam_betas=(0.9, 0.98), micro_batch_size=8,
        seed=seed, max_grad_norm=1.0,
    )  # fmt: skip
    trainer = Trainer(model, tokenizer, config=sft_config)
    probe = partial(digit_nll, trainer, tokenizer, held_samples)
    sft_losses, sft_curve = _sft(trainer, samples, size, seed, label, probe)
    sft_seconds = time.perf_counter() - started
    after_sft, _ = _evaluate(arm, trainer, tokenizer, held_out, f"{label} after SFT", started)
    rl_config = TrainerConfig(
        lr=size.rl_lr, adam_betas=(0.9, 0.99), micro_batch_size=8, seed=seed, max_grad_norm=1.0
    )
    trainer = Trainer(trainer.model, tokenizer, config=rl_config)
    rl_curve = []
    rl_started = time.perf_counter()
    for step in range(size.rl_steps):
        rl_curve.append(_rl_step(arm, trainer, tokenizer, train, size, seed * 1000 + step, step))
        console.print(
            f"{label} RL step {step + 1}/{size.rl_steps}: reward "
            f"{rl_curve[-1]['mean_reward']:.3f}, calls right {rl_curve[-1]['calls_right']} "
            f"({time.perf_counter() - started:.0f} s)"
        )
    rl_seconds = time.perf_counter() - rl_started
    own, results = _evaluate(arm, trainer, tokenizer, held_out, f"{label} after RL", started)
    learned = sum(s.num_loss_tokens for s in samples) * size.sft_steps * size.sft_batch
    return {
        "sft_loss": sft_losses,
        "sft_curve": sft_curve,
        "rl": rl_curve,
        "held_out_nll_after_rl": probe(),
        "trained_tokens": {
            "sft": learned // len(samples),
            "sequence_tokens_mean": round(statistics.mean(len(s.input_ids) for s in samples), 1),
            "learned_tokens_mean": round(statistics.mean(s.num_loss_tokens for s in samples), 1),
        },
        "held_out_after_sft": summary(after_sft),
        "held_out": summary(own),
        "held_out_example": episode_text(results[0])[:400],
        "intended": summary(intended),
        "seconds": {
            "sft": round(sft_seconds, 1),
            "rl": round(rl_seconds, 1),
            "total": round(time.perf_counter() - started, 1),
        },
    }


def _evaluate(
    arm: Any, trainer: Any, tokenizer: Any, held_out: Any, label: str, started: float
) -> tuple[list[Any], list[Any]]:
    """The held-out tasks answered greedily by the trainer's current weights."""
    from hone.models import SamplingOptions

    policy = _policy(trainer, tokenizer, arm)
    greedy = SamplingOptions(temperature=0.0)
    results = arm.sample(policy, held_out, range(len(held_out.tasks)), greedy)
    own = [arm.outcome(t, r) for t, r in zip(held_out.tasks, results, strict=True)]
    console.print(
        f"{label}: {sum(o.success for o in own)}/{len(own)} right, calls right "
        f"{statistics.mean(o.calls_right for o in own):.2f} of "
        f"{statistics.mean(o.calls_intended for o in own):.1f} "
        f"({time.perf_counter() - started:.0f} s)"
    )
    return own, results


def _sft(
    trainer: Any,
    samples: Sequence[Any],
    size: Size,
    seed: int,
    label: str,
    probe: Callable[[], dict[str, float]],
) -> tuple[list[float], list[dict[str, float]]]:
    """``size.sft_steps`` steps of ``size.sft_batch`` samples, in shuffled epochs; every
    ``size.probe_every`` steps (and at the end) ``probe`` measures the held-out loss."""
    rng = random.Random(seed)
    order: list[int] = []
    losses: list[float] = []
    curve = [{"step": 0, **probe()}]
    for step in range(1, size.sft_steps + 1):
        if len(order) < size.sft_batch:
            fresh = list(range(len(samples)))
            rng.shuffle(fresh)
            order += fresh
        batch, order = order[: size.sft_batch], order[size.sft_batch :]
        losses.append(round(trainer.sft_step([samples[i] for i in batch]).loss, 4))
        if step % size.probe_every == 0 or step == size.sft_steps:
            recent = losses[-size.probe_every :]
            curve.append({"step": step, "train_loss": round(statistics.mean(recent), 4), **probe()})
            console.print(
                f"{label} SFT step {step:4}/{size.sft_steps}: train loss "
                f"{curve[-1]['train_loss']:.3f}, held-out NLL digits "
                f"{curve[-1]['digits']:.3f} other {curve[-1]['other']:.3f}"
            )
    return losses, curve


def _rl_step(
    arm: Any, trainer: Any, tokenizer: Any, train: Any, size: Size, seed: int, step: int
) -> dict[str, Any]:
    """Sample ``size.rl_group`` episodes of ``size.rl_tasks`` tasks, score them, and take one
    GRPO step on the episodes with a nonzero advantage."""
    import torch

    from hone.models import SamplingOptions
    from hone.threads import result_samples
    from hone.train import group_advantages

    tasks = [(step * size.rl_tasks + j) % len(train.tasks) for j in range(size.rl_tasks)]
    picks = [t for t in tasks for _ in range(size.rl_group)]
    policy = _policy(trainer, tokenizer, arm)
    results = arm.sample(policy, train, picks, SamplingOptions(temperature=1.0, seed=seed))
    outcomes = [arm.outcome(train.tasks[t], r) for t, r in zip(picks, results, strict=True)]
    rewards = torch.tensor([o.reward for o in outcomes])
    advantages = group_advantages(rewards, size.rl_group).tolist()
    rl_samples = [
        s
        for r, a, t in zip(results, advantages, picks, strict=True)
        if a != 0
        for s in result_samples(r, advantage=a, group_id=t)
    ]
    loss = trainer.train_step(rl_samples).loss if rl_samples else None
    return {
        "mean_reward": round(float(rewards.mean()), 4),
        "calls_made": round(statistics.mean(o.calls_made for o in outcomes), 2),
        "trained_episodes": sum(1 for a in advantages if a != 0),
        "success": sum(o.success for o in outcomes) / len(outcomes),
        "calls_right": round(statistics.mean(o.calls_right for o in outcomes), 2),
        "loss": None if loss is None else round(loss, 4),
    }


def _policy(trainer: Any, tokenizer: Any, arm: Any) -> Any:
    """The trainer's current weights behind a fresh backend (no stale KV states)."""
    from hone.models import TransformersModel

    trainer.model.eval()
    return TransformersModel(trainer.model, tokenizer, prefix_cache_tokens=_prefix_cache(arm))


def run(options: Options) -> dict[str, Any]:
    """Train both arms for every seed (``size.workers`` runs at once, one torch thread each);
    print the tables."""
    size = QUICK if options.quick else Size()
    started = time.perf_counter()
    # The first seed's model here (building it also builds the renderer every seed's tokenizer
    # corpus is rendered through), the others in parallel.
    _model_dir(options.workdir, size.seeds[0], size)
    with ProcessPoolExecutor(max_workers=size.workers, mp_context=get_context("spawn")) as pool:
        list(pool.map(_build, [options.workdir] * len(size.seeds), [size] * len(size.seeds),
                      size.seeds))  # fmt: skip
    jobs = [(seed, arm) for seed in size.seeds for arm in ("tree", "flat")]
    runs: dict[str, dict[str, Any]] = {str(seed): {} for seed in size.seeds}
    with ProcessPoolExecutor(max_workers=size.workers, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(_job, options.workdir, size, *job): job for job in jobs}
        for future in as_completed(futures):
            seed, arm = futures[future]
            runs[str(seed)][arm] = future.result()
            console.print(f"  seed {seed}, {arm} done ({time.perf_counter() - started:.0f} s)")
            _save_partial(options, size, runs)
    runs = {seed: {arm: runs[seed][arm] for arm in ("tree", "flat")} for seed in runs}
    result = aggregate(runs)
    print_summary(result)
    return {"size": _plain(size), "runs": runs, "summary": result}


def _build(workdir: Path, size: Size, seed: int) -> None:
    """The seed's model, in a worker process."""
    import torch

    torch.set_num_threads(1)
    _model_dir(workdir, seed, size)


def _job(workdir: Path, size: Size, seed: int, arm_name: str) -> dict[str, Any]:
    """One arm of one seed, in a worker process."""
    import logging

    import torch

    logging.getLogger("transformers").setLevel(logging.ERROR)
    torch.set_num_threads(1)  # the tiny model gains nothing from more on a shared machine
    train = _suite(size, size.train_tasks, seed=100 + seed)
    held_out = _suite(size, size.eval_tasks, seed=200 + seed)
    arm = next(a for a in _arms(train, size) if a.name == arm_name)
    console.print(f"  seed {seed}, {arm.name}")
    return _train_arm(arm, _model_dir(workdir, seed, size), train, held_out, size, seed)


def _plain(size: Size) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(size).items()}


def _save_partial(options: Options, size: Size, runs: dict[str, dict[str, Any]]) -> None:
    """Write what is finished so far to the results file (the whole run replaces it): a run
    of this size takes the better part of an hour, and an interrupted one keeps its arms."""
    partial = {"benchmark": NAME, "partial": True, "machine": machine(), "size": _plain(size)}
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps({**partial, "runs": runs}, indent=2) + "\n")


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """``python -m bench threads_training [--quick]``."""
    return bench_main(NAME, DESCRIPTION, run, argv)


if __name__ == "__main__":
    main()
