"""Training per role: which roles of a multi-role program are trained, which share a baseline,
and with what weight.

A multi-role program (a pattern of :mod:`hone.agents` rolled out with ``roles=roles_of(graph)``)
gives one episode per role per rollout. :class:`RolesConfig` says what the RL step does with
them:

* ``names`` — the program's roles; each rollout records one episode per name (without it the
  program gets one model and all its calls form one ``agent`` episode);
* ``train`` — the roles whose episodes become training samples (patterns such as
  ``solver_*``); the other roles still generate, with the same or their own policy, but are
  frozen;
* ``pools`` — roles whose episodes share one advantage baseline inside a group: the per-role
  advantage estimator normalises rewards within ``(group, pool)``, and a role is its own pool
  unless a pattern maps it to another (e.g. every ``solver_<i>`` into ``solver``, so the N
  solvers of G rollouts form one group of N·G);
* ``weights`` — scale a role's advantages (a role that should move the shared policy less).

Role names are matched with shell-style patterns (:func:`fnmatch.fnmatchcase`); the first
matching pattern of ``pools`` / ``weights`` wins, in the order given.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hone.errors import TrainingConfigError

__all__ = ["RolesConfig"]


def _matches(role: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(role, p) for p in patterns)


class RolesConfig(BaseModel):
    """How the RL loop treats the roles of a multi-role program (see the module docs).

    Attributes:
        names: the program's roles, one episode each per rollout (None: a one-role program).
        train: patterns of the roles trained (None: every role); the others are frozen.
        pools: role pattern → advantage pool; roles of one pool share a baseline per group.
        weights: role pattern → factor on that role's advantages (> 0).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    names: tuple[str, ...] | None = None
    train: tuple[str, ...] | None = None
    pools: dict[str, str] = Field(default_factory=dict)
    weights: dict[str, float] = Field(default_factory=dict)

    @field_validator("names")
    @classmethod
    def _distinct(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None and (not value or len(set(value)) != len(value) or "" in value):
            raise TrainingConfigError(
                f"roles.names must be distinct, non-empty role names, got {list(value)!r}"
            )
        return value

    @field_validator("train")
    @classmethod
    def _some(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None and not value:
            raise TrainingConfigError(
                "roles.train is empty: no role would be trained; name at least one role "
                "(or leave it out to train every role)"
            )
        return value

    @field_validator("weights")
    @classmethod
    def _positive(cls, value: dict[str, float]) -> dict[str, float]:
        bad = {k: v for k, v in value.items() if not v > 0}
        if bad:
            raise TrainingConfigError(f"roles.weights must be > 0, got {bad}")
        return value

    def trained(self, role: str) -> bool:
        """Whether ``role``'s episodes are trained on."""
        return self.train is None or _matches(role, self.train)

    def pool(self, role: str) -> str:
        """The advantage pool of ``role`` (the role itself unless a pattern maps it)."""
        return next((p for pat, p in self.pools.items() if fnmatch.fnmatchcase(role, pat)), role)

    def weight(self, role: str) -> float:
        """The factor on ``role``'s advantages (1 unless a pattern sets it)."""
        return next((w for pat, w in self.weights.items() if fnmatch.fnmatchcase(role, pat)), 1.0)

    def check_names(self) -> None:
        """Every ``train`` pattern matches one of ``names`` (when both are given).

        Raises:
            TrainingConfigError: a pattern matches no role: a typo would train nothing.
        """
        if self.names is None or self.train is None:
            return
        unused = [p for p in self.train if not _matches_any(p, self.names)]
        if unused:
            raise TrainingConfigError(
                f"roles.train {unused} match none of the program's roles {list(self.names)}"
            )


def _matches_any(pattern: str, names: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(n, pattern) for n in names)
