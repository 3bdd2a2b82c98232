"""Is a run learning? Keep-best and early stopping over evaluations, and the warnings a run
ends with when it had no learning signal, collapsed, or stopped on a plateau.

A warning is data (:class:`RunWarning`): the loops return them, ``hone train`` prints them and,
with ``--strict``, exits non-zero.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from hone.train._metrics import RLStepMetrics

__all__ = [
    "EvalTracker",
    "RunWarning",
    "WarningKind",
    "loss_plateau",
    "rl_warnings",
]

#: ``no_signal``: few RL steps had a group with different rewards. ``collapse``: held-out results
#: fell far below their best. ``degenerate_output``: the last step's calls mostly ran into
#: ``max_tokens``, or carried junk a lenient parser skipped. ``sft_plateau``: SFT ended without
#: learning the task (held-out success that hardly rose, or a loss that ends flat on a plateau).
#: ``publish_failed``: new policies did not reach the generation server (the old one served on).
WarningKind: TypeAlias = Literal[
    "no_signal", "collapse", "degenerate_output", "sft_plateau", "publish_failed"
]


@dataclass(frozen=True, slots=True)
class RunWarning:
    """Something about a finished run that its numbers alone would hide.

    Attributes:
        kind: what went wrong (see :data:`WarningKind`).
        message: what was measured and what to do about it.
    """

    kind: WarningKind
    message: str


@dataclass(slots=True)
class EvalTracker:
    """Follows one evaluation metric: the best value and step, and when to stop early.

    The patience counts evaluations without an improvement of more than ``min_delta`` over
    the best, but only once the metric has improved on its first value: a run still sitting on
    its starting plateau (a model that has not yet learned to copy ids, say) is never stopped
    early, however long the plateau lasts.

    Attributes:
        patience: evaluations without improvement before :attr:`should_stop` (None: never).
        min_delta: the least gain that counts as an improvement.
    """

    patience: int | None = None
    min_delta: float = 0.0
    first: float | None = None
    best: float | None = None
    best_step: int | None = None
    stale: int = 0
    history: list[tuple[int, float]] = field(default_factory=list)

    def update(self, step: int, value: float) -> bool:
        """Record the metric after ``step``; True when it is a new best (a NaN never is)."""
        self.history.append((step, value))
        if self.first is None and not math.isnan(value):
            self.first = value
        if not math.isnan(value) and (self.best is None or value > self.best + self.min_delta):
            self.best, self.best_step, self.stale = value, step, 0
            return True
        if self.improved:
            self.stale += 1
        return False

    @property
    def improved(self) -> bool:
        """Whether the metric ever rose above its first value."""
        return self.best is not None and self.first is not None and self.best > self.first

    @property
    def should_stop(self) -> bool:
        """Whether ``patience`` evaluations in a row brought no improvement (after one did)."""
        return self.patience is not None and self.improved and self.stale >= self.patience


def loss_plateau(losses: Sequence[float], *, window: float = 0.2, tolerance: float = 0.05) -> bool:
    """Whether a loss curve *ends* on a plateau rather than converged.

    True when the mean loss of the last ``window`` of the steps is within ``tolerance``
    (relative) of the mean of the ``window`` before it, *and* still above a quarter of the loss
    one window into the run: flat, but not yet far below where it levelled off early. A run that
    dropped and converged (0.33 early, 0.03 now) is not a plateau; one sitting at 0.33 is.
    """
    n = len(losses)
    size = max(int(n * window), 10)
    if n < 3 * size:
        return False
    last = sum(losses[-size:]) / size
    before = sum(losses[-2 * size : -size]) / size
    early = sum(losses[size : 2 * size]) / size
    flat = abs(before - last) <= tolerance * max(before, 1e-12)
    return flat and last >= 0.25 * early


def _shares(metrics: RLStepMetrics) -> tuple[float, float]:
    """(truncated calls, prefix breaks) as shares of the step's calls."""
    rollout = metrics.rollout
    if rollout is None or not rollout.counts.calls:
        return 0.0, 0.0
    calls = rollout.counts.calls
    return rollout.counts.truncated_calls / calls, rollout.prefix_breaks / calls


def _degenerate_warning(steps: Sequence[RLStepMetrics]) -> RunWarning | None:
    """Most of the last step's calls cut off at ``max_tokens``, or a third of them with junk
    around their tool calls (which the parser skipped, so the re-rendered history no longer
    extends the sampled tokens: a prefix break) when the first step had few."""
    (cut, broke), (first_cut, first_broke) = _shares(steps[-1]), _shares(steps[0])
    if cut > 0.5 and first_cut > 0.5:
        return RunWarning(
            "degenerate_output",
            f"{cut:.0%} of the last step's model calls ran into max_tokens, and {first_cut:.0%} "
            "from the first step on: the answers do not fit. Raise rl.max_tokens (or the "
            "program's), or SFT first so the policy starts from well-formed answers.",
        )
    if cut > 0.5 or (broke > 1 / 3 and broke > 2 * first_broke):
        return RunWarning(
            "degenerate_output",
            f"in the last step {cut:.0%} of the model calls ran into max_tokens and {broke:.0%} "
            "were not what the chat template renders for what they parsed to (junk around tool "
            f"calls; {first_cut:.0%} and {first_broke:.0%} at the first step): the policy has "
            "drifted into degenerate output a lenient parser still accepts. Lower the learning "
            "rate, add a KL term (trainer.beta), keep rl.truncation_penalty on, and use the "
            "best model (output_dir/best).",
        )
    return None


def rl_warnings(
    metrics: Sequence[RLStepMetrics],
    tracker: EvalTracker,
    *,
    min_signal: float,
    collapse_drop: float,
) -> list[RunWarning]:
    """The warnings for an RL run's steps (step 0, the baseline evaluation, is ignored but for
    the best value).

    Args:
        min_signal: warn when fewer than this fraction of steps made an update.
        collapse_drop: warn when the last evaluation is this much below the best.
    """
    steps = [m for m in metrics if m.rollout is not None]
    out: list[RunWarning] = []
    if steps:
        updated = sum(m.update is not None for m in steps)
        if updated < min_signal * len(steps):
            groups = sum(m.rollout.groups for m in steps if m.rollout is not None)
            skipped = sum(m.rollout.skipped_groups for m in steps if m.rollout is not None)
            out.append(
                RunWarning(
                    "no_signal",
                    f"only {updated} of {len(steps)} RL steps had a learning signal ({skipped} of "
                    f"{groups} groups scored all their rollouts the same). The policy is "
                    "(almost) always right or always wrong on these tasks: SFT longer or on better "
                    "demonstrations, use harder or easier tasks, a larger group_size, a higher "
                    "rl.temperature, or a reward with partial credit.",
                )
            )
        degenerate = _degenerate_warning(steps)
        if degenerate is not None:
            out.append(degenerate)
    evals = [(s, v) for s, v in tracker.history if not math.isnan(v)]
    if tracker.best is not None and evals and tracker.best - evals[-1][1] >= collapse_drop:
        out.append(
            RunWarning(
                "collapse",
                f"held-out results fell from {tracker.best:.3f} (step {tracker.best_step}) to "
                f"{evals[-1][1]:.3f} at the end: RL degraded the policy. The best model is kept "
                "(output_dir/best); lower the learning rate or stop earlier "
                "(rl.eval.early_stopping).",
            )
        )
    return out
