"""What an RL run reports: a :class:`StepReport` per step, a :class:`RunResult` at the end."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from hone.train._evaluate import EvalResult
from hone.train._health import RunWarning
from hone.train._metrics import RLStepMetrics, SFTStepMetrics
from hone.train._recorded import RecordedCounts
from hone.train._run_sft import SFTResult
from hone.train._search_assist import SearchOutcome
from hone.train._trainer import Trainer

__all__ = ["ProgressCallback", "RunResult", "StepReport"]


@dataclass(frozen=True, slots=True)
class StepReport:
    """Progress of a run, handed to ``on_step`` after every step (the CLI draws it).

    Attributes:
        phase: ``sft`` or ``rl``.
        step: steps done in the phase (0: the evaluation before the first step).
        total: the phase's planned steps.
        metrics: the step's typed metrics.
    """

    phase: Literal["sft", "rl"]
    step: int
    total: int
    metrics: SFTStepMetrics | RLStepMetrics


#: Called after every step with its :class:`StepReport`.
ProgressCallback = Callable[[StepReport], None]


@dataclass(slots=True)
class RunResult:
    """What a run produced.

    Attributes:
        steps: RL steps completed (including those of earlier, resumed attempts).
        metrics: one entry per RL step of this attempt (step 0: the baseline evaluation).
        rows: every row of ``metrics.jsonl`` (earlier attempts included), as the log has them.
        final_eval: the last evaluation, if any ran in this attempt.
        best_step, best_value: the best evaluation's step and value (``eval.metric``).
        best_dir: the best evaluated model (loadable with ``hf:<dir>``), if saved.
        model_dir: where the final model was saved (loadable with ``hf:<dir>``), if saved.
        output_dir: the run's folder, if it has one.
        trainer: the trainer, holding the final model (with one policy per role: the first
            role's; the others are the trainers you passed).
        sft: what the SFT phase did, when the run had one.
        warnings: what the numbers alone would hide (no learning signal, collapse, plateau).
        recorded: what the recorded episodes held and left out, when RL trained on them.
        search: what search added to the groups, when the run had a ``SearchAssist``.
        episodes_sampled: rollouts and search episodes over the run (earlier attempts
            included; 0 for recorded episodes).
    """

    steps: int
    metrics: list[RLStepMetrics] = field(default_factory=list)
    rows: list[dict[str, float]] = field(default_factory=list)
    final_eval: EvalResult | None = None
    best_step: int | None = None
    best_value: float | None = None
    best_dir: Path | None = None
    model_dir: Path | None = None
    output_dir: Path | None = None
    trainer: Trainer | None = None
    sft: SFTResult | None = None
    warnings: list[RunWarning] = field(default_factory=list)
    recorded: RecordedCounts | None = None
    search: SearchOutcome | None = None
    episodes_sampled: int = 0
