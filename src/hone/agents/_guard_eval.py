"""Measure an injection detector on labelled tool outputs: hone's set
(:data:`~hone.agents.INJECTION_EXAMPLES`) or your own."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hone._sync import run_sync
from hone.agents._guard_injection import (
    HeuristicInjectionDetector,
    InjectionDetector,
    detect_injection,
)
from hone.agents._guard_injection_set import INJECTION_EXAMPLES, LabelledText, Split
from hone.errors import ConfigError

__all__ = ["DetectionReport", "evaluate_injection_detector"]


@dataclass(frozen=True, slots=True)
class DetectionReport:
    """How a detector did on labelled texts.

    Attributes:
        true_positives: injections flagged.
        false_positives: benign texts flagged.
        true_negatives: benign texts passed.
        false_negatives: injections passed.
        missed: the injections it passed.
        false_alarms: the benign texts it flagged.
    """

    true_positives: int
    false_positives: int
    true_negatives: int
    false_negatives: int
    missed: tuple[LabelledText, ...] = ()
    false_alarms: tuple[LabelledText, ...] = ()

    @property
    def precision(self) -> float:
        """Flagged texts that were injections (1.0 when nothing was flagged)."""
        flagged = self.true_positives + self.false_positives
        return self.true_positives / flagged if flagged else 1.0

    @property
    def recall(self) -> float:
        """Injections flagged (1.0 when there were none)."""
        injections = self.true_positives + self.false_negatives
        return self.true_positives / injections if injections else 1.0

    @property
    def false_positive_rate(self) -> float:
        """Benign texts flagged (0.0 when there were none)."""
        benign = self.false_positives + self.true_negatives
        return self.false_positives / benign if benign else 0.0

    @property
    def false_negative_rate(self) -> float:
        """Injections passed: ``1 - recall``."""
        return 1.0 - self.recall


async def _report(detector: InjectionDetector, examples: Sequence[LabelledText]) -> DetectionReport:
    missed: list[LabelledText] = []
    alarms: list[LabelledText] = []
    tp = tn = 0
    for example in examples:
        flagged = bool(await detect_injection(detector, example.text))
        if example.injection and flagged:
            tp += 1
        elif example.injection:
            missed.append(example)
        elif flagged:
            alarms.append(example)
        else:
            tn += 1
    return DetectionReport(tp, len(alarms), tn, len(missed), tuple(missed), tuple(alarms))


def evaluate_injection_detector(
    detector: InjectionDetector | None = None,
    *,
    examples: Sequence[LabelledText] | None = None,
    split: Split | None = None,
) -> DetectionReport:
    """Measure ``detector`` (default: :class:`~hone.agents.HeuristicInjectionDetector`) on
    labelled tool outputs: hone's set (:data:`INJECTION_EXAMPLES`) or your own.

    Args:
        detector: any :class:`~hone.agents.InjectionDetector` (sync or async).
        examples: the labelled texts (default: hone's set).
        split: only the examples of this split (``"dev"`` or ``"held_out"``).

    Raises:
        ConfigError: no examples to measure on.
    """
    chosen = [
        e
        for e in (INJECTION_EXAMPLES if examples is None else examples)
        if split is None or e.split == split
    ]
    if not chosen:
        raise ConfigError(f"no labelled examples to evaluate on (split={split!r})")
    return run_sync(_report(detector or HeuristicInjectionDetector(), chosen))
