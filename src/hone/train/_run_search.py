"""GRPO whose groups include successes found by search.

On a hard task every rollout of a group can fail; all rewards are equal and the group carries
no learning signal. :func:`train_rl_with_search` searches such tasks and puts what search
solved into the group, so it has a success to compute advantages against. One step::

    tasks     = tasks_for_step(tasks, step, tasks_per_step, seed)     # as train_rl draws them
    rollouts  = rollout_batch(program, tasks, RecordingModel(policy), group_size=G)
    unsolved  = tasks whose group has no episode at the success threshold
    found     = search(task, policy, seed) for each unsolved task      # e.g. hone.search.episode_search
    scored    = the found episodes scored with the training reward
    mixed     = mix_successes(rollouts, best success of each task)    # joins (or replaces) one
    update    = trainer.train_step(build_rl_batch(mixed))

The search samples from the same policy at the same version, so a joined episode's recorded
logprobs are the behaviour policy's and its importance ratio is taken like a rollout's. What
cannot be corrected is the selection: the joined episode is the best of a search, not a draw
from the policy, so its group's baseline is optimistic about the policy (it is what makes the
group informative). Search episodes count toward ``max_episodes`` like rollouts.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hone.errors import TrainingConfigError
from hone.models import ModelBackend
from hone.train._metrics import RLStepMetrics
from hone.train._policy import policy_backend
from hone.train._prompt import with_requests
from hone.train._rl_batch import MixMode, best_first, build_rl_batch, mix_successes, succeeded
from hone.train._role_policies import RolePolicies
from hone.train._run import Rewards, tasks_for_step, training_reward
from hone.train._run_config import RLConfig
from hone.train._trainer import Trainer
from hone.trajectory import (
    Episode,
    Program,
    RecordingModel,
    derive_seed,
    rollout_batch,
    score_episodes,
    task_id_of,
)

__all__ = ["FindEpisodes", "SearchRLResult", "SearchRLStep", "train_rl_with_search"]

logger = logging.getLogger(__name__)

#: ``search(task, policy, seed) -> episodes``: every episode a search of one task recorded
#: (the shape of :data:`hone.search.TaskSearch`, e.g. :func:`hone.search.episode_search`).
FindEpisodes = Callable[[Any, ModelBackend, int], Awaitable[list[Episode]]]


@dataclass(frozen=True, slots=True)
class SearchRLStep:
    """One step of :func:`train_rl_with_search`.

    Attributes:
        rl: the step as :func:`~hone.train.train_rl` reports it (groups, rewards and success
            counted over the mixed groups, the update).
        rollouts: episodes rolled out.
        rollout_success: the rollouts' own success rate (before mixing).
        unsolved: groups with no success among their rollouts.
        searched: tasks searched (the unsolved ones the episode budget allowed).
        search_episodes: episodes the searches recorded.
        search_solved: searched tasks with an episode at the success threshold.
        joined: groups given a search success (the groups with a search episode this step).
        displaced: rollouts taken out to make room (``mode="replace"``).
        skipped: successes found but not used (the reasons are logged and kept in the result).
        episodes_sampled: rollouts and search episodes so far in the run.
        search_s: wall time of the searches.
        seconds: wall time of the step.
    """

    rl: RLStepMetrics
    rollouts: int
    rollout_success: float
    unsolved: int
    searched: int
    search_episodes: int
    search_solved: int
    joined: int
    displaced: int
    skipped: int
    episodes_sampled: int
    search_s: float
    seconds: float

    def to_row(self) -> dict[str, float]:
        """The step as one row: :meth:`RLStepMetrics.to_row` plus the search's counts."""
        row = self.rl.to_row()
        row.update(
            {
                "rollouts": float(self.rollouts),
                "rollout_success": self.rollout_success,
                "unsolved_groups": float(self.unsolved),
                "searched": float(self.searched),
                "search_episodes": float(self.search_episodes),
                "search_solved": float(self.search_solved),
                "search_joined": float(self.joined),
                "search_displaced": float(self.displaced),
                "search_skipped": float(self.skipped),
                "episodes_sampled": float(self.episodes_sampled),
                "search_s": self.search_s,
                "seconds": self.seconds,
            }
        )
        return row


@dataclass(slots=True)
class SearchRLResult:
    """What :func:`train_rl_with_search` did.

    Attributes:
        steps: one record per step.
        episodes: every episode sampled, as recorded: the rollouts and every search episode
            (the copies joined to groups are in ``joined``).
        joined: the search episodes trained on, as they entered their groups.
        skipped: successes found but not used, with the reason.
    """

    steps: list[SearchRLStep] = field(default_factory=list)
    episodes: list[Episode] = field(default_factory=list)
    joined: list[Episode] = field(default_factory=list)
    skipped: list[tuple[Episode, str]] = field(default_factory=list)

    @property
    def episodes_sampled(self) -> int:
        """Rollouts and search episodes over the run."""
        return len(self.episodes)


async def train_rl_with_search(
    trainer: Trainer,
    program: Program,
    tasks: Sequence[Any],
    reward: Rewards,
    search: FindEpisodes,
    *,
    config: RLConfig,
    mode: MixMode = "join",
    max_episodes: int | None = None,
    search_episodes: int | None = None,
    search_concurrency: int = 8,
    policy: ModelBackend | None = None,
    seed: int = 0,
    on_step: Callable[[SearchRLStep], None] | None = None,
) -> SearchRLResult:
    """GRPO on ``program``'s rollouts of ``tasks``, with search successes in unsolved groups.

    Each step rolls out ``config.group_size`` episodes of ``config.tasks_per_step`` tasks
    (drawn as :func:`~hone.train.train_rl` draws them), searches every task whose group has
    no episode at ``config.eval.success_threshold``, scores what the search recorded with
    the training reward, gives the group the best success (:func:`mix_successes`), and takes
    one optimizer step on the mixed groups (:func:`build_rl_batch` with ``config``'s
    advantage, staleness and prefix settings).

    Args:
        trainer: the policy, built from ``config.trainer``.
        program: ``program(task, model)`` as :func:`~hone.trajectory.rollout` expects (its
            requests get ``config.temperature`` and ``config.max_tokens``).
        tasks: the training tasks.
        reward: scores rollouts and the search's episodes (with ``config.truncation_penalty``).
        search: searches one task with the policy (e.g. :func:`hone.search.episode_search`).
        config: the GRPO settings. Evaluation, checkpoints, publishing, Ray and several
            roles are :func:`~hone.train.train_rl`'s and are not used here.
        mode: ``join`` (the group grows by one) or ``replace`` (its last failed rollout
            makes room).
        max_episodes: the run's sampling budget, rollouts and search episodes together; a
            step runs only while its rollouts fit, a task is searched only while its search
            fits. None: ``config.steps`` steps, every unsolved task searched.
        search_episodes: the most episodes one search records (``episode_search``'s
            ``budget``); needed with ``max_episodes``.
        search_concurrency: tasks searched at once (their model calls batch together).
        policy: the backend rollouts and searches sample from (default: the live weights,
            batched, recording ``trainer.step`` as the policy version).
        seed: seeds the task order, the rollouts and the searches.
        on_step: called after every step.

    Raises:
        TrainingConfigError: a setting out of range or one this loop does not support.
        CapabilityError: the policy gives no token ids (raised at the first step).
    """
    _check(config, max_episodes, search_episodes, search_concurrency)
    policies = RolePolicies.of(trainer, config.roles)
    policies.check(config.trainer)
    if trainer.total_steps is None:
        trainer.total_steps = config.steps
    backend = policy if policy is not None else policy_backend(trainer)
    loop = _Step(
        trainer=trainer,
        policies=policies,
        program=with_requests(
            program, temperature=config.temperature, max_tokens=config.max_tokens
        ),
        tasks=tasks,
        reward=training_reward(reward, config.truncation_penalty),
        search=search,
        config=config,
        mode=mode,
        backend=backend,
        recording=RecordingModel(backend),
        seed=seed,
        search_concurrency=search_concurrency,
    )
    result = SearchRLResult()
    rollout_cost = config.tasks_per_step * config.group_size
    for step in range(config.steps):
        room = None if max_episodes is None else max_episodes - len(result.episodes)
        if room is not None and room < rollout_cost:
            logger.info("step %d: the episode budget is spent; stopping", step + 1)
            break
        record = await loop.run(step, result, room, search_episodes or 0)
        result.steps.append(record)
        if on_step is not None:
            on_step(record)
    return result


def _check(
    config: RLConfig,
    max_episodes: int | None,
    search_episodes: int | None,
    search_concurrency: int,
) -> None:
    unsupported = {
        "executor": config.executor != "local",
        "publish": config.publish is not None,
        "rollout_model": config.rollout_model is not None,
        "roles.names": config.roles.names is not None,
        # recorded episodes in place of rollouts
        "trajectories": config.trajectories is not None,
    }
    named = [name for name, used in unsupported.items() if used]
    if named:
        raise TrainingConfigError(
            f"train_rl_with_search trains one local policy on one role; config sets "
            f"{', '.join(named)} (use train_rl for those)"
        )
    if search_concurrency < 1:
        raise TrainingConfigError(
            f"search_concurrency must be at least 1, got {search_concurrency}"
        )
    if max_episodes is not None and (search_episodes is None or search_episodes < 1):
        raise TrainingConfigError(
            "max_episodes needs search_episodes: the most episodes one search records "
            f"(episode_search's budget), got {search_episodes}"
        )
    if max_episodes is not None and max_episodes < 1:
        raise TrainingConfigError(f"max_episodes must be at least 1, got {max_episodes}")


@dataclass(slots=True)
class _Step:
    """Everything one step needs, fixed for the run."""

    trainer: Trainer
    policies: RolePolicies
    program: Program
    tasks: Sequence[Any]
    reward: Rewards
    search: FindEpisodes
    config: RLConfig
    mode: MixMode
    backend: ModelBackend
    recording: ModelBackend
    seed: int
    search_concurrency: int

    async def run(
        self, step: int, result: SearchRLResult, room: int | None, per_search: int
    ) -> SearchRLStep:
        cfg = self.config
        threshold = cfg.eval.success_threshold
        started = time.perf_counter()
        chosen = tasks_for_step(self.tasks, step, cfg.tasks_per_step, self.seed)
        batch = await rollout_batch(
            self.program,
            chosen,
            self.recording,
            group_size=cfg.group_size,
            concurrency=cfg.concurrency,
            max_failures=cfg.max_failures,
            seed=derive_seed(self.seed, "rl", step),
            reward=self.reward,
        )
        rollout_s = time.perf_counter() - started
        rollouts = batch.episodes
        result.episodes.extend(rollouts)
        solved = {e.task_id for e in rollouts if succeeded(e, threshold)}
        unsolved = list({task_id_of(t): t for t in chosen if task_id_of(t) not in solved}.values())
        allowed = len(unsolved)
        if room is not None:
            allowed = min(allowed, max(0, room - len(rollouts)) // max(per_search, 1))
        search_started = time.perf_counter()
        found, offered = await self._search(unsolved[:allowed], step, threshold)
        search_s = time.perf_counter() - search_started
        for episodes in found:
            result.episodes.extend(episodes)
            if per_search and len(episodes) > per_search:
                logger.warning("a search recorded %d episodes, over search_episodes", len(episodes))
        mixed = mix_successes(rollouts, offered, threshold=threshold, mode=self.mode)
        for _, reason in mixed.skipped:
            logger.warning("step %d: search episode not used: %s", step + 1, reason)
        result.joined.extend(mixed.joined)
        result.skipped.extend(mixed.skipped)
        rl = build_rl_batch(
            mixed.episodes,
            scale=cfg.advantage_scale,
            eps=cfg.advantage_eps,
            per_turn=cfg.per_turn,
            gamma=cfg.gamma,
            strict=cfg.strict_prefix,
            success_threshold=threshold,
            policy_version=self.trainer.step,
            max_staleness=cfg.max_staleness,
        )
        update = self.policies.train_step(rl)
        metrics = RLStepMetrics(
            step=step + 1,
            rollout=rl.metrics,
            update=update,
            rollout_s=rollout_s,
            tokens_per_s=_tokens(rollouts) / max(rollout_s, 1e-9),
            updates=self.trainer.step,
        )
        record = SearchRLStep(
            rl=metrics,
            rollouts=len(rollouts),
            rollout_success=_rate(rollouts, threshold),
            unsolved=len({_group(e) for e in rollouts if e.task_id not in solved}),
            searched=len(found),
            search_episodes=sum(len(f) for f in found),
            search_solved=len(offered),
            joined=len(mixed.joined),
            displaced=len(mixed.displaced),
            skipped=len(mixed.skipped),
            episodes_sampled=len(result.episodes),
            search_s=round(search_s, 3),
            seconds=round(time.perf_counter() - started, 3),
        )
        logger.info(
            "step %d: %d/%d groups unsolved, %d searched, %d given a search success, loss=%s",
            step + 1,
            record.unsolved,
            rl.metrics.groups,
            record.searched,
            record.joined,
            f"{update.loss:.4f}" if update is not None else "-",
        )
        return record

    async def _search(
        self, tasks: Sequence[Any], step: int, threshold: float
    ) -> tuple[list[list[Episode]], list[Episode]]:
        """Search ``tasks`` concurrently: every episode of each search, and the best success
        of each (under the training reward)."""
        gate = asyncio.Semaphore(self.search_concurrency)

        async def one(task: Any) -> list[Episode]:
            async with gate:
                seed = derive_seed(self.seed, "search", step, task_id_of(task))
                return await self.search(task, self.backend, seed)

        found = list(await asyncio.gather(*(one(task) for task in tasks)))
        offered = []
        for episodes in found:
            best = await self._best_success(episodes, threshold)
            if best is not None:
                offered.append(best)
        return found, offered

    async def _best_success(self, episodes: Sequence[Episode], threshold: float) -> Episode | None:
        """The best of ``episodes`` at ``threshold`` under the training reward (scored on
        copies: the search's own reward may differ), or None."""
        copies = [
            dataclasses.replace(e, metadata=dict(e.metadata))
            for e in episodes
            if e.status != "error"
        ]
        await score_episodes(copies, self.reward)
        ranked = best_first([e for e in copies if succeeded(e, threshold)])
        return ranked[0] if ranked else None


def _rate(episodes: Sequence[Episode], threshold: float) -> float:
    return sum(succeeded(e, threshold) for e in episodes) / max(len(episodes), 1)


def _tokens(episodes: Sequence[Episode]) -> int:
    return sum(len(c.token_ids or ()) for e in episodes for c in e.calls)


def _group(episode: Episode) -> str:
    return episode.group_id or episode.task_id
