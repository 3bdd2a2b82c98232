"""A whole run from a :class:`~hone.train.RunConfig`: resolve its pieces, load the policy,
SFT (optional), RL (optional), save. :func:`run_training` is the sync shell of
:func:`arun_training`."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hone.errors import ModelSpecError, TrainingConfigError
from hone.models._batching import BatchingModel
from hone.models._protocol import ModelBackend
from hone.rewards import Reward, reward_fn
from hone.train._config import TrainerConfig
from hone.train._metrics import MetricsLogger
from hone.train._run import ProgressCallback, RunResult, StepReport, latest_checkpoint, train_rl
from hone.train._run_config import RunConfig, load_tasks, resolve_object
from hone.train._run_sft import SFTResult, load_episodes, teacher_episodes, train_sft
from hone.train._trainer import Trainer
from hone.trajectory import Program

__all__ = [
    "RunParts",
    "arun_training",
    "as_reward",
    "load_backend",
    "load_policy",
    "resolve_parts",
    "run_training",
]

logger = logging.getLogger(__name__)

SFT_DONE = "sft_done.json"


@dataclass(slots=True)
class RunParts:
    """The Python objects a :class:`RunConfig` names."""

    program: Program
    reward: Reward | None
    train_tasks: list[Any]
    eval_tasks: list[Any]


def as_reward(obj: Any, *, field: str = "reward") -> Reward:
    """A :class:`~hone.rewards.Reward` as is; a plain function of an episode via ``reward_fn``.

    Raises:
        TrainingConfigError: ``obj`` is neither.
    """
    if isinstance(obj, Reward):
        return obj
    if callable(obj) and not isinstance(obj, type):
        return reward_fn(obj)
    raise TrainingConfigError(
        f"{field} names a {type(obj).__name__}; name a hone Reward (with async score()) or a "
        "function episode -> float."
    )


def resolve_parts(config: RunConfig) -> RunParts:
    """Import the program, reward and task source, and load the train and eval tasks.

    Raises:
        TrainingConfigError: an import path cannot be resolved, or the tasks cannot be loaded.
    """
    base = config.base_dir
    program = resolve_object(config.program, field="program", base_dir=base)
    if not callable(program):
        raise TrainingConfigError(
            f"program={config.program!r} is not callable; name a function program(task, model)."
        )
    reward = None
    if config.reward is not None:
        reward = as_reward(resolve_object(config.reward, field="reward", base_dir=base))
    source = resolve_object(config.tasks.source, field="tasks.source", base_dir=base)
    train = load_tasks(source, config.tasks.train_split, config.seed, field="tasks.source")
    evals: list[Any] = []
    if config.rl is not None and config.rl.eval_every > 0:
        evals = load_tasks(source, config.tasks.eval_split, config.seed, field="tasks.source")
        evals = evals[: config.tasks.eval_size]
    return RunParts(program, reward, train, evals)


def load_policy(config: RunConfig, path: str | Path | None = None) -> tuple[Any, Any]:
    """The trainable model and tokenizer that ``config.model`` names (or from ``path``).

    Raises:
        TrainingConfigError: the spec names a remote model, or the checkpoint cannot load.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from hone.models._spec import parse_spec

    if path is None:
        try:
            spec = parse_spec(config.model)
        except ModelSpecError as exc:
            raise TrainingConfigError(f"model: {exc}") from exc
        if spec.kind not in ("hf", "tiny"):
            raise TrainingConfigError(
                f"model={config.model!r} is a remote model, whose weights hone cannot train; use "
                "a local checkpoint ('hf:<dir>' or 'tiny:'). A remote model can teach: set it "
                "as sft.teacher_model."
            )
        if spec.kind == "tiny" and not spec.target:
            from hone.models.tiny import ensure_tiny_model

            path = ensure_tiny_model()
        else:
            path = config.resolve_path(spec.target)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        model: Any = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, config.dtype))
    except (OSError, ValueError) as exc:
        raise TrainingConfigError(f"model: cannot load a causal LM from {path}: {exc}") from exc
    return model.to(config.device), tokenizer


def load_backend(value: str, *, field: str, base_dir: Path | None = None) -> ModelBackend:
    """A backend from a model spec (local ones batched) or an import path naming a backend or
    a no-argument function returning one.

    Raises:
        TrainingConfigError: ``value`` names neither.
    """
    from hone.models._spec import load_model, parse_spec

    try:
        spec = parse_spec(value)
    except ModelSpecError:
        obj = resolve_object(value, field=field, base_dir=base_dir)
        if inspect.isfunction(obj):
            obj = obj()
        if not isinstance(obj, ModelBackend):
            raise TrainingConfigError(
                f"{field}={value!r} names a {type(obj).__name__}, not a model backend."
            ) from None
        return obj
    backend = load_model(value)
    return BatchingModel(backend) if spec.kind in ("hf", "tiny") else backend


def _trainer_config(config: RunConfig, output_dir: Path) -> TrainerConfig:
    rl = config.rl
    if rl is None:
        return TrainerConfig(mode="sft", seed=config.seed, output_dir=output_dir)
    return TrainerConfig(
        mode="rl",
        loss_type=rl.loss_type,
        lr=rl.lr,
        beta=rl.beta,
        kl=rl.kl,
        eps_low=rl.eps_low,
        eps_high=rl.eps_high,
        micro_batch_size=rl.micro_batch_size,
        max_grad_norm=rl.max_grad_norm,
        lora=config.lora.to_lora() if config.lora is not None else None,
        seed=config.seed,
        output_dir=output_dir,
    )


async def _sft_phase(
    config: RunConfig, parts: RunParts, out: Path, on_step: ProgressCallback | None
) -> tuple[Any, Any, SFTResult | None]:
    """Run SFT (or reuse a finished one when resuming); the model to go on with."""
    sft, folder = config.sft, out / "sft"
    if sft is None:
        return (*load_policy(config), None)
    if (folder / SFT_DONE).is_file() and (folder / "model").is_dir():
        logger.info("SFT already done in %s; reusing its model", folder)
        return (*load_policy(config, folder / "model"), None)
    if sft.trajectories is not None:
        episodes = load_episodes(config.resolve_path(sft.trajectories), min_reward=sft.min_reward)
    else:
        teacher = load_backend(
            sft.teacher_model or "", field="sft.teacher_model", base_dir=config.base_dir
        )
        program = parts.program
        if sft.teacher_program is not None:
            program = resolve_object(
                sft.teacher_program, field="sft.teacher_program", base_dir=config.base_dir
            )
        episodes = await teacher_episodes(
            program,
            parts.train_tasks,
            teacher,
            reward=parts.reward,
            config=sft,
            seed=config.seed,
            save_to=folder / "teacher.jsonl",
        )
    model, tokenizer = load_policy(config)
    trainer_config = TrainerConfig(
        mode="sft",
        lr=sft.lr,
        lora=config.lora.to_lora() if config.lora is not None else None,
        seed=config.seed,
        output_dir=folder,
    )
    trainer = Trainer(model, tokenizer, config=trainer_config)

    def report(step: int, total: int, metrics: dict[str, float]) -> None:
        if on_step is not None:
            on_step(StepReport("sft", step, total, metrics))

    result = train_sft(
        trainer,
        episodes,
        config=sft,
        seed=config.seed,
        metrics=MetricsLogger(folder),
        on_step=report,
        strict=config.rl.strict_prefix if config.rl is not None else False,
    )
    trainer.save_model(folder / "model")
    (folder / SFT_DONE).write_text(json.dumps({"steps": result.steps}), encoding="utf-8")
    merged = trainer.model.merge_and_unload() if config.lora is not None else trainer.model
    return merged, tokenizer, result


async def arun_training(
    config: RunConfig, *, resume: bool = False, on_step: ProgressCallback | None = None
) -> RunResult:
    """Run ``config``: optional SFT, then RL, writing everything under ``config.output_dir``.

    Raises:
        TrainingConfigError: a field cannot be resolved, or the output folder holds another run
            and ``resume`` is False.
        CapabilityError: RL's rollout model gives no token ids.
    """
    out = Path(config.output_dir)
    if not resume and (latest_checkpoint(out) is not None or (out / "sft" / SFT_DONE).exists()):
        raise TrainingConfigError(
            f"{out} already holds a run; resume it (`hone train CONFIG --resume`) or choose "
            "another output_dir."
        )
    parts = resolve_parts(config)
    model, tokenizer, _ = await _sft_phase(config, parts, out, on_step)
    rl = config.rl
    trainer = Trainer(model, tokenizer, config=_trainer_config(config, out))
    if rl is None or rl.steps == 0 or parts.reward is None:
        model_dir = trainer.save_model(out / "model")
        return RunResult(steps=0, model_dir=model_dir, output_dir=out, trainer=trainer)
    rollout_model = None
    if rl.rollout_model is not None:
        rollout_model = load_backend(
            rl.rollout_model, field="rl.rollout_model", base_dir=config.base_dir
        )
    return await train_rl(
        trainer,
        parts.program,
        parts.train_tasks,
        parts.reward,
        config=rl,
        eval_tasks=parts.eval_tasks,
        output_dir=out,
        seed=config.seed,
        rollout_model=rollout_model,
        resume=resume,
        on_step=on_step,
    )


def run_training(
    config: RunConfig, *, resume: bool = False, on_step: ProgressCallback | None = None
) -> RunResult:
    """Synchronous :func:`arun_training` (not from inside a running event loop)."""
    return asyncio.run(arun_training(config, resume=resume, on_step=on_step))
