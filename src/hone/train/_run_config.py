"""The typed configuration of a training run, loaded from YAML or TOML.

Every piece of a run is named by its Python import path ``package.module:attr``: the task source,
the agent program, the reward, a teacher model. A relative module is found next to the config
file (its folder is searched first), so a config and its module can live side by side::

    model: tiny:
    tasks: say_number:tasks
    program: say_number:program
    reward: say_number:reward
    rl: {group_size: 4, tasks_per_step: 2, steps: 10}

Errors are :class:`~hone.errors.TrainingConfigError` naming the field and the fix.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import re
import sys
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hone.errors import TrainingConfigError
from hone.train._advantages import AdvantageScale
from hone.train._config import LoraConfig
from hone.train._losses import KLEstimator, LossType

__all__ = [
    "LoraSettings",
    "RLConfig",
    "RunConfig",
    "SFTConfig",
    "TasksConfig",
    "load_config",
    "load_tasks",
    "resolve_object",
]

# Imported by name: typed the same with or without the types-PyYAML stubs installed.
yaml: Any = importlib.import_module("yaml")

_IDENT = r"[A-Za-z_]\w*"
_OBJECT_PATH = re.compile(rf"^{_IDENT}(?:\.{_IDENT})*:{_IDENT}(?:\.{_IDENT})*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TasksConfig(_Strict):
    """Where tasks come from.

    ``source`` names a function ``tasks(split, seed)`` (either parameter optional), a mapping
    ``{split: [task, ...]}``, or a plain sequence (train split only).
    """

    source: str
    train_split: str = "train"
    eval_split: str = "eval"
    #: Use at most this many evaluation tasks (None: all of them).
    eval_size: int | None = Field(default=None, ge=1)


class LoraSettings(_Strict):
    """LoRA adapters instead of full fine-tuning (see :class:`~hone.train.LoraConfig`)."""

    r: int = Field(default=8, ge=1)
    alpha: int = 16
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")

    def to_lora(self) -> LoraConfig:
        """The trainer's :class:`~hone.train.LoraConfig`."""
        return LoraConfig(
            r=self.r, alpha=self.alpha, dropout=self.dropout, target_modules=self.target_modules
        )


class SFTConfig(_Strict):
    """Supervised fine-tuning before RL, from a trajectory file or from a teacher's rollouts."""

    #: Episodes to imitate: a ``.jsonl``, ``.parquet`` or SQLite ``.db`` file.
    trajectories: str | None = None
    #: Or: a teacher backend (model spec or import path) run through ``teacher_program``.
    teacher_model: str | None = None
    #: The program the teacher runs (default: the run's ``program``).
    teacher_program: str | None = None
    #: Teacher rollouts per training task.
    rollouts_per_task: int = Field(default=1, ge=1)
    #: Keep only episodes whose reward is at least this (rejection sampling); None keeps all.
    min_reward: float | None = None
    epochs: int = Field(default=1, ge=1)
    batch_size: int = Field(default=8, ge=1)
    lr: float = Field(default=1e-4, gt=0)
    #: Train on the recorded token ids when every call has them (same tokenizer only);
    #: otherwise conversations are rendered with the student's chat template.
    use_token_ids: bool = False


class RLConfig(_Strict):
    """GRPO-style reinforcement learning."""

    group_size: int = Field(default=8, ge=2)
    tasks_per_step: int = Field(default=4, ge=1)
    steps: int = Field(default=100, ge=0)
    loss_type: LossType = "dapo"
    lr: float = Field(default=1e-5, gt=0)
    beta: float = Field(default=0.0, ge=0)
    kl: KLEstimator = "k3"
    eps_low: float = Field(default=0.2, ge=0)
    eps_high: float | None = Field(default=None, ge=0)
    advantage_scale: AdvantageScale = "group"
    advantage_eps: float = Field(default=1e-4, ge=0)
    #: Per-turn advantages from ``ModelCall.reward`` returns-to-go (see ``turn_advantages``).
    per_turn: bool = False
    gamma: float = Field(default=1.0, ge=0, le=1)
    #: Sampling temperature of training rollouts (overrides the program's).
    temperature: float = Field(default=1.0, ge=0)
    #: Most new tokens per model call (overrides the program's); None keeps the program's.
    max_tokens: int | None = Field(default=None, ge=1)
    #: Most rollouts running at once (None: all of a step).
    concurrency: int | None = Field(default=None, ge=1)
    max_failures: int | None = Field(default=None, ge=0)
    micro_batch_size: int = Field(default=8, ge=1)
    max_grad_norm: float | None = Field(default=1.0, gt=0)
    #: Evaluate every N steps (0: never) on the eval split, greedily unless eval_temperature.
    eval_every: int = Field(default=10, ge=0)
    eval_temperature: float = Field(default=0.0, ge=0)
    #: Save a resumable checkpoint every N steps (0: only at the end).
    checkpoint_every: int = Field(default=10, ge=0)
    #: Raise PrefixPropertyError when a call's prompt does not extend the previous call.
    strict_prefix: bool = False
    #: A reward at or above this counts as a success.
    success_threshold: float = 1.0
    #: Where rollouts sample from: default the live policy; a spec or import path otherwise.
    rollout_model: str | None = None


class RunConfig(_Strict):
    """A whole training run: what to train, on what, rewarded how, and where to write."""

    #: The policy: ``tiny:``, ``tiny:<dir>`` or ``hf:<dir>`` (a local checkpoint).
    model: str
    tasks: TasksConfig
    program: str
    reward: str | None = None
    output_dir: Path = Path("runs/hone")
    seed: int = 0
    device: str = "cpu"
    #: The dtype the policy is loaded and trained in.
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    lora: LoraSettings | None = None
    sft: SFTConfig | None = None
    rl: RLConfig | None = Field(default_factory=RLConfig)
    #: The folder relative import paths and files are resolved from (the config's folder).
    base_dir: Path = Path(".")

    @field_validator("tasks", mode="before")
    @classmethod
    def _tasks_shorthand(cls, value: Any) -> Any:
        return {"source": value} if isinstance(value, str) else value

    def resolve_path(self, path: str | Path) -> Path:
        """``path`` as given when absolute or existing, else relative to :attr:`base_dir`."""
        candidate = Path(path).expanduser()
        if candidate.is_absolute() or candidate.exists():
            return candidate
        return self.base_dir / candidate

    def check(self) -> None:
        """Cross-field checks pydantic cannot express.

        Raises:
            TrainingConfigError: a run that cannot work, with the fix.
        """
        if self.rl is not None and self.rl.steps > 0 and self.reward is None:
            raise TrainingConfigError(
                "reward is missing: RL needs a reward. Set reward: 'package.module:attr' naming "
                "a hone Reward or a function of an episode, or set rl: null for SFT only."
            )
        if self.sft is not None:
            given = [self.sft.trajectories is not None, self.sft.teacher_model is not None]
            if sum(given) != 1:
                raise TrainingConfigError(
                    "sft needs exactly one of sft.trajectories (a file of episodes) or "
                    "sft.teacher_model (a backend whose rollouts are imitated)."
                )
            if self.sft.min_reward is not None and self.reward is None:
                raise TrainingConfigError(
                    "sft.min_reward filters by reward, but reward is missing; set reward or drop "
                    "sft.min_reward."
                )
        for name in ("program", "reward"):
            value = getattr(self, name)
            if value is not None and not _OBJECT_PATH.match(value):
                raise TrainingConfigError(_bad_path(name, value))
        if not _OBJECT_PATH.match(self.tasks.source):
            raise TrainingConfigError(_bad_path("tasks.source", self.tasks.source))


def _bad_path(field: str, value: str) -> str:
    return (
        f"{field}={value!r} is not an import path; write it as 'package.module:attr' "
        "(e.g. 'my_agent:program')."
    )


def _format_errors(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "config"
        lines.append(f"{where}: {error['msg']}")
    return "; ".join(lines)


def load_config(
    source: str | Path | Mapping[str, Any], *, overrides: Mapping[str, Any] | None = None
) -> RunConfig:
    """Read a :class:`RunConfig` from a ``.yaml``/``.yml``/``.toml`` file or a mapping.

    ``overrides`` are merged in one level deep (``{"rl": {"steps": 2}}`` changes only the
    step count). A file's folder becomes :attr:`RunConfig.base_dir`.

    Raises:
        TrainingConfigError: the file is missing or unreadable, or a field is invalid (the
            message names each field).
    """
    if isinstance(source, Mapping):
        data, base = dict(source), Path(".")
    else:
        data, base = _read_file(Path(source)), Path(source).resolve().parent
    for key, value in (overrides or {}).items():
        current = data.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            data[key] = {**current, **value}
        else:
            data[key] = value
    data.setdefault("base_dir", base)
    try:
        config = RunConfig.model_validate(data)
    except ValidationError as exc:
        raise TrainingConfigError(
            f"invalid training config: {_format_errors(exc)}. Fix these fields (see "
            "docs/training.md for every field)."
        ) from None
    config.check()
    return config


def _read_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise TrainingConfigError(f"no config file at {path}; pass a .yaml or .toml file.")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix == ".toml":
            data: Any = tomllib.loads(text)
        elif path.suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text)
        else:
            raise TrainingConfigError(
                f"{path} is neither .yaml, .yml nor .toml; rename it to say its format."
            )
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        raise TrainingConfigError(f"cannot parse {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise TrainingConfigError(
            f"{path} must hold a mapping of fields, not {type(data).__name__}."
        )
    return data


@contextlib.contextmanager
def _searching(base_dir: Path | None) -> Iterator[None]:
    """Put ``base_dir`` first on ``sys.path`` while importing."""
    if base_dir is None:
        yield
        return
    entry = str(Path(base_dir).resolve())
    added = entry not in sys.path
    if added:
        sys.path.insert(0, entry)
    try:
        yield
    finally:
        if added and entry in sys.path:
            sys.path.remove(entry)


def resolve_object(path: str, *, field: str, base_dir: Path | None = None) -> Any:
    """The object an import path ``package.module:attr`` names.

    Raises:
        TrainingConfigError: the path is malformed, the module cannot be imported or has no
            such attribute; the message names ``field``.
    """
    if not _OBJECT_PATH.match(path):
        raise TrainingConfigError(_bad_path(field, path))
    module_name, _, attr = path.partition(":")
    with _searching(base_dir):
        try:
            obj: Any = importlib.import_module(module_name)
        except ImportError as exc:
            raise TrainingConfigError(
                f"{field}={path!r}: cannot import module {module_name!r} ({exc}); check the "
                "spelling and that the module is on the Python path or next to the config."
            ) from exc
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise TrainingConfigError(
                f"{field}={path!r}: module {module_name!r} has no attribute {attr!r}; name an "
                "object the module defines."
            )
        obj = getattr(obj, part)
    return obj


def load_tasks(source: Any, split: str, seed: int, *, field: str = "tasks") -> list[Any]:
    """The tasks of ``split`` from a task source (see :class:`TasksConfig`).

    Raises:
        TrainingConfigError: the source has no such split, or gives no tasks.
    """
    if callable(source) and not isinstance(source, Mapping):
        params = inspect.signature(source).parameters
        kwargs = {k: v for k, v in (("split", split), ("seed", seed)) if k in params}
        tasks = source(**kwargs)
    elif isinstance(source, Mapping):
        if split not in source:
            raise TrainingConfigError(
                f"{field} has no split {split!r} (it has {sorted(source)}); add it or set "
                "tasks.train_split / tasks.eval_split."
            )
        tasks = source[split]
    elif isinstance(source, Sequence) and not isinstance(source, str):
        if split != "train":
            raise TrainingConfigError(
                f"{field} is a plain sequence, which has no {split!r} split; make it a function "
                "tasks(split, seed) or a dict {'train': [...], 'eval': [...]}, or set "
                "rl.eval_every: 0."
            )
        tasks = source
    else:
        raise TrainingConfigError(
            f"{field} names a {type(source).__name__}; name a function tasks(split, seed), a "
            "dict of splits or a list of tasks."
        )
    out = list(tasks)
    if not out:
        raise TrainingConfigError(f"{field} gave no tasks for split {split!r}.")
    return out
