"""The typed configuration of a training run, loaded from YAML or TOML.

Every piece of a run is named by its Python import path ``package.module:attr``: the task source,
the agent program, the reward, a teacher model. A relative module is found next to the config
file (its folder is searched first), so a config and its module can live side by side::

    model: tiny:
    tasks: say_number:tasks
    program: say_number:program
    reward: say_number:reward
    rl: {group_size: 4, tasks_per_step: 2, steps: 10, trainer: {lr: 1.0e-5}}

Every other relative path in the config (``output_dir``, ``sft.trajectories``, ``hf:<dir>``) is
resolved from the config's folder too, never from the current directory. Each loop nests the
trainer's settings (``sft.trainer``, ``rl.trainer``: a :class:`~hone.train.TrainerConfig`).
Reading a file, resolving import paths and loading tasks: ``_run_config_load.py``.

Errors are :class:`~hone.errors.TrainingConfigError` naming the field and the fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from hone._imports import FORMS, parse_object_path
from hone.errors import TrainingConfigError
from hone.train._advantages import AdvantageScale
from hone.train._config import TrainerConfig
from hone.train._prompt import ToolSchemaMode
from hone.train._publish import LoRAPublisher, PauseMode, ServedPolicy
from hone.train._roles import RolesConfig
from hone.trajectory import RayExecutor

__all__ = [
    "EarlyStopping",
    "EvalConfig",
    "PublishConfig",
    "RLConfig",
    "RayConfig",
    "SFTConfig",
    "SearchConfig",
    "TasksConfig",
    "TrainingRunConfig",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _trainer_errors(value: Any, handler: Any) -> Any:
    """Validate a nested ``trainer``; its own checks raise, prefixed with where it is."""
    try:
        return handler(value)
    except TrainingConfigError as exc:
        raise TrainingConfigError(f"trainer: {exc}") from None


class TasksConfig(_Strict):
    """Where tasks come from.

    ``source`` names a function ``tasks(split, seed, **args)`` (``split`` and ``seed`` are passed
    when it takes them), a mapping ``{split: [task, ...]}``, or a plain sequence (train split
    only).
    """

    source: str
    #: Keyword arguments for a task function (sizes, difficulty, ...).
    args: dict[str, Any] = Field(default_factory=dict)
    train_split: str = "train"
    eval_split: str = "eval"
    #: Use at most this many evaluation tasks (None: all of them).
    eval_size: int | None = Field(default=None, ge=1)


class EarlyStopping(_Strict):
    """Stop when the held-out metric stops improving (see :class:`EvalConfig`).

    The patience only counts once the metric has improved on its first value, so a run still on
    its starting plateau is never stopped early.
    """

    #: Evaluations in a row without an improvement before stopping.
    patience: int = Field(default=3, ge=1)
    #: The least gain that counts as an improvement.
    min_delta: float = Field(default=0.0, ge=0)


class EvalConfig(_Strict):
    """Held-out evaluation during a loop: how often, and what to do with the results."""

    #: Evaluate every N steps and at the end (0: never).
    every: int = Field(default=10, ge=0)
    #: Evaluate before the first step too: the baseline in the same table.
    at_start: bool = True
    #: Use the first N held-out tasks (None: all, up to ``tasks.eval_size``); frequent
    #: evaluations during SFT can use fewer than the final ones.
    tasks: int | None = Field(default=None, ge=1)
    #: Sampling temperature of evaluation rollouts (0: greedy).
    temperature: float = Field(default=0.0, ge=0)
    #: A reward at or above this counts as a success (evaluations and training rollouts).
    success_threshold: float = 1.0
    #: The metric ``keep_best`` and ``early_stopping`` follow.
    metric: Literal["eval_success", "eval_reward"] = "eval_success"
    #: Keep the best evaluated model: RL writes it to ``output_dir/best``; SFT also goes on from
    #: it. False keeps only the last.
    keep_best: bool = True
    early_stopping: EarlyStopping | None = None


class SFTConfig(_Strict):
    """Supervised fine-tuning, from a trajectory file or from a teacher's rollouts.

    A step imitates ``batch_size`` samples (micro-batched by ``trainer.micro_batch_size``);
    ``max_steps`` steps are drawn from shuffled passes over the samples, or, when it is None,
    ``epochs`` full passes.
    """

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
    #: Optimizer steps (None: ``epochs`` passes over the samples).
    max_steps: int | None = Field(default=None, ge=1)
    epochs: int = Field(default=1, ge=1)
    #: Samples per optimizer step.
    batch_size: int = Field(default=8, ge=1)
    trainer: TrainerConfig = Field(default_factory=TrainerConfig)
    #: Held-out evaluation during SFT (None: none; the plateau check then reads the loss).
    eval: EvalConfig | None = None
    #: Train on the recorded token ids when every call has them (same tokenizer only);
    #: otherwise conversations are rendered with the student's chat template.
    use_token_ids: bool = False

    @field_validator("trainer", mode="wrap")
    @classmethod
    def _trainer(cls, value: Any, handler: Any) -> Any:
        return _trainer_errors(value, handler)


class RayConfig(_Strict):
    """Where Ray rollouts run (``rl.executor: ray``): the settings of
    :class:`~hone.trajectory.RayExecutor` (docs/scale.md)."""

    #: The cluster: ``auto`` (the one this machine belongs to) or ``ray://host:10001``;
    #: None starts a local Ray with ``num_cpus`` CPUs.
    address: str | None = None
    actors: int = Field(default=2, ge=1)
    #: Rollouts in flight per actor.
    actor_concurrency: int = Field(default=8, ge=1)
    actor_cpus: float = Field(default=1.0, ge=0)
    num_cpus: int = Field(default=2, ge=1)
    #: Ray's runtime environment for the actors (``working_dir``, ``py_modules``, ``pip``,
    #: ``env_vars``): how a cluster's workers get your code.
    runtime_env: dict[str, Any] | None = None

    def executor(self) -> RayExecutor:
        """A :class:`~hone.trajectory.RayExecutor` with these settings (not started)."""
        return RayExecutor(
            address=self.address,
            actors=self.actors,
            actor_concurrency=self.actor_concurrency,
            actor_cpus=self.actor_cpus,
            num_cpus=self.num_cpus,
            runtime_env=self.runtime_env,
        )


class PublishConfig(_Strict):
    """Make each new policy live on ``rl.rollout_model``'s server (vLLM or ``hone serve``)
    as a LoRA adapter (``rl.trainer.lora`` must be set): a :class:`~hone.train.LoRAPublisher`
    (docs/vllm.md)."""

    #: The server's API root; None: the rollout model's ``base_url``.
    base_url: str | None = None
    #: Adapter names are ``<base_name>-v<N>``; None: the rollout model's name.
    base_name: str | None = None
    #: Where adapters are saved (the server must read it); relative to ``output_dir``.
    folder: Path = Path("published")
    #: Versions kept loaded on the server.
    keep: int = Field(default=2, ge=1)
    #: How requests in flight are treated while switching; None: no pause.
    pause: PauseMode | None = "wait"
    #: Seconds each HTTP call to the server may take.
    timeout: float = Field(default=60.0, gt=0)

    def publisher(self, policy: Any, output_dir: Path) -> LoRAPublisher:
        """The publisher for ``policy`` (the rollout model's client).

        Raises:
            TrainingConfigError: ``policy`` is not a served model that can be switched
                (an OpenAI-compatible client), or no server URL is known.
        """
        if not isinstance(policy, ServedPolicy):
            raise TrainingConfigError(
                "rl.publish needs rl.rollout_model to be a served model (e.g. "
                "'openai-compatible:http://host:8000/v1#base'); got "
                f"{type(policy).__name__}"
            )
        base_url = self.base_url or getattr(policy, "base_url", None)
        if not base_url:
            raise TrainingConfigError("rl.publish.base_url is needed: the rollout model has none")
        return LoRAPublisher(
            base_url,
            base_name=self.base_name or str(getattr(policy, "name", "policy")),
            folder=self.folder if self.folder.is_absolute() else output_dir / self.folder,
            policy=policy,
            keep=self.keep,
            pause=self.pause,
            timeout=self.timeout,
        )


class SearchConfig(_Strict):
    """Search the tasks whose group of rollouts has no success and put the best success into
    the group: the config-file form of :class:`~hone.train.SearchAssist` (docs/search.md)."""

    #: ``search(task, policy, seed) -> episodes`` as an import path, e.g. a module attribute
    #: built with :func:`hone.search.episode_search`.
    task_search: str
    #: ``join`` (the group grows by one) or ``replace`` (its last failed rollout makes room).
    mode: Literal["join", "replace"] = "join"
    #: The run's sampling budget, rollouts and search episodes together (None: no budget).
    max_episodes: int | None = Field(default=None, ge=1)
    #: The most episodes one search records; needed with ``max_episodes``.
    per_search: int | None = Field(default=None, ge=1)
    #: Tasks searched at once.
    concurrency: int = Field(default=8, ge=1)

    @model_validator(mode="after")
    def _budget(self) -> SearchConfig:
        if self.max_episodes is not None and self.per_search is None:
            raise TrainingConfigError(
                "rl.search.max_episodes needs rl.search.per_search: the most episodes one "
                "search records (episode_search's budget)"
            )
        if not _is_object_path(self.task_search):
            raise TrainingConfigError(_bad_path("rl.search.task_search", self.task_search))
        return self


class RLConfig(_Strict):
    """GRPO-family reinforcement learning: the loop's settings, with the trainer's nested."""

    group_size: int = Field(default=8, ge=2)
    tasks_per_step: int = Field(default=4, ge=1)
    steps: int = Field(default=100, ge=0)
    trainer: TrainerConfig = Field(default_factory=TrainerConfig)
    advantage_scale: AdvantageScale = "group"
    advantage_eps: float = Field(default=1e-4, ge=0)
    #: Per-turn advantages from ``ModelCall.reward`` returns-to-go (see ``turn_advantages``).
    per_turn: bool = False
    gamma: float = Field(default=1.0, ge=0, le=1)
    #: Sampling temperature of training rollouts (overrides the program's).
    temperature: float = Field(default=1.0, ge=0)
    #: Most new tokens per model call (overrides the program's); None keeps the program's.
    max_tokens: int | None = Field(default=None, ge=1)
    #: Subtracted from the training reward of an episode with a call cut off at max_tokens (a
    #: lenient parser may still find a tool call in it); 0 turns it off. Evaluation is unpenalised.
    truncation_penalty: float = Field(default=1.0, ge=0)
    #: Most rollouts running at once (None: all of a step).
    concurrency: int | None = Field(default=None, ge=1)
    max_failures: int | None = Field(default=None, ge=0)
    eval: EvalConfig = Field(default_factory=EvalConfig)
    #: Save a resumable checkpoint (with a loadable ``model/``) every N steps (0: only at the end).
    checkpoint_every: int = Field(default=10, ge=0)
    #: Raise PrefixPropertyError when a call's prompt does not extend the previous call.
    strict_prefix: bool = False
    #: Drop episodes with a model call generated more than this many policy versions (trainer
    #: steps) before the current one (with ``trajectories``: before ``policy_version``): left
    #: out of training and of their group's baseline, counted as ``stale_episodes``. None keeps every episode (the importance ratio against
    #: the recorded logprobs still corrects mild staleness). Calls without an integer
    #: ``policy_version`` are never counted stale.
    max_staleness: int | None = Field(default=None, ge=0)
    #: Publish each update to ``rollout_model``'s server as a LoRA adapter (None: rollouts
    #: read the live weights, or a server kept current some other way).
    publish: PublishConfig | None = None
    #: Where rollouts sample from: default the live policy; a spec or import path otherwise.
    rollout_model: str | None = None
    #: Search the tasks no rollout solved and train on what search found (None: plain GRPO).
    #: ``hone train`` builds it; from Python pass ``train_rl(search=SearchAssist(...))``.
    search: SearchConfig | None = None
    #: Where rollouts run: ``local`` (this process) or ``ray`` (Ray actors calling
    #: ``rollout_model``, a server; the live policy's weights never travel through Ray).
    executor: Literal["local", "ray"] = "local"
    ray: RayConfig = Field(default_factory=RayConfig)
    #: Warn when fewer than this fraction of steps had a learning signal.
    min_signal: float = Field(default=0.5, ge=0, le=1)
    #: Warn when the last evaluation is this far below the best.
    collapse_drop: float = Field(default=0.2, ge=0)
    #: A multi-role program's roles: which are trained, which share a baseline (see
    #: :class:`~hone.train.RolesConfig`); the default trains a one-role program.
    roles: RolesConfig = Field(default_factory=RolesConfig)
    #: Train on recorded episodes instead of rollouts: a trajectory file (a gateway's
    #: database or another ``.db`` store, ``.jsonl``, ``.parquet``). Episodes group by task
    #: as rollouts do; each step takes ``tasks_per_step`` groups. Rollout settings
    #: (:data:`ROLLOUT_ONLY`) cannot be set with it.
    trajectories: str | None = None
    #: With ``trajectories``: the policy version this run starts from, which ``max_staleness``
    #: counts back from (None: the newest integer version recorded in the file).
    policy_version: int | None = None

    @field_validator("trainer", mode="wrap")
    @classmethod
    def _trainer(cls, value: Any, handler: Any) -> Any:
        return _trainer_errors(value, handler)

    @model_validator(mode="after")
    def _one_source(self) -> RLConfig:
        if self.trajectories is None and self.policy_version is not None:
            raise TrainingConfigError(
                "policy_version dates recorded episodes; it needs rl.trajectories (rollouts "
                "record the trainer's step as their version)."
            )
        clash = self.rollout_settings() if self.trajectories is not None else []
        if clash:
            raise TrainingConfigError(
                f"trajectories trains on recorded episodes, so the rollout settings "
                f"{', '.join(clash)} do nothing; drop them, or drop trajectories to roll out."
            )
        return self

    def rollout_settings(self) -> list[str]:
        """The rollout-only fields (:data:`ROLLOUT_ONLY`) this config sets to other values
        than their defaults: none may be when it trains on recorded episodes."""
        fields = type(self).model_fields
        return sorted(
            name
            for name in ROLLOUT_ONLY
            if getattr(self, name) != fields[name].get_default(call_default_factory=True)
        )

    def rollout_executor(self, *, served: bool) -> RayExecutor | None:
        """The executor of training rollouts: None runs them in this process.

        Args:
            served: whether rollouts sample from a server (a rollout model was given).

        Raises:
            TrainingConfigError: ``executor: ray`` without a server to call.
        """
        if self.executor == "local":
            return None
        if not served:
            raise TrainingConfigError(RAY_NEEDS_A_SERVER)
        return self.ray.executor()


class TrainingRunConfig(_Strict):
    """A whole training run: what to train, on what, rewarded how, and where to write.

    Relative paths (``output_dir``, ``sft.trajectories``, ``hf:`` model paths) and relative
    import paths are resolved from :attr:`base_dir`: the config file's folder.
    """

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
    #: How tool schemas reach the prompt, in every phase (see ``hone.train.ToolSchemas``).
    tool_schemas: ToolSchemaMode = "full"
    sft: SFTConfig | None = None
    rl: RLConfig | None = Field(default_factory=RLConfig)
    #: The folder relative paths and import paths are resolved from (the config's folder).
    base_dir: Path = Field(default_factory=lambda: Path(".").resolve())

    @field_validator("tasks", mode="before")
    @classmethod
    def _tasks_shorthand(cls, value: Any) -> Any:
        return {"source": value} if isinstance(value, str) else value

    @field_validator("sft", "rl", mode="wrap")
    @classmethod
    def _name_the_section(cls, value: Any, handler: Any, info: ValidationInfo) -> Any:
        # A nested trainer config raises its own error: say which section it is in.
        try:
            return handler(value)
        except TrainingConfigError as exc:
            raise TrainingConfigError(f"{info.field_name}.{exc}") from None

    def resolve_path(self, path: str | Path) -> Path:
        """``path`` as given when absolute, else relative to :attr:`base_dir`."""
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else self.base_dir / candidate

    @property
    def out_dir(self) -> Path:
        """:attr:`output_dir`, resolved from :attr:`base_dir`."""
        return self.resolve_path(self.output_dir)

    def check(self) -> None:
        """Cross-field checks pydantic cannot express.

        Raises:
            TrainingConfigError: a run that cannot work, with the fix.
        """
        if self.rl is not None and self.rl.steps > 0 and self.reward is None:
            recorded = self.rl.trajectories is not None
            why = (
                "RL on rl.trajectories trains on the recorded rewards and evaluates held-out "
                "tasks with the config's reward"
                if recorded
                else "RL needs a reward"
            )
            raise TrainingConfigError(
                f"reward is missing: {why}. Set reward: 'package.module:attr' naming a hone "
                "Reward or a function of an episode, or set rl: null for SFT only."
            )
        if self.rl is not None and self.rl.executor == "ray" and self.rl.rollout_model is None:
            raise TrainingConfigError(RAY_NEEDS_A_SERVER)
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
            if self.sft.eval is not None and self.sft.eval.every > 0 and self.reward is None:
                raise TrainingConfigError(
                    "sft.eval scores held-out tasks, but reward is missing; set reward or drop "
                    "sft.eval."
                )
        for name in ("program", "reward"):
            value = getattr(self, name)
            if value is not None and not _is_object_path(value):
                raise TrainingConfigError(_bad_path(name, value))
        if not _is_object_path(self.tasks.source):
            raise TrainingConfigError(_bad_path("tasks.source", self.tasks.source))


def _is_object_path(value: str) -> bool:
    parsed = parse_object_path(value)
    return parsed is not None and parsed.attr is not None


def _bad_path(field: str, value: str) -> str:
    return (
        f"{field}={value!r} is not an import path; write it as {FORMS} (e.g. 'my_agent:program')."
    )


#: Why ``rl.executor: ray`` needs ``rl.rollout_model``.
RAY_NEEDS_A_SERVER = (
    "rl.executor: ray runs rollouts in Ray actors, which call a model server: the live "
    "policy's weights never travel through Ray. Set rl.rollout_model (train_rl's "
    "rollout_model=) to the server that serves the policy (e.g. "
    "'openai-compatible:http://host:8000/v1#policy': `hone serve` or vLLM) and publish new "
    "weights to it (docs/vllm.md), or use rl.executor: local."
)

#: RL settings that only rollouts use: refused beside ``rl.trajectories`` (recorded episodes
#: were sampled, scored and served already). ``concurrency`` and ``max_tokens`` stay: the
#: held-out evaluations roll out.
ROLLOUT_ONLY = frozenset(
    {
        "group_size",
        "temperature",
        "truncation_penalty",
        "max_failures",
        "rollout_model",
        "executor",
        "ray",
        "publish",
        "search",
    }
)
