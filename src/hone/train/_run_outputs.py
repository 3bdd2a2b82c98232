"""The output folder of an RL run: metrics, the episode store, checkpoints, the best model.

A run's folder holds ``metrics.jsonl`` (and its CSV and plot), ``trajectories.db`` (every
episode sampled, written at each checkpoint: rollouts as run ``rl``, search episodes as run
``search``), ``checkpoints/step-N/`` (the trainer's state, a loadable ``model/`` and
``run_state.json``), ``best/`` and ``model/``. :func:`resume_state` reads the newest
checkpoint back, so a resumed run continues where it left off.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hone.errors import TrainingConfigError, TrainingError
from hone.train._health import EvalTracker
from hone.train._metrics import RLStepMetrics
from hone.train._metrics_log import MetricsLogger
from hone.train._trainer import Trainer
from hone.trajectory import Episode, TrajectoryStore

__all__ = ["RUN_STATE", "ResumeState", "RunOutputs", "latest_checkpoint", "resume_state"]

logger = logging.getLogger(__name__)

RUN_STATE = "run_state.json"
RUN_STATE_VERSION = 2


def latest_checkpoint(output_dir: str | Path) -> Path | None:
    """The newest ``checkpoints/step-N`` folder of a run that holds a run state, or None."""
    root = Path(output_dir) / "checkpoints"
    found = [
        (int(p.name.removeprefix("step-")), p)
        for p in root.glob("step-*")
        if p.name.removeprefix("step-").isdigit() and (p / RUN_STATE).is_file()
    ]
    return max(found)[1] if found else None


@dataclass(frozen=True, slots=True)
class ResumeState:
    """Where a resumed run starts: the step, the evaluations so far, the episodes sampled."""

    step: int = 0
    evals: list[Any] = field(default_factory=list)
    episodes_sampled: int = 0


class RunOutputs:
    """The files of a run's output folder; without a folder, nothing is written or kept."""

    def __init__(self, directory: Path | None, *, start_step: int) -> None:
        self.directory = directory
        #: (run, step, episodes) not yet in the store; written at the next checkpoint.
        self.pending: list[tuple[str, int, list[Episode]]] = []
        self.metrics: MetricsLogger | None = None
        if directory is not None:
            self.metrics = MetricsLogger(
                directory, resume_after=start_step if start_step > 0 else None
            )

    def keep(self, run: str, step: int, episodes: list[Episode]) -> None:
        """Queue ``episodes`` of ``step`` for the store (dropped without a folder)."""
        if self.directory is not None and episodes:
            self.pending.append((run, step, episodes))

    def log(self, metrics: RLStepMetrics) -> None:
        if self.metrics is not None:
            self.metrics.log(metrics.to_row())

    def flush_episodes(self) -> None:
        if self.directory is None or not self.pending:
            self.pending.clear()
            return
        with TrajectoryStore(self.directory / "trajectories.db") as store:
            for run, step, episodes in self.pending:
                store.add(episodes, run=run, step=step)
        self.pending.clear()

    def checkpoint(
        self, trainer: Trainer, step: int, tracker: EvalTracker, *, episodes_sampled: int
    ) -> None:
        if self.directory is None:
            return
        self.flush_episodes()
        folder = trainer.save_checkpoint(self.directory / "checkpoints" / f"step-{step}")
        trainer.save_model(folder / "model")
        state = {
            "version": RUN_STATE_VERSION,
            "step": step,
            "updates": trainer.step,
            "evals": tracker.history,
            "episodes_sampled": episodes_sampled,
        }
        (folder / RUN_STATE).write_text(json.dumps(state), encoding="utf-8")
        logger.info("checkpoint at step %d: %s", step, folder)

    def save_best(self, trainer: Trainer) -> Path | None:
        if self.directory is None:
            return None
        return trainer.save_model(self.directory / "best")


def resume_state(trainer: Trainer, output_dir: Path | None, resume: bool) -> ResumeState:
    """Load the newest checkpoint into ``trainer`` when resuming, and say where to go on.

    Raises:
        TrainingConfigError: ``resume`` without a folder, or a folder holding a run when not
            resuming.
        TrainingError: the checkpoint was written by another run-state version.
    """
    if output_dir is None:
        if resume:
            raise TrainingConfigError("resume=True needs an output_dir holding checkpoints.")
        return ResumeState()
    checkpoint = latest_checkpoint(output_dir)
    if not resume:
        if checkpoint is not None:
            raise TrainingConfigError(
                f"{output_dir} already holds a run (checkpoint {checkpoint.name}); resume it "
                "(`hone train CONFIG --resume`, resume=True) or choose another output_dir."
            )
        return ResumeState()
    if checkpoint is None:
        logger.info("nothing to resume in %s; starting a new run", output_dir)
        return ResumeState()
    state = json.loads((checkpoint / RUN_STATE).read_text(encoding="utf-8"))
    if state.get("version") != RUN_STATE_VERSION:
        raise TrainingError(
            f"{checkpoint} has run state version {state.get('version')}, not "
            f"{RUN_STATE_VERSION}; resume it with the hone version that wrote it."
        )
    trainer.load_checkpoint(checkpoint)
    logger.info("resumed from %s", checkpoint)
    return ResumeState(
        step=int(state["step"]),
        evals=list(state.get("evals", [])),
        episodes_sampled=int(state.get("episodes_sampled", 0)),
    )
