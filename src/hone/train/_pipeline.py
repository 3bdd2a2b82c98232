"""A whole run from a :class:`~hone.train.TrainingRunConfig`: resolve its pieces, load the
policy, SFT (optional), RL (optional), save. :func:`run_training` is the sync shell of
:func:`arun_training`."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hone.errors import ModelSpecError, TrainingConfigError
from hone.models import BatchingModel, ModelBackend, load_model, parse_spec
from hone.rewards import Reward, reward_fn
from hone.train._config import TrainerConfig
from hone.train._metrics import SFTStepMetrics
from hone.train._prompt import with_requests
from hone.train._recorded import RecordedEpisodes, load_recorded
from hone.train._run import train_rl
from hone.train._run_config import TrainingRunConfig
from hone.train._run_config_load import load_tasks, resolve_object
from hone.train._run_outputs import latest_checkpoint
from hone.train._run_result import ProgressCallback, RunResult, StepReport
from hone.train._run_sft import SFTResult, load_episodes, teacher_episodes, train_sft
from hone.train._search_assist import SearchAssist
from hone.train._trainer import Trainer
from hone.trajectory import Episode, Program

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
    """The Python objects a :class:`TrainingRunConfig` names.

    ``program`` already renders tool schemas as ``config.tool_schemas`` says, so every phase
    (teacher, SFT evaluation, RL, ``hone eval``) sends the same prompts.
    """

    program: Program
    reward: Reward | None
    train_tasks: list[Any]
    eval_tasks: list[Any]
    #: ``rl.search`` built (None without it).
    search: SearchAssist | None = None


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


def as_program(obj: Any, *, field: str) -> Program:
    """``obj`` when it can be called as ``program(task, model)``.

    Raises:
        TrainingConfigError: it cannot.
    """
    if not callable(obj):
        raise TrainingConfigError(
            f"{field} names a {type(obj).__name__}, which is not callable; name a function "
            "program(task, model)."
        )
    program: Program = obj
    return program


def _needs_eval(config: TrainingRunConfig) -> bool:
    sft_eval = config.sft.eval if config.sft is not None else None
    rl_eval = config.rl.eval if config.rl is not None else None
    return any(e is not None and e.every > 0 for e in (sft_eval, rl_eval))


def resolve_parts(config: TrainingRunConfig, *, eval_split: str | None = None) -> RunParts:
    """Import the program, reward and task source, and load the train and eval tasks (the
    eval tasks when an evaluation needs them, or ``eval_split`` is given).

    Raises:
        TrainingConfigError: an import path cannot be resolved, or the tasks cannot be loaded.
    """
    base = config.base_dir
    program = as_program(
        resolve_object(config.program, field="program", base_dir=base), field="program"
    )
    reward = None
    if config.reward is not None:
        reward = as_reward(resolve_object(config.reward, field="reward", base_dir=base))
    tasks = config.tasks
    source = resolve_object(tasks.source, field="tasks.source", base_dir=base)

    def split(name: str) -> list[Any]:
        return load_tasks(source, name, config.seed, args=tasks.args, field="tasks.source")

    train = split(tasks.train_split)
    evals: list[Any] = []
    if eval_split is not None or _needs_eval(config):
        evals = split(eval_split or tasks.eval_split)[: tasks.eval_size]
    return RunParts(
        with_requests(program, tool_schemas=config.tool_schemas),
        reward,
        train,
        evals,
        search=_search_assist(config),
    )


def _search_assist(config: TrainingRunConfig) -> SearchAssist | None:
    """``rl.search`` as a :class:`SearchAssist` (its import path resolved now, so a bad one
    fails before any model loads).

    Raises:
        TrainingConfigError: the path cannot be imported or names no callable.
    """
    wanted = config.rl.search if config.rl is not None else None
    if wanted is None:
        return None
    field = "rl.search.task_search"
    found = resolve_object(wanted.task_search, field=field, base_dir=config.base_dir)
    if not callable(found):
        raise TrainingConfigError(
            f"{field}={wanted.task_search!r} names a {type(found).__name__}; name a function "
            "search(task, policy, seed) -> episodes (e.g. built with hone.search.episode_search)"
        )
    return SearchAssist(
        found,
        mode=wanted.mode,
        max_episodes=wanted.max_episodes,
        per_search=wanted.per_search,
        concurrency=wanted.concurrency,
    )


def load_policy(config: TrainingRunConfig, path: str | Path | None = None) -> tuple[Any, Any]:
    """The trainable model and tokenizer that ``config.model`` names (or from ``path``).

    Raises:
        TrainingConfigError: the spec names a remote model, or the checkpoint cannot load.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

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
    """A backend from what :func:`hone.models.load_model` accepts (a model spec, an import path
    naming a backend or a function returning one, a LangChain spec), relative paths read from
    ``base_dir``; local models are batched.

    Raises:
        TrainingConfigError: ``value`` names no model; the message names ``field``.
    """
    try:
        backend = load_model(value, base_dir=base_dir)
    except ModelSpecError as exc:
        raise TrainingConfigError(f"{field}={value!r}: {exc}") from exc
    local = value.partition(":")[0].strip().lower() in ("hf", "tiny")
    return BatchingModel(backend) if local else backend


def _trainer_config(trainer: TrainerConfig, config: TrainingRunConfig) -> TrainerConfig:
    """A loop's trainer settings, seeded with the run's seed unless they name their own."""
    if trainer.seed is not None:
        return trainer
    return dataclasses.replace(trainer, seed=config.seed)


def _report(on_step: ProgressCallback | None) -> Any:
    def report(metrics: SFTStepMetrics, total: int) -> None:
        if on_step is not None:
            on_step(StepReport("sft", metrics.step, total, metrics))

    return report


async def _sft_episodes(config: TrainingRunConfig, parts: RunParts, folder: Path) -> list[Episode]:
    sft = config.sft
    if sft is None:
        return []
    if sft.trajectories is not None:
        return load_episodes(config.resolve_path(sft.trajectories), min_reward=sft.min_reward)
    teacher = load_backend(
        sft.teacher_model or "", field="sft.teacher_model", base_dir=config.base_dir
    )
    program = parts.program
    if sft.teacher_program is not None:
        own = resolve_object(
            sft.teacher_program, field="sft.teacher_program", base_dir=config.base_dir
        )
        program = with_requests(
            as_program(own, field="sft.teacher_program"), tool_schemas=config.tool_schemas
        )
    return await teacher_episodes(
        program,
        parts.train_tasks,
        teacher,
        reward=parts.reward,
        config=sft,
        seed=config.seed,
        save_to=folder / "teacher.jsonl",
    )


async def _sft_phase(
    config: TrainingRunConfig, parts: RunParts, out: Path, on_step: ProgressCallback | None
) -> tuple[Any, Any, SFTResult | None]:
    """Run SFT (or reuse a finished one when resuming); the model to go on with."""
    sft, folder = config.sft, out / "sft"
    if sft is None:
        return (*load_policy(config), None)
    if (folder / SFT_DONE).is_file() and (folder / "model").is_dir():
        logger.info("SFT already done in %s; reusing its model", folder)
        return (*load_policy(config, folder / "model"), None)
    episodes = await _sft_episodes(config, parts, folder)
    model, tokenizer = load_policy(config)
    trainer_config = _trainer_config(sft.trainer, config)
    trainer = Trainer(model, tokenizer, config=trainer_config)
    result = await train_sft(
        trainer,
        episodes,
        config=sft.model_copy(update={"trainer": trainer_config}),
        program=parts.program,
        eval_tasks=parts.eval_tasks,
        reward=parts.reward,
        seed=config.seed,
        strict=config.rl.strict_prefix if config.rl is not None else False,
        output_dir=folder,
        on_step=_report(on_step),
    )
    trainer.save_model(folder / "model")
    summary = {"steps": result.steps, "model_step": result.model_step, "best": result.best_value}
    (folder / SFT_DONE).write_text(json.dumps(summary), encoding="utf-8")
    lora = trainer_config.lora is not None
    merged = trainer.model.merge_and_unload() if lora else trainer.model
    return merged, tokenizer, result


async def arun_training(
    config: TrainingRunConfig, *, resume: bool = False, on_step: ProgressCallback | None = None
) -> RunResult:
    """Run ``config``: optional SFT, then RL, writing everything under ``config.output_dir``
    (resolved from the config's folder).

    Raises:
        TrainingConfigError: a field cannot be resolved, or the output folder holds another run
            and ``resume`` is False.
        CapabilityError: RL's rollout model gives no token ids.
    """
    out = config.out_dir
    if not resume and (latest_checkpoint(out) is not None or (out / "sft" / SFT_DONE).exists()):
        raise TrainingConfigError(
            f"{out} already holds a run; resume it (`hone train CONFIG --resume`) or choose "
            "another output_dir."
        )
    parts = resolve_parts(config)
    recorded: RecordedEpisodes | None = None
    if config.rl is not None and config.rl.steps > 0 and config.rl.trajectories is not None:
        # Read before any model loads or SFT runs: a bad file fails at once.
        path = config.resolve_path(config.rl.trajectories)
        recorded = load_recorded(path, config=config.rl)
    model, tokenizer, sft = await _sft_phase(config, parts, out, on_step)
    sft_warnings = list(sft.warnings) if sft is not None else []
    rl = config.rl
    if rl is None or rl.steps == 0 or parts.reward is None:
        trainer = Trainer(model, tokenizer, config=_trainer_config(TrainerConfig(), config))
        model_dir = trainer.save_model(out / "model")
        return RunResult(
            steps=0, model_dir=model_dir, output_dir=out, trainer=trainer, sft=sft,
            warnings=sft_warnings,
        )  # fmt: skip
    trainer_config = _trainer_config(rl.trainer, config)
    trainer = Trainer(model, tokenizer, config=trainer_config)
    rollout_model = None
    if rl.rollout_model is not None:
        rollout_model = load_backend(
            rl.rollout_model, field="rl.rollout_model", base_dir=config.base_dir
        )
    publisher = None
    if rl.publish is not None:
        if trainer_config.lora is None:
            raise TrainingConfigError(
                "rl.publish makes LoRA adapters live; set rl.trainer.lora (full fine-tuning "
                "is published with hone.train.WeightsPublisher from Python)"
            )
        publisher = rl.publish.publisher(rollout_model, out)
    result = await train_rl(
        trainer,
        parts.program,
        parts.train_tasks if recorded is None else recorded,
        parts.reward,
        config=rl.model_copy(update={"trainer": trainer_config}),
        eval_tasks=parts.eval_tasks,
        output_dir=out,
        seed=config.seed,
        rollout_model=rollout_model,
        resume=resume,
        on_step=on_step,
        publisher=publisher,
        search=parts.search,
    )
    if publisher is not None:
        publisher.close()
    result.sft = sft
    result.warnings = sft_warnings + result.warnings
    return result


def run_training(
    config: TrainingRunConfig, *, resume: bool = False, on_step: ProgressCallback | None = None
) -> RunResult:
    """Synchronous :func:`arun_training` (not from inside a running event loop)."""
    return asyncio.run(arun_training(config, resume=resume, on_step=on_step))
