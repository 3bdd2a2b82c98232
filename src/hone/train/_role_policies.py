"""The policies of an RL run: one shared by every role, or one per role.

:func:`~hone.train.train_rl` takes one :class:`~hone.train.Trainer` (a shared policy: every
role samples from it, and the samples of every trained role update it together) or a mapping
of role to trainer (one policy per role: each role samples from its own trainer's model and
only its own samples update it; roles mapped to the same trainer share it). Roles left out
of ``roles.train`` still sample from their policy but never update it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from hone.errors import TrainingConfigError
from hone.models import ModelBackend
from hone.train._config import TrainerConfig
from hone.train._metrics import TrainStepMetrics
from hone.train._rl_batch import RLBatch
from hone.train._roles import RolesConfig
from hone.train._samples import TrainingSample
from hone.train._trainer import Trainer, check_trainer
from hone.trajectory import RecordingModel

__all__ = ["RolePolicies"]

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class RolePolicies:
    """The run's trainers.

    Attributes:
        primary: the shared trainer, or the first role's (its step count is the run's policy
            version, its model the run's result).
        by_role: role → trainer for one policy per role; None for a shared policy.
        roles: the run's role settings.
    """

    primary: Trainer
    by_role: dict[str, Trainer] | None
    roles: RolesConfig

    @classmethod
    def of(cls, trainer: Trainer | Mapping[str, Trainer], roles: RolesConfig) -> RolePolicies:
        """The policies of ``trainer`` (one, or a mapping of role to trainer).

        Raises:
            TrainingConfigError: a mapping without ``roles.names`` naming the same roles, or
                a ``roles.train`` pattern that names no role.
        """
        roles.check_names()
        if not isinstance(trainer, Mapping):
            return cls(trainer, None, roles)
        if not trainer:
            raise TrainingConfigError("train_rl got an empty mapping of trainers")
        if roles.names is None or set(roles.names) != set(trainer):
            raise TrainingConfigError(
                f"one policy per role needs rl.roles.names to list the trainers' roles "
                f"({sorted(trainer)}), got {None if roles.names is None else list(roles.names)}"
            )
        by_role = {role: trainer[role] for role in roles.names}
        return cls(next(iter(by_role.values())), by_role, roles)

    @property
    def separate(self) -> bool:
        """Whether the roles have more than one policy."""
        return len(self.distinct()) > 1

    def distinct(self) -> list[Trainer]:
        """Each trainer once, in role order."""
        if self.by_role is None:
            return [self.primary]
        return list({id(t): t for t in self.by_role.values()}.values())

    def check(self, config: TrainerConfig) -> None:
        """Every trainer was built from the loop's ``config`` (see ``check_trainer``)."""
        for trainer in self.distinct():
            check_trainer(trainer, config, "rl")

    def rollout_models(
        self, make: Callable[[Trainer], ModelBackend], given: ModelBackend | None
    ) -> tuple[ModelBackend | dict[str, ModelBackend], ModelBackend | dict[str, ModelBackend]]:
        """(what rollouts sample from, what evaluations sample from): ``given`` or
        ``make(trainer)`` for the shared policy, a role → backend mapping (one backend per
        trainer) for one policy per role. A one-role program's rollouts get the backend
        wrapped in a :class:`~hone.trajectory.RecordingModel`; a multi-role one gets it
        bare, and the rollout records each role's calls."""
        if self.by_role is None:
            backend = given if given is not None else make(self.primary)
            rollouts = backend if self.roles.names is not None else RecordingModel(backend)
            return rollouts, backend
        if given is not None:
            raise TrainingConfigError(
                "one policy per role samples from each role's trainer; rollout_model cannot "
                "be given with a mapping of trainers"
            )
        made = {id(t): make(t) for t in self.distinct()}
        models = {role: made[id(t)] for role, t in self.by_role.items()}
        return models, models

    def train_step(self, batch: RLBatch) -> TrainStepMetrics | None:
        """Update the policies with the step's samples: the shared trainer with all of them,
        or each trainer with its roles' samples. Returns the primary trainer's update (None
        when it had no samples); every policy's update is logged."""
        if self.by_role is None:
            return self.primary.train_step(batch.samples) if batch.samples else None
        shares: dict[int, list[TrainingSample]] = {}
        for sample, role in zip(batch.samples, batch.roles, strict=True):
            shares.setdefault(id(self.by_role[role]), []).append(sample)
        updates: dict[int, TrainStepMetrics] = {}
        for trainer in self.distinct():
            samples = shares.get(id(trainer))
            if samples:
                updates[id(trainer)] = update = trainer.train_step(samples)
                names = sorted(r for r, t in self.by_role.items() if t is trainer)
                logger.info("policy of %s: loss=%.4f", ", ".join(names), update.loss)
        return updates.get(id(self.primary))
