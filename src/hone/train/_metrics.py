"""Typed metrics: what one optimizer step, one RL step, one SFT step and one evaluation measured.

Metrics travel between the trainer, the loops, the CLI and the demo as these dataclasses; only
the metrics log flattens them into rows of named floats (:meth:`RLStepMetrics.to_row`), whose
names are the columns of ``metrics.csv``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, fields

from hone.train._losses import LossMetrics
from hone.trajectory import Episode

__all__ = [
    "CallCounts",
    "EvalMetrics",
    "RLStepMetrics",
    "RolloutMetrics",
    "SFTStepMetrics",
    "SearchStepMetrics",
    "TrainStepMetrics",
]


def _optional(row: dict[str, float], name: str, value: float | None) -> None:
    if value is not None:
        row[name] = float(value)


@dataclass(frozen=True, slots=True)
class TrainStepMetrics:
    """One optimizer step of :meth:`~hone.train.Trainer.train_step` or ``sft_step``.

    Attributes:
        step: the trainer's step count after this step.
        loss: the step's loss (the sum of its micro-batch losses).
        grad_norm: the global gradient norm before clipping.
        lr: the learning rate this step used.
        num_samples, num_tokens: samples and trained tokens in the step.
        seconds: wall time of the step.
        loss_metrics: token-weighted means of the loss's own measurements (clip fractions,
            ratio, KL, NLL) over the step's micro-batches.
    """

    step: int
    loss: float
    grad_norm: float
    lr: float
    num_samples: int
    num_tokens: int
    seconds: float
    loss_metrics: LossMetrics

    def to_row(self) -> dict[str, float]:
        """The step as named floats (``loss``, ``grad_norm``, ``lr``, ``clip_high``, ...)."""
        row = {
            "loss": self.loss,
            "grad_norm": self.grad_norm,
            "lr": self.lr,
            "num_samples": float(self.num_samples),
            "num_tokens": float(self.num_tokens),
            "train_s": self.seconds,
        }
        for item in fields(LossMetrics):
            if item.name != "num_tokens":
                _optional(row, item.name, getattr(self.loss_metrics, item.name))
        return row


@dataclass(frozen=True, slots=True)
class CallCounts:
    """How the model calls of a set of episodes went: the failures a reward may not show.

    Attributes:
        calls: model calls.
        truncated_calls: calls cut off at ``max_tokens`` (``finish_reason == "length"``); a
            lenient parser may still have found a tool call in them.
        parse_errors: tool-call parse failures shown to the model.
        tool_errors: tool results that were errors (bad arguments, unknown tool, exceptions).
    """

    calls: int = 0
    truncated_calls: int = 0
    parse_errors: int = 0
    tool_errors: int = 0

    @classmethod
    def of(cls, episodes: Iterable[Episode]) -> CallCounts:
        """Count over ``episodes``."""
        calls = truncated = parse = tools = 0
        for episode in episodes:
            calls += len(episode.calls)
            truncated += sum(call.finish_reason == "length" for call in episode.calls)
            parse += episode.num_parse_errors
            tools += episode.tool_errors
        return cls(calls, truncated, parse, tools)

    def to_row(self, prefix: str = "") -> dict[str, float]:
        """The counts as named floats, each name prefixed with ``prefix``."""
        return {f"{prefix}{item.name}": float(getattr(self, item.name)) for item in fields(self)}


@dataclass(slots=True)
class RolloutMetrics:
    """What happened to one RL step's episodes (filled in by
    :func:`~hone.train.build_rl_batch`).

    Attributes:
        episodes: episodes rolled out.
        scored: episodes with a reward.
        excluded: episodes without a reward (left out of baselines and of training).
        failed: rollouts that raised (``status="error"``; they are also excluded).
        groups: groups (task × role).
        skipped_groups: groups without signal (all rewards equal, or fewer than two).
        prefix_breaks: calls whose prompt did not extend the previous call's prompt + completion.
        samples: training samples built.
        completion_tokens: tokens sampled over all calls.
        stale: episodes dropped as older than ``RLConfig.max_staleness`` (also counted in
            ``excluded``).
        policy_lag: the most policy versions any call of the step was behind the trainer.
        reward_mean, reward_std: over scored episodes (NaN when none).
        success: fraction of scored episodes with reward >= the success threshold.
        counts: truncated calls, parse errors and tool errors.
    """

    episodes: int = 0
    scored: int = 0
    excluded: int = 0
    failed: int = 0
    groups: int = 0
    skipped_groups: int = 0
    prefix_breaks: int = 0
    samples: int = 0
    completion_tokens: int = 0
    stale: int = 0
    policy_lag: int = 0
    reward_mean: float = math.nan
    reward_std: float = math.nan
    success: float = math.nan
    counts: CallCounts = field(default_factory=CallCounts)

    def to_row(self) -> dict[str, float]:
        """The metrics under their log names (``reward``, ``skipped_groups``, ...)."""
        return {
            "reward": self.reward_mean,
            "reward_std": self.reward_std,
            "success": self.success,
            "episodes": float(self.episodes),
            "excluded_episodes": float(self.excluded),
            "failed_rollouts": float(self.failed),
            "groups": float(self.groups),
            "skipped_groups": float(self.skipped_groups),
            "prefix_breaks": float(self.prefix_breaks),
            "samples": float(self.samples),
            "completion_tokens": float(self.completion_tokens),
            "stale_episodes": float(self.stale),
            "policy_lag": float(self.policy_lag),
            **self.counts.to_row(),
        }


@dataclass(frozen=True, slots=True)
class EvalMetrics:
    """The summary of one evaluation (see :class:`~hone.train.EvalResult`).

    Attributes:
        success: success rate over scored rollouts (NaN when none is scored).
        reward: mean reward over scored rollouts (NaN when none is scored).
        tasks: rollouts run (one per task).
        unscored: rollouts without a reward.
        counts: truncated calls, parse errors and tool errors.
    """

    success: float
    reward: float
    tasks: int
    unscored: int
    counts: CallCounts = field(default_factory=CallCounts)

    def value(self, metric: str) -> float:
        """``eval_success``, ``eval_reward`` (or their short names) as a float.

        Raises:
            KeyError: an unknown metric name.
        """
        name = metric.removeprefix("eval_")
        if name == "success":
            return self.success
        if name == "reward":
            return self.reward
        raise KeyError(metric)

    def to_row(self) -> dict[str, float]:
        """The metrics under their log names (``eval_success``, ``eval_reward``, ...)."""
        return {
            "eval_reward": self.reward,
            "eval_success": self.success,
            "eval_unscored": float(self.unscored),
            **self.counts.to_row("eval_"),
        }


@dataclass(frozen=True, slots=True)
class SearchStepMetrics:
    """What search did in one RL step with a :class:`~hone.train.SearchAssist`.

    Attributes:
        rollouts: episodes rolled out.
        rollout_success: the rollouts' own success rate (before mixing).
        unsolved: groups with no success among their rollouts.
        searched: tasks searched (the unsolved ones the episode budget allowed).
        failed: searches that raised (logged; their groups stay unsolved).
        episodes: episodes the searches recorded.
        solved: searched tasks with an episode at the success threshold.
        joined: groups given a search success.
        displaced: rollouts taken out to make room (``mode="replace"``).
        skipped: successes found but not used (the reasons are logged and kept in the result).
        episodes_sampled: rollouts and search episodes so far in the run.
        search_s: wall time of the searches.
    """

    rollouts: int
    rollout_success: float
    unsolved: int
    searched: int
    failed: int
    episodes: int
    solved: int
    joined: int
    displaced: int
    skipped: int
    episodes_sampled: int
    search_s: float

    def to_row(self) -> dict[str, float]:
        """The search's columns of the step's row."""
        return {
            "rollout_success": self.rollout_success,
            "unsolved_groups": float(self.unsolved),
            "searched": float(self.searched),
            "search_failed": float(self.failed),
            "search_episodes": float(self.episodes),
            "search_solved": float(self.solved),
            "search_joined": float(self.joined),
            "search_displaced": float(self.displaced),
            "search_skipped": float(self.skipped),
            "episodes_sampled": float(self.episodes_sampled),
            "search_s": self.search_s,
        }


@dataclass(frozen=True, slots=True)
class RLStepMetrics:
    """One step of :func:`~hone.train.train_rl` (step 0: the evaluation before training).

    Attributes:
        step: RL steps done.
        rollout: the step's episodes and groups; None for step 0.
        update: the optimizer step; None when no group had a learning signal (or at step 0).
        eval: the held-out evaluation after this step, when one ran.
        rollout_s: wall time of the rollouts.
        tokens_per_s: sampled tokens per second of rollout time.
        updates: optimizer steps taken so far.
        publish_s: wall time of making the new policy live on the generation server (with a
            ``publisher``); None when nothing was published.
        publish_failed: whether publishing failed (the server kept the previous version).
        search: what search added to the step's groups (with a ``SearchAssist``).
    """

    step: int
    rollout: RolloutMetrics | None = None
    update: TrainStepMetrics | None = None
    eval: EvalMetrics | None = None
    rollout_s: float = 0.0
    tokens_per_s: float = 0.0
    updates: int = 0
    publish_s: float | None = None
    publish_failed: bool = False
    search: SearchStepMetrics | None = None

    def to_row(self) -> dict[str, float]:
        """The step as one row of ``metrics.jsonl`` / ``metrics.csv``."""
        row: dict[str, float] = {}
        if self.search is not None:
            row.update(self.search.to_row())
        if self.publish_s is not None:
            row["publish_s"] = self.publish_s
            row["publish_failed"] = float(self.publish_failed)
        if self.rollout is not None:
            row.update(self.rollout.to_row())
            row["rollout_s"] = self.rollout_s
            row["tokens_per_s"] = self.tokens_per_s
        if self.update is not None:
            row.update(self.update.to_row())
        row["updates"] = float(self.updates)
        if self.eval is not None:
            row.update(self.eval.to_row())
        row["step"] = float(self.step)
        return row


@dataclass(frozen=True, slots=True)
class SFTStepMetrics:
    """One step of :func:`~hone.train.train_sft` (step 0: the evaluation before training).

    Attributes:
        step: SFT steps done.
        epoch: passes over the samples completed before this step.
        update: the optimizer step (None at step 0).
        eval: the held-out evaluation after this step, when one ran.
    """

    step: int
    epoch: int = 0
    update: TrainStepMetrics | None = None
    eval: EvalMetrics | None = None

    def to_row(self) -> dict[str, float]:
        """The step as one row of ``sft/metrics.jsonl``."""
        row: dict[str, float] = {"epoch": float(self.epoch)}
        if self.update is not None:
            row.update(self.update.to_row())
        if self.eval is not None:
            row.update(self.eval.to_row())
        row["step"] = float(self.step)
        return row
