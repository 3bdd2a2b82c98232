"""The RL loop of a training run: roll out, score, build samples, update, evaluate, checkpoint.

One step of :func:`train_rl`::

    tasks      = tasks_per_step tasks, drawn without replacement epoch by epoch (seeded)
    episodes   = rollout_batch(program, tasks, RecordingModel(policy), group_size=G)
    samples    = build_rl_batch(episodes)   # None rewards excluded, flat groups skipped
    update     = trainer.train_step(samples)

With ``search=SearchAssist(...)``, the tasks whose group no rollout solved are searched with
the same policy between the rollouts and the batch, and the best success joins the group
(``_search_assist.py``).

The rollout backend is the live policy (:func:`~hone.train._policy.policy_backend`) unless
another is given. Before the first step the held-out tasks are evaluated (the baseline in the
same table), then every ``eval.every`` steps; the best evaluated model is written to
``output_dir/best``. Episodes are written to ``output_dir/trajectories.db`` at each checkpoint,
together with the trainer's state and a loadable ``model/``, so a run resumed from its output
directory continues exactly where the checkpoint left it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hone.errors import PublishError, TrainingConfigError
from hone.models import ModelBackend
from hone.rewards import Reward, TruncationPenalty, WeightedSum
from hone.train._evaluate import EvalResult, evaluate
from hone.train._health import EvalTracker, RunWarning, rl_warnings
from hone.train._metrics import EvalMetrics, RLStepMetrics
from hone.train._policy import policy_backend
from hone.train._prompt import with_requests
from hone.train._publish import PolicyPublisher
from hone.train._recorded import RecordedEpisodes, check_source
from hone.train._rl_batch import build_rl_batch
from hone.train._role_policies import RolePolicies
from hone.train._run_config import RLConfig
from hone.train._run_outputs import RunOutputs, resume_state
from hone.train._run_result import ProgressCallback, RunResult, StepReport
from hone.train._search_assist import SearchAssist, SearchedStep, Searcher, searcher
from hone.train._trainer import Trainer
from hone.trajectory import Episode, Program, RolloutExecutor, derive_seed
from hone.trajectory import rollout_batch as _rollout_batch

__all__ = ["tasks_for_step", "train_rl"]

logger = logging.getLogger(__name__)

#: What RL on recorded episodes found in them (``RecordedCounts``), in the run's folder.
RECORDED = "recorded.json"
PLOT_KEYS = ("reward", "success", "eval_success", "loss", "skipped_groups", "truncated_calls")


def tasks_for_step(tasks: Sequence[Any], step: int, per_step: int, seed: int) -> list[Any]:
    """The tasks of RL step ``step``: consecutive slices of seeded permutations of ``tasks``
    (one permutation per epoch), so every task is used once per epoch and any step can be
    recomputed from ``(seed, step)`` alone (what resuming needs)."""
    if not tasks:
        raise TrainingConfigError("no training tasks; the task source gave an empty train split.")
    n = len(tasks)
    orders: dict[int, list[int]] = {}
    out: list[Any] = []
    for position in range(step * per_step, (step + 1) * per_step):
        epoch, index = divmod(position, n)
        if epoch not in orders:
            orders[epoch] = list(range(n))
            random.Random(derive_seed(seed, "epoch", epoch)).shuffle(orders[epoch])
        out.append(tasks[orders[epoch][index]])
    return out


#: One reward for every role, or a mapping of role to reward (roles left out stay unscored).
Rewards = Reward | Mapping[str, Reward]


def training_reward(reward: Rewards, truncation_penalty: float) -> Rewards:
    """``reward`` (each role's, for a mapping) minus ``truncation_penalty`` for episodes with a
    call cut off at ``max_tokens`` (the reward itself when the penalty is 0)."""
    if isinstance(reward, Mapping):
        return {role: _penalised(r, truncation_penalty) for role, r in reward.items()}
    return _penalised(reward, truncation_penalty)


def _penalised(reward: Reward, truncation_penalty: float) -> Reward:
    if truncation_penalty == 0:
        return reward
    return WeightedSum({"reward": reward, "truncated": TruncationPenalty(truncation_penalty)})


@dataclass(slots=True)
class _Loop:
    """Everything one RL step needs, fixed for the run."""

    trainer: Trainer
    program: Program
    eval_program: Program
    tasks: Sequence[Any]
    eval_tasks: Sequence[Any]
    reward: Rewards
    eval_reward: Rewards
    config: RLConfig
    recording: ModelBackend | Mapping[str, ModelBackend]
    backend: ModelBackend | Mapping[str, ModelBackend]
    policies: RolePolicies
    seed: int
    outputs: RunOutputs
    tracker: EvalTracker
    #: Where rollouts run (None: in this process).
    executor: RolloutExecutor | None = None
    #: Makes each new policy live on the rollout server (None: rollouts read the live weights).
    publisher: PolicyPublisher | None = None
    #: Publishes that failed (the server kept the previous version).
    publish_failures: int = 0
    #: Train on these instead of rollouts (``rl.trajectories``).
    recorded: RecordedEpisodes | None = None
    #: Searches the tasks no rollout solved (``train_rl(search=...)``).
    searcher: Searcher | None = None
    #: Rollouts and search episodes so far (what ``assist.max_episodes`` counts).
    sampled: int = 0

    def budget_spent(self) -> bool:
        """Whether the next step's rollouts no longer fit the episode budget."""
        assist = self.searcher.assist if self.searcher is not None else None
        room = assist.room(self.sampled) if assist is not None else None
        return room is not None and room < self.config.tasks_per_step * self.config.group_size

    async def publish(self) -> tuple[float | None, bool]:
        """Publish the trainer's current weights: (seconds, failed); (None, False) without a
        publisher. A failure is logged and counted; training goes on."""
        if self.publisher is None:
            return None, False
        started = time.perf_counter()
        try:
            # In a worker thread: HTTP calls and saving must not block the event loop.
            await asyncio.to_thread(self.publisher.publish, self.trainer, self.trainer.step)
        except PublishError as exc:
            self.publish_failures += 1
            logger.warning("policy version %d not published: %s", self.trainer.step, exc)
            return time.perf_counter() - started, True
        return time.perf_counter() - started, False

    async def episodes(self, step: int) -> tuple[list[Episode], int | None, float]:
        """The step's episodes, the policy version staleness counts back from, and the
        rollouts' wall time (0 for recorded episodes)."""
        cfg, recorded = self.config, self.recorded
        if recorded is not None:  # whole groups; one pass holds each group once
            per_step = min(cfg.tasks_per_step, len(recorded.groups))
            groups = tasks_for_step(recorded.groups, step, per_step, self.seed)
            return [e for group in groups for e in group], recorded.counts.policy_version, 0.0
        started = time.perf_counter()
        batch = await _rollout_batch(
            self.program,
            tasks_for_step(self.tasks, step, cfg.tasks_per_step, self.seed),
            self.recording,
            group_size=cfg.group_size,
            concurrency=cfg.concurrency,
            max_failures=cfg.max_failures,
            seed=derive_seed(self.seed, "rl", step),
            reward=self.reward,
            executor=self.executor,
            roles=cfg.roles.names,
        )
        self.outputs.keep("rl", step + 1, batch.episodes)  # kept only with a folder
        self.sampled += len(batch.episodes)
        return batch.episodes, self.trainer.step, time.perf_counter() - started

    async def searched(
        self, searcher: Searcher, step: int, rollouts: list[Episode]
    ) -> SearchedStep:
        """``rollouts`` with search successes in their unsolved groups."""
        cfg = self.config
        tasks = tasks_for_step(self.tasks, step, cfg.tasks_per_step, self.seed)
        searched = await searcher.step(step, rollouts, tasks, sampled=self.sampled)
        self.outputs.keep("search", step + 1, searched.found)
        self.sampled += len(searched.found)
        return searched

    async def step(self, step: int) -> RLStepMetrics:
        cfg = self.config
        episodes, version, rollout_s = await self.episodes(step)
        search = None
        if self.searcher is not None:
            searched = await self.searched(self.searcher, step, episodes)
            episodes, search = searched.episodes, searched.metrics
        rl = build_rl_batch(
            episodes,
            scale=cfg.advantage_scale,
            eps=cfg.advantage_eps,
            per_turn=cfg.per_turn,
            gamma=cfg.gamma,
            strict=cfg.strict_prefix,
            success_threshold=cfg.eval.success_threshold,
            policy_version=version,
            max_staleness=cfg.max_staleness,
            roles=cfg.roles,
        )
        update = self.policies.train_step(rl)
        if update is None:
            logger.info("step %d: no group had a learning signal; no update", step + 1)
        publish_s, publish_failed = await self.publish() if update is not None else (None, False)
        return RLStepMetrics(
            step=step + 1,
            rollout=rl.metrics,
            update=update,
            rollout_s=rollout_s,
            tokens_per_s=rl.metrics.completion_tokens / rollout_s if rollout_s else 0.0,
            updates=self.trainer.step,
            publish_s=publish_s,
            publish_failed=publish_failed,
            search=search,
        )

    async def evaluate(self) -> EvalResult:
        return await evaluate(
            self.eval_program,
            self.eval_tasks,
            self.backend,
            self.eval_reward,
            concurrency=self.config.concurrency,
            seed=derive_seed(self.seed, "eval"),
            success_threshold=self.config.eval.success_threshold,
            roles=self.config.roles.names,
        )

    async def evaluated(self, metrics: RLStepMetrics, result: RunResult) -> RLStepMetrics:
        """``metrics`` with a held-out evaluation; tracks and saves the best model."""
        evaluation = await self.evaluate()
        result.final_eval = evaluation
        summary: EvalMetrics = evaluation.metrics
        value = summary.value(self.config.eval.metric)
        if self.tracker.update(metrics.step, value):
            result.best_step, result.best_value = metrics.step, value
            if self.config.eval.keep_best:
                result.best_dir = self.outputs.save_best(self.trainer)
        return dataclasses.replace(metrics, eval=summary)


def _tracker(config: RLConfig, history: Sequence[Any]) -> EvalTracker:
    stopping = config.eval.early_stopping
    tracker = EvalTracker(
        patience=stopping.patience if stopping is not None else None,
        min_delta=stopping.min_delta if stopping is not None else 0.0,
    )
    for step, value in history:  # a resumed run remembers its evaluations
        tracker.update(int(step), float(value))
    return tracker


async def train_rl(
    trainer: Trainer | Mapping[str, Trainer],
    program: Program,
    tasks: Sequence[Any] | RecordedEpisodes,
    reward: Rewards,
    *,
    config: RLConfig,
    eval_tasks: Sequence[Any] = (),
    output_dir: str | Path | None = None,
    seed: int = 0,
    rollout_model: ModelBackend | None = None,
    resume: bool = False,
    save_model: bool = True,
    on_step: ProgressCallback | None = None,
    publisher: PolicyPublisher | None = None,
    search: SearchAssist | None = None,
) -> RunResult:
    """Train ``trainer``'s model with GRPO-style RL on ``program``'s rollouts of ``tasks``,
    or on recorded episodes (:func:`~hone.train.load_recorded`) instead of rollouts.

    Args:
        trainer: the :class:`~hone.train.Trainer`, built from ``config.trainer`` (a decaying
            schedule without a length gets ``config.steps``): one policy shared by every role.
            Or a mapping of role to trainer (``config.roles.names`` lists the same roles):
            one policy per role, each updated only with its own roles' samples (roles mapped
            to one trainer share it). One policy per role keeps the run in memory (no
            ``output_dir``, ``resume``, ``publisher`` or ``rollout_model``).
        program: ``program(task, model)`` as :func:`~hone.trajectory.rollout` expects;
            ``program(task, {role: model})`` with ``config.roles.names``.
        tasks: the training tasks; or :class:`~hone.train.RecordedEpisodes` to train on
            (a gateway's scored sessions, say): each step takes ``config.tasks_per_step`` of
            their groups instead of rolling out, and ``program`` only runs the evaluations.
        reward: scores each group of rollouts (the same object serves :func:`evaluate`; the
            training copy adds ``config.truncation_penalty``); a mapping of role to reward
            scores each role its own way (roles left out are not scored, so not trained).
            Which roles are trained and which share a baseline: ``config.roles``
            (:class:`~hone.train.RolesConfig`).
        config: the loop's settings (group size, tasks per step, steps, sampling, evaluation).
        eval_tasks: held-out tasks, evaluated before the first step, every ``eval.every`` steps
            and at the end.
        output_dir: where metrics (JSONL, CSV, PNG), episodes, checkpoints, the best and the
            final model go; None keeps everything in memory.
        seed: seeds task order and rollouts.
        rollout_model: the backend rollouts sample from; default the live policy. It must
            return token ids and logprobs. ``config.executor: ray`` needs one (a server the
            Ray actors call; docs/scale.md).
        resume: continue from the newest checkpoint in ``output_dir``.
        save_model: write the final model to ``output_dir/model``.
        on_step: called after every step (and the step-0 evaluation) with a
            :class:`StepReport`.
        publisher: makes each new policy live on ``rollout_model``'s server (e.g. a
            :class:`~hone.train.LoRAPublisher`): once before the first step, then after every
            update, as version ``trainer.step``. A failed publish is logged, counted
            (``publish_failed``) and warned about; the server keeps the previous version and
            training goes on (``config.max_staleness`` bounds how old samples may get).
        search: searches the tasks whose group no rollout solved and puts the best success
            into the group (:class:`~hone.train.SearchAssist`, docs/search.md); its
            ``max_episodes`` can end the run before ``config.steps``. One role, rollouts only.

    Raises:
        CapabilityError: the rollout backend gives no token ids (raised at the first step).
        TrainingConfigError: ``trainer`` was built from another config than ``config.trainer``,
            or ``output_dir`` holds a run and ``resume`` is False, or ``config.executor`` is
            ``ray`` without a ``rollout_model``, or recorded episodes come with rollout
            settings, or ``search`` with recorded episodes or several roles, or similar.
    """
    recorded = tasks if isinstance(tasks, RecordedEpisodes) else None
    rollout_tasks: Sequence[Any] = () if isinstance(tasks, RecordedEpisodes) else tasks
    check_source(config, recorded, rollout_model=rollout_model, publisher=publisher)
    _check_built(config, publisher=publisher, search=search)
    policies = RolePolicies.of(trainer, config.roles)
    policies.check(config.trainer)
    if policies.separate and (output_dir, resume, publisher) != (None, False, None):
        raise TrainingConfigError(
            "one policy per role keeps the run in memory: leave output_dir, resume and "
            "publisher out, and save each trainer's model yourself (trainer.save_model)"
        )
    trainer = policies.primary
    rollouts, backend = policies.rollout_models(policy_backend, rollout_model)
    train_reward = training_reward(reward, config.truncation_penalty)
    searching = searcher(
        search,
        backend,
        train_reward,
        threshold=config.eval.success_threshold,
        seed=seed,
        recorded=recorded is not None,
        roles=config.roles.names,
    )
    out = Path(output_dir) if output_dir is not None else None
    resumed = resume_state(trainer, out, resume)
    start = resumed.step
    for each in policies.distinct():
        if each.total_steps is None:
            each.total_steps = config.steps
    executor = config.rollout_executor(served=rollout_model is not None)
    loop = _Loop(
        trainer=trainer,
        program=with_requests(
            program, temperature=config.temperature, max_tokens=config.max_tokens
        ),
        eval_program=with_requests(
            program, temperature=config.eval.temperature, max_tokens=config.max_tokens
        ),
        tasks=rollout_tasks,
        eval_tasks=list(eval_tasks)[: config.eval.tasks],
        reward=train_reward,
        eval_reward=reward,
        config=config,
        recording=rollouts,
        backend=backend,
        policies=policies,
        seed=seed,
        outputs=RunOutputs(out, start_step=start),
        tracker=_tracker(config, resumed.evals),
        executor=executor,
        publisher=publisher,
        recorded=recorded,
        searcher=searching,
        sampled=resumed.episodes_sampled,
    )
    try:
        result = await _run(loop, start, out, on_step)
    finally:
        if executor is not None:
            executor.close()
    result.warnings = _run_warnings(result, loop)
    for warning in result.warnings:
        logger.warning("%s", warning.message)
    return _finish(result, loop.outputs, save_model)


def _check_built(
    config: RLConfig, *, publisher: PolicyPublisher | None, search: SearchAssist | None
) -> None:
    """Refuse config fields that name objects only ``run_training`` builds (``rl.publish``,
    ``rl.search``) when the object itself was not handed over: silently ignoring them would
    leave the run without what its config says.

    Raises:
        TrainingConfigError: naming the field and the argument to pass instead.
    """
    unbuilt = {
        "rl.publish": (config.publish, publisher, "publisher=LoRAPublisher(...)"),
        "rl.search": (config.search, search, "search=SearchAssist(...)"),
    }
    for field, (setting, built, argument) in unbuilt.items():
        if setting is not None and built is None:
            raise TrainingConfigError(
                f"{field} is built by run_training (hone train); from Python pass "
                f"train_rl({argument}) instead"
            )


async def _run(
    loop: _Loop, start: int, out: Path | None, on_step: ProgressCallback | None
) -> RunResult:
    """The steps from ``start``: evaluations, checkpoints, early stopping, the budget."""
    config, trainer, recorded = loop.config, loop.trainer, loop.recorded
    await loop.publish()  # the version rollouts start from
    outcome = loop.searcher.outcome if loop.searcher is not None else None
    result = RunResult(steps=start, output_dir=out, trainer=trainer, search=outcome)
    if recorded is not None:
        result.recorded = recorded.counts
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            counts = json.dumps(recorded.counts.to_dict(), indent=1)
            (out / RECORDED).write_text(counts, encoding="utf-8")
    result.best_step, result.best_value = loop.tracker.best_step, loop.tracker.best
    if out is not None and (out / "best").is_dir() and loop.tracker.best is not None:
        result.best_dir = out / "best"  # kept by the attempt this one resumes
    evaluating = bool(loop.eval_tasks) and config.eval.every > 0
    if start == 0 and evaluating and config.eval.at_start:
        _record(loop, result, await loop.evaluated(RLStepMetrics(step=0), result), on_step)
    for step in range(start, config.steps):
        if loop.budget_spent():
            logger.info("RL: the episode budget is spent after %d steps; stopping", step)
            break
        metrics = await loop.step(step)
        done = step + 1
        last = done == config.steps
        if evaluating and (done % config.eval.every == 0 or last):
            metrics = await loop.evaluated(metrics, result)
        _record(loop, result, metrics, on_step)
        result.steps = done
        if config.checkpoint_every and done % config.checkpoint_every == 0 and not last:
            loop.outputs.checkpoint(trainer, done, loop.tracker, episodes_sampled=loop.sampled)
        if loop.tracker.should_stop:
            logger.info("RL: no improvement in %d evaluations; stopping", loop.tracker.stale)
            break
    result.episodes_sampled = loop.sampled
    if result.steps > start:
        loop.outputs.checkpoint(trainer, result.steps, loop.tracker, episodes_sampled=loop.sampled)
    return result


def _run_warnings(result: RunResult, loop: _Loop) -> list[RunWarning]:
    """What the run's numbers alone would hide."""
    config, recorded = loop.config, loop.recorded
    warnings = rl_warnings(
        result.metrics,
        loop.tracker,
        min_signal=config.min_signal,
        collapse_drop=config.collapse_drop,
    )
    signal = recorded.signal_warning(config.min_signal) if recorded is not None else None
    if signal is not None and all(w.kind != "no_signal" for w in warnings):
        warnings.insert(0, signal)
    if loop.publish_failures:
        warnings.append(
            RunWarning(
                "publish_failed",
                f"{loop.publish_failures} policy publishes failed; rollouts sampled from an "
                "older version meanwhile (see publish_failed and policy_lag in the metrics). "
                "Check the generation server's log, or raise the publisher's timeout.",
            )
        )
    return warnings


def _record(
    loop: _Loop, result: RunResult, metrics: RLStepMetrics, on_step: ProgressCallback | None
) -> None:
    loop.outputs.log(metrics)
    result.metrics.append(metrics)
    if on_step is not None:
        on_step(StepReport("rl", metrics.step, loop.config.steps, metrics))
    _log_step(metrics, loop.config.steps)


def _log_step(metrics: RLStepMetrics, total: int) -> None:
    rollout, update, evaluation = metrics.rollout, metrics.update, metrics.eval
    parts = [f"step {metrics.step}/{total}"]
    if rollout is not None:
        parts.append(f"reward={rollout.reward_mean:.3f} success={rollout.success:.2f}")
        parts.append(f"skipped_groups={rollout.skipped_groups}/{rollout.groups}")
        parts.append(f"truncated={rollout.counts.truncated_calls}")
    parts.append(f"loss={update.loss:.4f}" if update is not None else "loss=-")
    if evaluation is not None:
        parts.append(f"eval_success={evaluation.success:.3f}")
    logger.info(" ".join(parts))


def _finish(result: RunResult, outputs: RunOutputs, save_model: bool) -> RunResult:
    outputs.flush_episodes()
    if outputs.metrics is not None:
        result.rows = [dict(row) for row in outputs.metrics.rows]
        outputs.metrics.plot(keys=PLOT_KEYS)
    else:
        result.rows = [m.to_row() for m in result.metrics]
    if save_model and result.output_dir is not None and result.trainer is not None:
        result.model_dir = result.trainer.save_model(result.output_dir / "model")
    return result
